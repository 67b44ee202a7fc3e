#pragma once
// A fault-injecting HTTP proxy for tests and benchmarks: listens on 127.0.0.1 (plain HTTP),
// forwards to an upstream base URL (http, or https with a CA) and, when told, misbehaves the way
// broken proxies, half-dead servers and hostile endpoints do. Settings can change while it runs;
// every request is counted and recorded with its start time. A request in absolute form
// ("GET http://host/path", as sent to an http_proxy) is forwarded to that URL instead. It is also a
// SOCKS5 proxy (no authentication, CONNECT to 127.0.0.1 or localhost only): such a connection is
// recorded as method "SOCKS5", target "host:port", and relayed untouched (faults do not apply).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace oncall::test {

enum class FaultMode {
    pass,            // forward unchanged (the response is streamed back chunked)
    status,          // answer `status` (with Retry-After when set) without asking upstream
    reset,           // reset the connection (RST) instead of answering
    html_page,       // an HTML error page with status html_status (200 or 502)
    truncated_json,  // forward, then cut the body in half and close the connection
    oversized,       // a 200 JSON body of oversized_bytes
    slow_loris,      // a valid response, one byte every trickle_interval
    endless_chunked, // a chunked body that never ends
    redirect,        // 302 to redirect_location (another host)
    huge_headers,    // a 200 whose headers exceed any sane limit (1 MiB)
    garbage,         // bytes that are not HTTP at all
    gzip_bomb,       // a 200 JSON body, Content-Encoding: gzip, inflating to gzip_bomb_bytes
    json_bomb,       // a 200 JSON body nested json_bomb_depth levels deep
    body,            // answer body_status with `body` (body_content_type) without asking upstream
    rewrite, // forward, then answer the upstream's status with rewrite(request, status, body)
};

/// Parses "pass", "status", "reset", ... (the names above); nullopt for anything else.
std::optional<FaultMode> parse_fault_mode(std::string_view name);
/// The name of a mode.
const char* fault_mode_name(FaultMode mode);

struct ProxiedRequest;

struct FaultSettings {
    FaultMode mode = FaultMode::pass;
    std::chrono::milliseconds delay{0};       // added before every request is handled, in any mode
    int status = 503;                         // status mode
    std::string retry_after;                  // status mode: Retry-After value when non-empty
    int html_status = 502;                    // html_page mode
    std::size_t oversized_bytes = 64u << 20u; // oversized mode
    bool oversized_declares_length = false;   // oversized: Content-Length (true) or chunked (false)
    bool truncated_length_matches = false; // truncated_json: Content-Length of the cut body (true)
                                           // or of the whole one (false: the transport sees it)
    std::chrono::milliseconds trickle_interval{200}; // slow_loris
    std::string redirect_location;                   // redirect: absolute URL
    int fault_count = -1;    // misbehave for the first N requests only (-1: all)
    std::string path_prefix; // misbehave only for targets starting with this ("" : all)
    std::string only_method; // misbehave only for this method ("" any); others pass
    std::string only_path;   // ... and only when the target contains this ("" any)
    std::size_t gzip_bomb_bytes = 256u << 20u;          // gzip_bomb: size of the inflated body
    std::size_t json_bomb_depth = 1000000;              // json_bomb: nesting depth
    int body_status = 200;                              // body mode
    std::string body;                                   // body mode
    std::string body_content_type = "application/json"; // body mode
    /// rewrite mode: the body to send instead of the upstream's (not settable through control
    /// URLs).
    std::function<std::string(const ProxiedRequest& request, long status, const std::string& body)>
        rewrite;
};

/// Applies "key=value" settings (mode, delay-ms, status, retry-after, html-status, oversized-bytes,
/// oversized-declares-length, truncated-length-matches, trickle-ms, redirect, fault-count, path,
/// only-method, only-path, gzip-bomb-bytes, json-bomb-depth, body-status, body, body-content-type)
/// to `settings`; returns an error message for an unknown key or bad value, "" on success.
std::string apply_fault_setting(FaultSettings& settings, std::string_view key,
                                std::string_view value);

/// One request as the proxy saw it.
struct ProxiedRequest {
    std::string method;
    std::string target; // path and query
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::steady_clock::time_point started;
    FaultMode applied = FaultMode::pass;

    /// Header value (case-insensitive name), or "" when absent.
    std::string header(std::string_view name) const;
};

class FaultProxy {
public:
    struct Options {
        std::string upstream;  // base URL, e.g. http://127.0.0.1:9090 (may be empty when no
                               // request is ever forwarded)
        std::string ca_file;   // CA for an https upstream
        bool insecure = false; // do not verify the upstream's certificate
        int port = 0;          // 0: any free port
        std::chrono::milliseconds upstream_timeout{60000};
    };

    explicit FaultProxy(Options options);
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    /// Replaces the fault settings (and restarts the fault_count budget).
    void set(const FaultSettings& settings);
    FaultSettings settings() const;

    int port() const { return m_port; }
    /// "http://127.0.0.1:PORT" + path.
    std::string url(std::string_view path = "") const;
    /// "socks5://127.0.0.1:PORT": the same port, as a SOCKS5 proxy.
    std::string socks5_url() const;

    std::size_t request_count() const;
    std::vector<ProxiedRequest> requests() const;
    void clear_requests();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
    int m_port = 0;
};

} // namespace oncall::test
