// The service proxy: path parsing, the services file, and forwarding with cpp-httplib.

#include "service_proxy.h"

#include "status.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <vector>

namespace sandbox {
namespace {

struct ServicePort {
    std::string namespace_name;
    std::string name;
    std::string port_name;
    std::string port_number;
    std::string url;
};

std::vector<ServicePort> read_services(const std::string& file) {
    std::vector<ServicePort> out;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        ServicePort p;
        if (fields >> p.namespace_name >> p.name >> p.port_name >> p.port_number >> p.url &&
            p.namespace_name[0] != '#') {
            out.push_back(std::move(p));
        }
    }
    return out;
}

std::string lower_case(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool hop_by_hop(const std::string& name) {
    const std::string n = lower_case(name);
    return n == "connection" || n == "keep-alive" || n == "proxy-authenticate" ||
           n == "proxy-authorization" || n == "te" || n == "trailer" || n == "transfer-encoding" ||
           n == "upgrade" || n == "content-length" || n == "host" || n == "authorization" ||
           n == "local_addr" || n == "local_port" || n == "remote_addr" || n == "remote_port" ||
           n == "accept-encoding";
}

StatusError service_unavailable(const std::string& message) {
    return StatusError(failure_status(503, "ServiceUnavailable", message));
}

} // namespace

std::optional<ProxyTarget> ServiceProxy::parse(const std::string& path) {
    static const std::string prefix = "/api/v1/namespaces/";
    if (path.compare(0, prefix.size(), prefix) != 0) {
        return std::nullopt;
    }
    const std::string rest = path.substr(prefix.size());
    const auto ns_end = rest.find('/');
    if (ns_end == std::string::npos || rest.compare(ns_end, 10, "/services/") != 0) {
        return std::nullopt;
    }
    const auto svc_start = ns_end + 10;
    const auto svc_end = rest.find('/', svc_start);
    if (svc_end == std::string::npos) {
        return std::nullopt;
    }
    const auto after = rest.substr(svc_end);
    if (after != "/proxy" && after.compare(0, 7, "/proxy/") != 0) {
        return std::nullopt;
    }
    ProxyTarget t;
    t.namespace_name = rest.substr(0, ns_end);
    std::string service = rest.substr(svc_start, svc_end - svc_start);
    // [scheme:]name[:port], as kube's ResourceLocation splits it.
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t colon = service.find(':'); colon != std::string::npos;
         colon = service.find(':', start)) {
        parts.push_back(service.substr(start, colon - start));
        start = colon + 1;
    }
    parts.push_back(service.substr(start));
    if (parts.size() == 3) {
        t.scheme = parts[0];
        t.name = parts[1];
        t.port = parts[2];
    } else if (parts.size() == 2) {
        t.name = parts[0];
        t.port = parts[1];
    } else if (parts.size() == 1) {
        t.name = parts[0];
    }
    if (t.name.empty() || parts.size() > 3 ||
        (!t.scheme.empty() && t.scheme != "http" && t.scheme != "https")) {
        throw bad_request(fmt::format("invalid service request \"{}\"", service));
    }
    t.rest = after.size() > 6 ? after.substr(6) : "/";
    return t;
}

void ServiceProxy::forward(const httplib::Request& req, httplib::Response& res,
                           const ProxyTarget& t) const {
    const ResourceRef ref{"", "services", "Service"};
    const auto services = read_services(m_services_file);
    const ServicePort* match = nullptr;
    bool service_exists = false;
    for (const auto& p : services) {
        if (p.namespace_name != t.namespace_name || p.name != t.name) {
            continue;
        }
        service_exists = true;
        if (t.port.empty() || t.port == p.port_name || t.port == p.port_number) {
            match = &p;
            break;
        }
    }
    if (!service_exists) {
        throw not_found(ref, t.name);
    }
    if (match == nullptr) {
        throw service_unavailable(
            fmt::format("no endpoints available for service \"{}:{}\"", t.name, t.port));
    }
    if (t.scheme == "https") {
        throw service_unavailable(
            fmt::format("error trying to reach service: service \"{}\" serves plain http", t.name));
    }
    httplib::Client upstream(match->url);
    upstream.set_connection_timeout(std::chrono::seconds(3));
    upstream.set_read_timeout(std::chrono::seconds(60));
    httplib::Headers headers;
    for (const auto& [name, value] : req.headers) {
        if (!hop_by_hop(name)) {
            headers.emplace(name, value);
        }
    }
    std::string target = t.rest;
    if (const auto q = req.target.find('?'); q != std::string::npos) {
        target += req.target.substr(q);
    }
    const std::string content_type = req.get_header_value("Content-Type");
    httplib::Result result{nullptr, httplib::Error::Unknown};
    if (req.method == "GET") {
        result = upstream.Get(target, headers);
    } else if (req.method == "HEAD") {
        result = upstream.Head(target, headers);
    } else if (req.method == "POST") {
        result = upstream.Post(target, headers, req.body, content_type);
    } else if (req.method == "PUT") {
        result = upstream.Put(target, headers, req.body, content_type);
    } else if (req.method == "PATCH") {
        result = upstream.Patch(target, headers, req.body, content_type);
    } else if (req.method == "DELETE") {
        result = upstream.Delete(target, headers, req.body, content_type);
    } else {
        throw method_not_allowed();
    }
    if (!result) {
        throw service_unavailable(
            fmt::format("error trying to reach service: {}", httplib::to_string(result.error())));
    }
    res.status = result->status;
    std::string response_type = "text/plain";
    for (const auto& [name, value] : result->headers) {
        if (lower_case(name) == "content-type") {
            response_type = value;
        } else if (!hop_by_hop(name)) {
            res.set_header(name, value);
        }
    }
    res.set_content(result->body, response_type);
}

} // namespace sandbox
