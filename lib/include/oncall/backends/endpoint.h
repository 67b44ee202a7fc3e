#pragma once
// From a configured endpoint to a ready HTTP client: URL checks, credentials, TLS, timeouts and
// logging in one place, so every backend (Prometheus, Alertmanager, registry) builds clients alike.

#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/http/client.h"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace oncall::backends {

/// What the caller decides for every endpoint of one command.
struct EndpointDefaults {
    std::chrono::milliseconds timeout{10000}; // used when the endpoint sets none
    std::chrono::milliseconds connect_timeout{3000};
    http::RetryPolicy retry;
    std::function<void(std::string_view)> log; // redacted diagnostics (-v), may be empty
};

/// A client for one configured backend, with its base URL(s).
struct EndpointClient {
    std::string name;              // "prometheus", "alertmanager", "registry"
    std::vector<std::string> urls; // every configured URL (an HA set), without trailing slashes;
                                   // for a kube-service, the API server's service proxy URL
    http::Client client;

    /// The first URL joined with `path` ("/api/v1/query").
    std::string url(std::string_view path) const;
};

/// Builds the client for `endpoint`, named `name` in messages: its headers, Basic or Bearer
/// credentials, CA and client certificate. Errors (Errc::config) for a missing or malformed URL, an
/// unreadable token, password, CA, certificate or key file, each naming the key to fix. An endpoint
/// with kube-service is an error here: it needs the overload with the Kubernetes settings.
Result<EndpointClient> make_endpoint_client(std::string_view name, const config::Endpoint& endpoint,
                                            const EndpointDefaults& defaults);

/// As above; a kube-service endpoint is reached through the API server of `kubernetes` (its URL,
/// TLS settings and credentials), at /api/v1/namespaces/NS/services/NAME:PORT/proxy.
Result<EndpointClient> make_endpoint_client(std::string_view name, const config::Endpoint& endpoint,
                                            const EndpointDefaults& defaults,
                                            const config::KubernetesConfig& kubernetes);

/// A configured file path with a leading "~/" made absolute ($HOME).
std::string expand_home_path(const std::string& path);

/// Checks that `url` is an absolute http(s) URL with a host; the error names `what`.
Result<void> check_base_url(std::string_view url, std::string_view what);

/// Joins a base URL and a path with exactly one slash between them ("http://h:9090/prom/" +
/// "/api/v1/query" -> "http://h:9090/prom/api/v1/query"); an empty path gives the base.
std::string join_url(std::string_view base, std::string_view path);

} // namespace oncall::backends
