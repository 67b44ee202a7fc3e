// Endpoint configuration -> http::Client.

#include "oncall/backends/endpoint.h"

#include "oncall/core/local_file.h"

#include <fmt/format.h>

#include <cctype>

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

Result<void> check_base_url(std::string_view url, std::string_view what) {
    const std::string shown = http::redact_url(url);
    std::string_view rest;
    if (url.substr(0, 7) == "http://") {
        rest = url.substr(7);
    } else if (url.substr(0, 8) == "https://") {
        rest = url.substr(8);
    } else {
        return make_error(Errc::config,
                          fmt::format("{} url '{}' must start with http:// or https://", what, shown));
    }
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    const std::string_view host = authority.substr(authority.rfind('@') == std::string_view::npos
                                                       ? 0
                                                       : authority.rfind('@') + 1);
    if (host.empty() || host.front() == ':') {
        return make_error(Errc::config, fmt::format("{} url '{}' has no host", what, shown));
    }
    for (const char c : url) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            return make_error(Errc::config,
                              fmt::format("{} url '{}' contains spaces or control characters", what, shown));
        }
    }
    if (rest.find_first_of("?#") != std::string_view::npos) {
        return make_error(Errc::config,
                          fmt::format("{} url '{}' must be a base URL without '?' or '#'", what, shown));
    }
    return ok_result();
}

std::string EndpointClient::url(std::string_view path) const {
    return join_url(urls.empty() ? std::string_view() : std::string_view(urls.front()), path);
}

Result<EndpointClient> make_endpoint_client(std::string_view name, const config::Endpoint& endpoint,
                                            const EndpointDefaults& defaults) {
    if (!endpoint.configured()) {
        return make_error(Errc::config,
                          fmt::format("no {0} URL in this context; add '{0}: {{ url: http://HOST:PORT }}' to it", name));
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
    auto token = config::resolve_token(endpoint.auth);
    if (!token) {
        Error error = std::move(token).error();
        error.message = fmt::format("{}: {}", name, error.message);
        return error;
    }
    if (!endpoint.ca_file.empty()) {
        auto probe = read_local_file(endpoint.ca_file, "ca-file", k_max_kubeconfig_bytes);
        if (!probe) {
            Error error = std::move(probe).error();
            error.message = fmt::format("{}: {}", name, error.message);
            return error;
        }
    }
    http::ClientOptions options;
    options.name = std::string(name);
    options.connect_timeout = defaults.connect_timeout;
    options.total_timeout = endpoint.timeout.count() > 0 ? endpoint.timeout : defaults.timeout;
    options.connect_timeout = std::min(options.connect_timeout, options.total_timeout);
    options.tls.ca_file = endpoint.ca_file;
    options.tls.insecure_skip_verify = endpoint.insecure_skip_tls_verify;
    options.bearer_token = std::move(token).value();
    options.retry = defaults.retry;
    options.log = defaults.log;
    out.client = http::Client(std::move(options));
    return out;
}

} // namespace oncall::backends
