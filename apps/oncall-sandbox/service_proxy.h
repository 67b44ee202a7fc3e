#pragma once
// The API server's service proxy (/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH),
// as kube-apiserver serves it: the request goes on to the Service's port without the caller's
// Authorization header, and the answer comes back as the Service gave it. The Services are those of
// a services file (the launcher writes it once Prometheus and Alertmanager are up), one per line:
//   NAMESPACE NAME PORT-NAME PORT-NUMBER URL
// e.g. "monitoring prometheus web 9090 http://127.0.0.1:41234". The file is read on every request.

#include <httplib.h>
#include <optional>
#include <string>

namespace sandbox {

/// A parsed service proxy path.
struct ProxyTarget {
    std::string namespace_name;
    std::string name;
    std::string port;   // "" when the path names none
    std::string scheme; // "", "http" or "https"
    std::string rest;   // the path after /proxy ("/" when empty)
};

class ServiceProxy {
public:
    explicit ServiceProxy(std::string services_file) : m_services_file(std::move(services_file)) {}

    /// The target of a service proxy path, or nullopt for any other path; malformed proxy paths
    /// (no service name) throw a 404 StatusError.
    static std::optional<ProxyTarget> parse(const std::string& path);

    /// Forwards the request; 404 for a Service or port the file does not list, 503 when the
    /// Service does not answer (kube's wording).
    void forward(const httplib::Request& req, httplib::Response& res,
                 const ProxyTarget& target) const;

private:
    std::string m_services_file;
};

} // namespace sandbox
