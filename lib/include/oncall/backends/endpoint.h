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
    std::chrono::milliseconds timeout{10000};         // used when the endpoint sets none
    std::chrono::milliseconds connect_timeout{3000};
    http::RetryPolicy retry;
    std::function<void(std::string_view)> log;        // redacted diagnostics (-v), may be empty
};

/// A client for one configured backend, with its base URL(s).
struct EndpointClient {
    std::string name;              // "prometheus", "alertmanager", "registry"
    std::vector<std::string> urls; // every configured URL (an HA set), without trailing slashes
    http::Client client;

    /// The first URL joined with `path` ("/api/v1/query").
    std::string url(std::string_view path) const;
};

/// Builds the client for `endpoint`, named `name` in messages. Errors (Errc::config) for a missing
/// or malformed URL, an unreadable token source or CA file, each naming the key to fix.
Result<EndpointClient> make_endpoint_client(std::string_view name, const config::Endpoint& endpoint,
                                            const EndpointDefaults& defaults);

/// Checks that `url` is an absolute http(s) URL with a host; the error names `what`.
Result<void> check_base_url(std::string_view url, std::string_view what);

/// Joins a base URL and a path with exactly one slash between them ("http://h:9090/prom/" +
/// "/api/v1/query" -> "http://h:9090/prom/api/v1/query"); an empty path gives the base.
std::string join_url(std::string_view base, std::string_view path);

} // namespace oncall::backends
