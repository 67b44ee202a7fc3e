// Endpoint configuration -> http::Client.

#include "oncall/backends/endpoint.h"

#include "oncall/backends/kubernetes.h"
#include "oncall/core/local_file.h"

#include <cctype>
#include <cstdlib>
#include <fmt/format.h>

namespace oncall::backends {

std::string join_url(std::string_view base, std::string_view path) {
    while (!base.empty() && base.back() == '/') {
        base.remove_suffix(1);
    }
    while (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    if (path.empty()) {
        return std::string(base);
    }
    std::string out;
    out.reserve(base.size() + 1 + path.size());
    out.append(base);
    out.push_back('/');
    out.append(path);
    return out;
}

std::string expand_home_path(const std::string& path) {
    if (path.rfind("~/", 0) == 0) {
        const char* home = std::getenv("HOME");
        return std::string(home != nullptr && *home != '\0' ? home : "") + path.substr(1);
    }
    return path;
}

Result<void> check_base_url(std::string_view url, std::string_view what) {
    const std::string shown = http::redact_url(url);
    std::string_view rest;
    if (url.substr(0, 7) == "http://") {
        rest = url.substr(7);
    } else if (url.substr(0, 8) == "https://") {
        rest = url.substr(8);
    } else {
        return make_error(
            Errc::config,
            fmt::format("{} url '{}' must start with http:// or https://", what, shown));
    }
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    const std::string_view host = authority.substr(
        authority.rfind('@') == std::string_view::npos ? 0 : authority.rfind('@') + 1);
    if (host.empty() || host.front() == ':') {
        return make_error(Errc::config, fmt::format("{} url '{}' has no host", what, shown));
    }
    for (const char c : url) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            return make_error(
                Errc::config,
                fmt::format("{} url '{}' contains spaces or control characters", what, shown));
        }
    }
    if (rest.find_first_of("?#") != std::string_view::npos) {
        return make_error(
            Errc::config,
            fmt::format("{} url '{}' must be a base URL without '?' or '#'", what, shown));
    }
    return ok_result();
}

std::string EndpointClient::url(std::string_view path) const {
    return join_url(urls.empty() ? std::string_view() : std::string_view(urls.front()), path);
}

namespace {

// A regular file within the size cap (the bounded reader of core/local_file.h: a FIFO or a device
// never blocks the command).
Result<void> check_readable(std::string_view name, std::string_view key, const std::string& path) {
    const std::string what(key);
    if (auto probe = read_local_file(path, what.c_str(), k_max_kubeconfig_bytes); !probe) {
        Error error = std::move(probe).error();
        error.message = fmt::format("{}: {}", name, error.message);
        return error;
    }
    return ok_result();
}

http::ClientOptions base_options(std::string_view name, const config::Endpoint& endpoint,
                                 const EndpointDefaults& defaults) {
    http::ClientOptions options;
    options.name = std::string(name);
    options.connect_timeout = defaults.connect_timeout;
    options.total_timeout = endpoint.timeout.count() > 0 ? endpoint.timeout : defaults.timeout;
    options.connect_timeout = std::min(options.connect_timeout, options.total_timeout);
    options.retry = defaults.retry;
    options.log = defaults.log;
    for (const auto& [header, value] : endpoint.headers) {
        options.headers.push_back(http::Header{header, value});
    }
    return options;
}

Result<EndpointClient> through_service_proxy(std::string_view name,
                                             const config::Endpoint& endpoint,
                                             const EndpointDefaults& defaults,
                                             const config::KubernetesConfig& kubernetes) {
    const std::string shown = endpoint.kube_service.text();
    auto connection = kube::resolve_connection(kubernetes);
    if (!connection) {
        Error e = std::move(connection).error();
        e.message = fmt::format("{} (kube-service {}): {}", name, shown, e.message);
        return e;
    }
    const auto total = endpoint.timeout.count() > 0 ? endpoint.timeout : defaults.timeout;
    http::ClientOptions options = kube::api_server_options(*connection, defaults.log, total);
    const http::ClientOptions ours = base_options(name, endpoint, defaults);
    options.name = fmt::format("{} (kube-service {})", name, shown);
    options.connect_timeout = ours.connect_timeout;
    options.retry = ours.retry;
    options.headers = ours.headers;
    options.credential_source =
        fmt::format("the kubernetes credentials of this context ({})", connection->origin);
    EndpointClient out;
    out.name = std::string(name);
    out.urls.push_back(connection->server + endpoint.kube_service.proxy_path());
    out.client = http::Client(std::move(options));
    return out;
}

} // namespace

Result<EndpointClient> make_endpoint_client(std::string_view name, const config::Endpoint& endpoint,
                                            const EndpointDefaults& defaults,
                                            const config::KubernetesConfig& kubernetes) {
    if (endpoint.kube_service.configured()) {
        return through_service_proxy(name, endpoint, defaults, kubernetes);
    }
    return make_endpoint_client(name, endpoint, defaults);
}

Result<EndpointClient> make_endpoint_client(std::string_view name, const config::Endpoint& endpoint,
                                            const EndpointDefaults& defaults) {
    if (!endpoint.configured()) {
        return make_error(
            Errc::config,
            fmt::format("no {0} URL in this context; add '{0}: {{ url: http://HOST:PORT }}' to it",
                        name));
    }
    if (endpoint.kube_service.configured()) {
        return make_error(Errc::config,
                          fmt::format("{} kube-service {} needs the context's kubernetes settings",
                                      name, endpoint.kube_service.text()));
    }
    EndpointClient out;
    out.name = std::string(name);
    for (const auto& url : endpoint.urls) {
        if (auto checked = check_base_url(url, name); !checked) {
            return std::move(checked).error();
        }
        std::string_view trimmed = url;
        while (trimmed.size() > 1 && trimmed.back() == '/') {
            trimmed.remove_suffix(1);
        }
        out.urls.emplace_back(trimmed);
    }
    http::ClientOptions options = base_options(name, endpoint, defaults);
    if (endpoint.basic_auth.configured()) {
        auto password = config::resolve_password(endpoint.basic_auth);
        if (!password) {
            Error error = std::move(password).error();
            error.message = fmt::format("{}: {}", name, error.message);
            return error;
        }
        options.basic_auth =
            http::ClientOptions::BasicAuth{endpoint.basic_auth.username, std::move(*password)};
    } else {
        auto token = config::resolve_token(endpoint.auth);
        if (!token) {
            Error error = std::move(token).error();
            error.message = fmt::format("{}: {}", name, error.message);
            return error;
        }
        options.bearer_token = std::move(token).value();
    }
    options.credential_source = config::credential_source(endpoint);
    const std::string ca_file = expand_home_path(endpoint.ca_file);
    if (!ca_file.empty()) {
        if (auto readable = check_readable(name, "ca-file", ca_file); !readable) {
            return std::move(readable).error();
        }
    }
    options.tls.ca_file = ca_file;
    options.tls.insecure_skip_verify = endpoint.insecure_skip_tls_verify;
    if (!endpoint.cert_file.empty()) {
        const std::string cert_file = expand_home_path(endpoint.cert_file);
        const std::string key_file = expand_home_path(endpoint.key_file);
        for (const auto& [key, path] :
             {std::pair<std::string_view, const std::string&>{"cert-file", cert_file},
              {"key-file", key_file}}) {
            if (auto readable = check_readable(name, key, path); !readable) {
                return std::move(readable).error();
            }
        }
        options.tls.client_cert_file = cert_file;
        options.tls.client_key_file = key_file;
    }
    out.client = http::Client(std::move(options));
    return out;
}

} // namespace oncall::backends
