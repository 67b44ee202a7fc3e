#pragma once
// HTTP over libcurl: one request at a time (perform), many at once on one multi handle
// (perform_all), or a streamed body (stream, for watches). Transient failures of idempotent
// requests are retried; every URL and header that reaches an error message or a log line is
// redacted first.
//
// Who reports what: transport failures are Errors from the client, classified (Errc::dns, connect,
// timeout, tls, too_large, bad_response for non-HTTP or cut-short replies, invalid for bad URLs)
// with messages shaped "<name> at <redacted url>: <what happened>; <what to do>". Any complete
// HTTP answer is a Response, whatever its status: callers turn unexpected statuses into Errors with
// status_error(), and decode bodies with parse_json_body() (oncall/http/json.h), which reports HTML
// pages, truncated or malformed JSON and nesting bombs as Errc::bad_response.
//
// Defaults chosen against hostile servers: TLS verified, no compression asked for (no
// decompression bombs), redirects not followed (a 3xx is returned; when following is enabled the
// token is never sent to another host), bodies capped (max_body_bytes), headers capped (256 KiB),
// header values with line breaks refused. Proxies come from http_proxy/https_proxy/no_proxy unless
// ClientOptions::proxy_url names one.

#include "oncall/core/result.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oncall::http {

namespace detail {
struct ClientState;
}

enum class Method { get, head, post, put, patch, del };

/// "GET", "POST", ...
const char* method_name(Method m) noexcept;

/// True for methods that may be retried safely (GET, HEAD, PUT, DELETE).
bool is_idempotent(Method m) noexcept;

/// True for a 429 or 503 answer carrying a valid Retry-After: the server refused the request before
/// running it (API priority and fairness, rate limits), so any method, POST and PATCH included, may
/// be sent again after the delay.
bool refused_before_running(long status, const std::optional<std::string>& retry_after);

struct Header {
    std::string name;
    std::string value;
};

/// One request. A zero timeout means the client's total timeout.
struct Request {
    Method method = Method::get;
    std::string url;
    std::vector<Header> headers;
    std::string body;
    std::chrono::milliseconds timeout{0};
    /// Per-request bearer token overriding the client's (used for grant tokens); "" sends none.
    std::optional<std::string> bearer_token;
};

/// A complete response of any status; transport failures are Errors instead.
struct Response {
    long status = 0;
    std::vector<Header> headers;
    std::string body;
    std::string url; // redacted effective URL
    std::chrono::milliseconds elapsed{0};
    /// Where the credential sent came from (the client's credential_source), for 401/403 messages.
    std::string credential_source;

    /// First header with this name (case-insensitive), if any.
    std::optional<std::string> header(std::string_view name) const;
    bool is_success() const noexcept { return status >= 200 && status < 300; }
};

/// Retries only transient failures (connect errors, timeouts, 408/429/5xx, honouring Retry-After)
/// of idempotent requests, with exponential backoff and full jitter; a 429 or 503 with Retry-After
/// is retried for every method (see refused_before_running).
struct RetryPolicy {
    int max_attempts = 3;
    std::chrono::milliseconds base_delay{200};
    std::chrono::milliseconds max_delay{5000};
    bool honour_retry_after = true;
    /// When non-zero, every attempt and wait of one request fits in this time: attempts' timeouts
    /// are clipped to what is left, and no retry starts after it (a per-source deadline).
    std::chrono::milliseconds budget{0};

    /// A policy that never retries.
    static RetryPolicy none() { return RetryPolicy{1, {}, {}, false, {}}; }
};

/// How the server is verified and how the client proves who it is. Each credential is a file or
/// PEM text in memory (kubeconfig's *-data fields); when both are set, the PEM text wins. Handed to
/// libcurl's own options (CAINFO / CAINFO_BLOB, SSLCERT / SSLCERT_BLOB, SSLKEY / SSLKEY_BLOB).
struct TlsOptions {
    std::string ca_file; // CA bundle (PEM) that verifies the server; "" for the system store
    std::string ca_pem;  // the same, in memory
    std::string client_cert_file; // client certificate (PEM, may hold the chain) for mutual TLS
    std::string client_cert_pem;  // the same, in memory
    std::string client_key_file;  // its private key (PEM); never logged
    std::string client_key_pem;   // the same, in memory; a secret, scrubbed from every message
    /// Name the server's certificate is checked against and sent as SNI, instead of the URL's host
    /// (kubeconfig's tls-server-name); the Host header and the connection still use the URL's host.
    std::string server_name;
    bool insecure_skip_verify = false; // warns loudly when used

    /// True when a client certificate (file or PEM) is configured.
    bool has_client_certificate() const noexcept {
        return !client_cert_file.empty() || !client_cert_pem.empty();
    }
};

struct ClientOptions {
    /// What the server is, for messages: "prometheus" gives "prometheus at <url>: timed out after
    /// 3s".
    std::string name;
    std::chrono::milliseconds connect_timeout{3000};
    std::chrono::milliseconds total_timeout{10000};
    TlsOptions tls;
    std::string bearer_token; // sent as Authorization: Bearer; never logged
    /// Proxy for every request of this client (http://, https:// or socks5://, as kubeconfig's
    /// proxy-url); when set, http_proxy/https_proxy/no_proxy are ignored. socks5 resolves names on
    /// the proxy (socks5h), as Go's dialer does. Credentials in it are never logged.
    std::string proxy_url;
    std::size_t max_body_bytes = 32u << 20u; // larger bodies fail with Errc::too_large
    RetryPolicy retry;
    std::string user_agent; // default "oncall/<version>"
    /// Follow up to 5 redirects (http/https only); credentials are dropped when the host changes.
    bool follow_redirects = false;
    /// Send Accept-Encoding and decompress; max_body_bytes then caps the decompressed size.
    bool accept_compressed = false;
    /// Receives redacted diagnostic lines (request lines, statuses, retries, warnings); called from
    /// every thread that uses the client, so it must be thread-safe when the client is shared.
    std::function<void(std::string_view)> log;
    /// Sent with every request unless the request sets a header of that name (e.g. X-Scope-OrgID).
    std::vector<Header> headers;
    /// HTTP Basic credentials, sent instead of bearer_token unless the request carries its own
    /// bearer_token or Authorization header; the password is never logged.
    struct BasicAuth {
        std::string username;
        std::string password;
    };
    std::optional<BasicAuth> basic_auth;
    /// Where the credential comes from ("basic-auth user 'u', password from $P"), without the
    /// secret; copied to every Response so that a 401/403 can say it.
    std::string credential_source;
};

struct BoundRequest;

/// HTTP client; cheap to copy (copies share options and the connection cache) and safe to use
/// from several threads at once.
class Client {
public:
    explicit Client(ClientOptions options = {});

    /// Sends one request, retrying transient failures per the policy.
    Result<Response> perform(const Request& request) const;

    /// Sends all requests concurrently (at most max_parallel in flight) on one multi handle;
    /// returns one result per request, in the same order. Retries apply per request.
    std::vector<Result<Response>> perform_all(const std::vector<Request>& requests,
                                              std::size_t max_parallel = 8) const;

    /// Sends one request and hands the body to on_data as it arrives; on_data returns false to
    /// stop. Returns the status line's result (non-2xx statuses give their body in the Response).
    /// Not retried. The request's timeout bounds the whole stream.
    Result<Response> stream(const Request& request,
                            const std::function<bool(std::string_view chunk)>& on_data) const;

    const ClientOptions& options() const noexcept;

private:
    friend std::vector<Result<Response>> perform_all(const std::vector<BoundRequest>& requests,
                                                     std::size_t max_parallel);
    std::shared_ptr<detail::ClientState> m_state;
};

/// A request and the client (server name, credentials, TLS, retry policy) that sends it.
struct BoundRequest {
    Client client;
    Request request;
};

/// Sends requests of several clients (say Prometheus, Alertmanager and Kubernetes) concurrently on
/// one multi handle, at most max_parallel in flight; one result per request, in order. Each request
/// is retried per its own client's policy.
std::vector<Result<Response>> perform_all(const std::vector<BoundRequest>& requests,
                                          std::size_t max_parallel = 8);

/// The warning for sending a credential (bearer token, password) to `url` in clear text: set when
/// the URL is http:// and its host is not loopback (localhost, 127.0.0.0/8, ::1), else nullopt.
std::optional<std::string> cleartext_credential_warning(std::string_view url);

/// Where the HTTP layer's warnings go whatever -v says (each cleartext-credential warning once per
/// host and process); by default stderr, as "oncall: warning: ...". An empty sink drops them.
void set_warning_sink(std::function<void(std::string_view)> sink);

/// Removes credentials from a URL: userinfo and the values of token-like query parameters.
std::string redact_url(std::string_view url);

/// The version of the libcurl in use (e.g. "7.88.1").
std::string curl_library_version();

/// A header line safe to log: Authorization, Cookie, Proxy-Authorization and *token* values hidden.
std::string redact_header(std::string_view name, std::string_view value);

/// Percent-encodes one URL component (query value or path segment).
std::string url_encode(std::string_view text);

/// A single printable line of at most `limit` characters of a body (control characters become
/// spaces, "..." when cut), for error messages.
std::string body_excerpt(std::string_view body, std::size_t limit);

/// Error for a response whose status was not expected: "<what> at <url>: HTTP 503 Service
/// Unavailable". 401/403 give Errc::access_denied (naming the response's credential_source), 404
/// Errc::not_found, 409 Errc::conflict, others Errc::http_status; a short, single-line excerpt of a
/// plain-text or JSON body is appended.
Error status_error(const Response& response, std::string_view what);

/// The advice of a 401/403 answer: which credential was sent and where it came from, or that none
/// was configured ("sent basic-auth user 'u', password from $P; check it").
std::string denied_advice(const Response& response);

/// Delay a Retry-After value asks for (delta-seconds or HTTP-date, relative to `now`); nullopt when
/// the value is neither.
std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

} // namespace oncall::http
