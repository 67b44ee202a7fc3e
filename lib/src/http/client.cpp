// HTTP client over libcurl: single requests on pooled easy handles (connections are reused between
// calls), concurrent requests on one multi handle, streamed bodies; retries and error
// classification.

#include "oncall/http/client.h"

#include "http/curl_handles.h"
#include "oncall/core/duration.h"
#include "oncall/core/version.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <deque>
#include <fmt/format.h>
#include <mutex>
#include <random>
#include <set>
#include <thread>

namespace oncall::http {

namespace detail {

/// What copies of one Client share: the options, the DNS/TLS-session caches and idle easy handles.
struct ClientState {
    explicit ClientState(ClientOptions opts) : options(std::move(opts)) {}

    ClientOptions options;
    ShareHandle share;
    std::mutex pool_mutex;
    std::vector<EasyHandle> idle; // guarded by pool_mutex

    EasyHandle acquire() {
        {
            std::lock_guard lock(pool_mutex);
            if (!idle.empty()) {
                EasyHandle handle = std::move(idle.back());
                idle.pop_back();
                return handle;
            }
        }
        return EasyHandle{};
    }

    void release(EasyHandle handle) {
        handle.reset();
        std::lock_guard lock(pool_mutex);
        if (idle.size() < k_max_idle) {
            idle.push_back(std::move(handle));
        }
    }

    static constexpr std::size_t k_max_idle = 4;
};

} // namespace detail

namespace {

using detail::ClientState;
using detail::EasyHandle;
using detail::HeaderList;
using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t k_max_header_bytes = 256u * 1024u;

// Replaces every occurrence of a secret in `text` (defence in depth: nothing we build contains
// one, but curl's own messages quote what they were given).
std::string scrub(std::string text, const std::vector<std::string_view>& secrets) {
    for (const auto secret : secrets) {
        if (secret.size() < 4) {
            continue;
        }
        for (std::size_t pos = text.find(secret); pos != std::string::npos;
             pos = text.find(secret, pos)) {
            text.replace(pos, secret.size(), "<redacted>");
        }
    }
    return text;
}

std::string format_bytes(std::size_t bytes) {
    if (bytes >= (1u << 20u) && bytes % (1u << 20u) == 0) {
        return fmt::format("{} MiB", bytes >> 20u);
    }
    if (bytes >= 1024 && bytes % 1024 == 0) {
        return fmt::format("{} KiB", bytes >> 10u);
    }
    return fmt::format("{} bytes", bytes);
}

// One attempt of one request: its easy handle's callbacks write here.
struct Transfer {
    const Request* request = nullptr;
    const ClientState* state = nullptr;
    CURL* easy = nullptr;
    Response response;
    std::string redacted_url;
    std::chrono::milliseconds timeout{0};
    std::size_t header_bytes = 0;
    bool body_too_large = false;
    bool headers_too_large = false;
    const std::function<bool(std::string_view)>* on_data = nullptr;
    bool stopped_by_caller = false;
    SteadyClock::time_point started;
    SteadyClock::time_point first_started; // start of the request's first attempt (retry budget)

    std::string describe() const {
        const auto& name = state->options.name;
        if (name.empty()) {
            return fmt::format("{} {}", method_name(request->method), redacted_url);
        }
        return fmt::format("{} at {}", name, redacted_url);
    }
    std::vector<std::string_view> secrets() const {
        std::vector<std::string_view> out{state->options.bearer_token,
                                          state->options.tls.client_key_pem};
        if (request->bearer_token) {
            out.emplace_back(*request->bearer_token);
        }
        if (state->options.basic_auth) {
            out.emplace_back(state->options.basic_auth->password);
        }
        return out;
    }
};

void log_line(const ClientState& state, const Transfer* transfer, const std::string& line) {
    if (!state.options.log) {
        return;
    }
    if (transfer != nullptr) {
        state.options.log(scrub(line, transfer->secrets()));
    } else {
        std::vector<std::string_view> secrets{state.options.bearer_token,
                                              state.options.tls.client_key_pem};
        if (state.options.basic_auth) {
            secrets.emplace_back(state.options.basic_auth->password);
        }
        state.options.log(scrub(line, secrets));
    }
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const std::size_t len = size * count;
    if (t.on_data != nullptr) {
        long status = 0;
        curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            if (!(*t.on_data)(std::string_view(data, len))) {
                t.stopped_by_caller = true;
                return 0;
            }
            return len;
        }
    }
    if (t.response.body.size() + len > t.state->options.max_body_bytes) {
        t.body_too_large = true;
        return 0;
    }
    t.response.body.append(data, len);
    return len;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const std::size_t len = size * count;
    t.header_bytes += len;
    if (t.header_bytes > k_max_header_bytes) {
        t.headers_too_large = true;
        return 0;
    }
    std::string_view line(data, len);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
        line.remove_suffix(1);
    }
    if (line.substr(0, 5) == "HTTP/") {
        // A new response (after 100 Continue or a followed redirect): start over.
        t.response.headers.clear();
        t.header_bytes = len;
        return len;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
        return len;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }
    t.response.headers.push_back(Header{std::string(line.substr(0, colon)), std::string(value)});
    return len;
}

bool has_header(const Request& request, std::string_view name) {
    return std::any_of(request.headers.begin(), request.headers.end(), [&](const Header& h) {
        return h.name.size() == name.size() &&
               std::equal(h.name.begin(), h.name.end(), name.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) ==
                          std::tolower(static_cast<unsigned char>(b));
               });
    });
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return a == std::tolower(static_cast<unsigned char>(b));
           });
}

bool proxy_scheme_supported(std::string_view url) {
    return starts_with_nocase(url, "http://") || starts_with_nocase(url, "https://") ||
           starts_with_nocase(url, "socks5://");
}

// The proxy as curl takes it: socks5 names are resolved by the proxy (socks5h), as Go's dialer
// and so kubectl do.
std::string curl_proxy(const std::string& url) {
    if (starts_with_nocase(url, "socks5://")) {
        return "socks5h://" + url.substr(9);
    }
    return url;
}

// For a TLS server name other than the URL's host: the URL to give curl (its host replaced by the
// name, so SNI and verification use it), the CONNECT_TO line that still connects to the URL's
// host and port, and the Host header that still names them. nullopt when the URL cannot be parsed
// (curl then reports it).
struct ServerNameRoute {
    std::string url;
    std::string connect_to;
    std::string host_header;
};

std::optional<ServerNameRoute> route_for_server_name(const std::string& url,
                                                     const std::string& server_name) {
    std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parts(curl_url(), &curl_url_cleanup);
    if (!parts || curl_url_set(parts.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        return std::nullopt;
    }
    auto get = [&](CURLUPart part, unsigned flags) -> std::optional<std::string> {
        char* value = nullptr;
        if (curl_url_get(parts.get(), part, &value, flags) != CURLUE_OK || value == nullptr) {
            return std::nullopt;
        }
        std::string out(value);
        curl_free(value);
        return out;
    };
    const auto host = get(CURLUPART_HOST, 0);
    const auto port = get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
    const auto explicit_port = get(CURLUPART_PORT, 0);
    if (!host || !port) {
        return std::nullopt;
    }
    if (curl_url_set(parts.get(), CURLUPART_HOST, server_name.c_str(), 0) != CURLUE_OK) {
        return std::nullopt;
    }
    auto rewritten = get(CURLUPART_URL, 0);
    if (!rewritten) {
        return std::nullopt;
    }
    ServerNameRoute route;
    route.url = std::move(*rewritten);
    route.connect_to = fmt::format("{}:{}:{}:{}", server_name, *port, *host, *port);
    route.host_header = explicit_port ? fmt::format("{}:{}", *host, *explicit_port) : *host;
    return route;
}

void set_blob(EasyHandle& easy, CURLoption option, const std::string& pem) {
    curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
    easy.set(option, &blob);
}

// Sets the TLS options: server verification, the client certificate, the server name.
void configure_tls(EasyHandle& easy, const TlsOptions& tls) {
    easy.set(CURLOPT_SSL_VERIFYPEER, tls.insecure_skip_verify ? 0L : 1L);
    easy.set(CURLOPT_SSL_VERIFYHOST, tls.insecure_skip_verify ? 0L : 2L);
    if (!tls.ca_pem.empty()) {
        set_blob(easy, CURLOPT_CAINFO_BLOB, tls.ca_pem);
    } else if (!tls.ca_file.empty()) {
        easy.set(CURLOPT_CAINFO, tls.ca_file.c_str());
    }
    if (!tls.client_cert_pem.empty()) {
        easy.set(CURLOPT_SSLCERTTYPE, "PEM");
        set_blob(easy, CURLOPT_SSLCERT_BLOB, tls.client_cert_pem);
    } else if (!tls.client_cert_file.empty()) {
        easy.set(CURLOPT_SSLCERTTYPE, "PEM");
        easy.set(CURLOPT_SSLCERT, tls.client_cert_file.c_str());
    }
    if (!tls.client_key_pem.empty()) {
        easy.set(CURLOPT_SSLKEYTYPE, "PEM");
        set_blob(easy, CURLOPT_SSLKEY_BLOB, tls.client_key_pem);
    } else if (!tls.client_key_file.empty()) {
        easy.set(CURLOPT_SSLKEYTYPE, "PEM");
        easy.set(CURLOPT_SSLKEY, tls.client_key_file.c_str());
    }
}

// A request that must not go out: a line break in a header or token would let whoever supplied it
// add headers of their own. The value is not quoted (it may be a credential).
std::optional<Error> invalid_request(const Request& r, const ClientOptions& o) {
    auto has_break = [](std::string_view text) {
        return text.find_first_of("\r\n") != std::string_view::npos;
    };
    const std::string where =
        fmt::format("{}{}", o.name.empty() ? std::string() : o.name + " at ", redact_url(r.url));
    for (const auto& h : r.headers) {
        if (has_break(h.name) || has_break(h.value) || h.name.empty() ||
            h.name.find(':') != std::string::npos) {
            return make_error(
                Errc::invalid,
                fmt::format(
                    "{}: refusing to send a malformed header ('{}'); header names and values "
                    "cannot contain ':' (names) or line breaks",
                    where, has_break(h.name) ? std::string("?") : h.name));
        }
    }
    for (const auto& h : o.headers) {
        if (has_break(h.name) || has_break(h.value) || h.name.empty() ||
            h.name.find(':') != std::string::npos) {
            return make_error(
                Errc::invalid,
                fmt::format(
                    "{}: refusing to send a malformed configured header ('{}'); header names "
                    "and values cannot contain ':' (names) or line breaks",
                    where, has_break(h.name) ? std::string("?") : h.name));
        }
    }
    if (o.basic_auth && (has_break(o.basic_auth->username) || has_break(o.basic_auth->password) ||
                         o.basic_auth->username.find(':') != std::string::npos)) {
        return make_error(
            Errc::invalid,
            fmt::format("{}: the basic-auth username contains ':' or a line break, or "
                        "the password a line break; check basic-auth",
                        where));
    }
    if (!o.proxy_url.empty() && !proxy_scheme_supported(o.proxy_url)) {
        return make_error(Errc::invalid,
                          fmt::format("{}: proxy-url '{}' is not supported; use an http://, "
                                      "https:// or socks5:// URL",
                                      where, redact_url(o.proxy_url)));
    }
    if (has_break(o.bearer_token) || (r.bearer_token && has_break(*r.bearer_token))) {
        return make_error(Errc::invalid,
                          fmt::format("{}: the bearer token contains a line break; check the token "
                                      "source (token-env or token-file)",
                                      where));
    }
    return std::nullopt;
}

std::mutex g_warning_mutex;
std::function<void(std::string_view)> g_warning_sink = [](std::string_view line) {
    fmt::print(stderr, "oncall: {}\n", line);
};
std::set<std::string> g_warned_hosts;

// Warns (once per host) when a credential is about to go over http:// to a host off loopback.
void warn_cleartext_once(const std::string& url) {
    const auto warning = cleartext_credential_warning(url);
    if (!warning) {
        return;
    }
    const std::lock_guard<std::mutex> lock(g_warning_mutex);
    const auto authority_end = url.find_first_of("/?#", url.find("://") + 3);
    const std::string origin = redact_url(url.substr(0, authority_end));
    if (g_warning_sink && g_warned_hosts.insert(origin).second) {
        g_warning_sink(*warning);
    }
}

// Sets every option of one attempt on `easy` and logs the request.
void configure(EasyHandle& easy, Transfer& t, int attempt) {
    const ClientState& state = *t.state;
    const ClientOptions& o = state.options;
    const Request& r = *t.request;
    t.easy = easy.get();
    t.redacted_url = redact_url(r.url);
    t.timeout = r.timeout.count() > 0 ? r.timeout : o.total_timeout;
    if (attempt == 1) {
        t.first_started = SteadyClock::now();
    }
    if (o.retry.budget.count() > 0) {
        const auto used = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() -
                                                                                t.first_started);
        t.timeout = std::clamp(o.retry.budget - used, std::chrono::milliseconds(1), t.timeout);
    }
    easy.clear_error();

    std::optional<ServerNameRoute> route;
    if (!o.tls.server_name.empty() && starts_with_nocase(r.url, "https://")) {
        route = route_for_server_name(r.url, o.tls.server_name);
    }
    if (route) {
        easy.set(CURLOPT_URL, route->url.c_str());
        HeaderList connect_to;
        connect_to.append(route->connect_to);
        easy.set_connect_to(std::move(connect_to));
    } else {
        easy.set(CURLOPT_URL, r.url.c_str());
    }
    if (!o.proxy_url.empty()) {
        const std::string proxy = curl_proxy(o.proxy_url);
        easy.set(CURLOPT_PROXY, proxy.c_str());
        easy.set(CURLOPT_NOPROXY, ""); // the configured proxy applies to every host, as in kubectl
    }
    easy.set(CURLOPT_NOSIGNAL, 1L);
    easy.set(CURLOPT_SHARE, state.share.get());
    easy.set(CURLOPT_PROTOCOLS_STR, "http,https");
    easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    easy.set(CURLOPT_FOLLOWLOCATION, o.follow_redirects ? 1L : 0L);
    easy.set(CURLOPT_MAXREDIRS, 5L);
    easy.set(CURLOPT_UNRESTRICTED_AUTH, 0L);
    easy.set(CURLOPT_CONNECTTIMEOUT_MS,
             static_cast<long>(std::max<long long>(1, o.connect_timeout.count())));
    easy.set(CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long long>(1, t.timeout.count())));
    configure_tls(easy, o.tls);
    const std::string user_agent =
        o.user_agent.empty() ? fmt::format("oncall/{}", version()) : o.user_agent;
    easy.set(CURLOPT_USERAGENT, user_agent.c_str()); // curl copies option strings
    if (o.accept_compressed) {
        easy.set(CURLOPT_ACCEPT_ENCODING, ""); // every encoding curl can decode
    }
    if (t.on_data == nullptr) {
        // Refuse early when Content-Length already says too much; the write callback enforces the
        // rest.
        easy.set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o.max_body_bytes));
    }

    switch (r.method) {
    case Method::get:
        easy.set(CURLOPT_HTTPGET, 1L);
        break;
    case Method::head:
        easy.set(CURLOPT_NOBODY, 1L);
        break;
    case Method::post:
        easy.set(CURLOPT_POST, 1L);
        break;
    case Method::put:
    case Method::patch:
    case Method::del:
        easy.set(CURLOPT_CUSTOMREQUEST, method_name(r.method));
        break;
    }
    if (r.method != Method::get && r.method != Method::head &&
        (r.method != Method::del || !r.body.empty())) {
        easy.set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
        easy.set(CURLOPT_POSTFIELDS, r.body.c_str());
    }

    HeaderList headers;
    std::vector<std::string> logged;
    if (route && !has_header(r, "Host")) {
        headers.append("Host: " + route->host_header);
    }
    for (const auto& h : r.headers) {
        headers.append(fmt::format("{}: {}", h.name, h.value));
        logged.push_back(redact_header(h.name, h.value));
    }
    for (const auto& h : o.headers) {
        if (!has_header(r, h.name)) {
            headers.append(fmt::format("{}: {}", h.name, h.value));
            logged.push_back(redact_header(h.name, h.value));
        }
    }
    const bool own_authorization = r.bearer_token.has_value() || has_header(r, "Authorization");
    const std::string& token = r.bearer_token ? *r.bearer_token : o.bearer_token;
    const bool sends_basic = o.basic_auth && !own_authorization;
    if (sends_basic) {
        // libcurl builds the header, and drops it when a followed redirect changes the host.
        easy.set(CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
        easy.set(CURLOPT_USERNAME, o.basic_auth->username.c_str());
        easy.set(CURLOPT_PASSWORD, o.basic_auth->password.c_str());
        logged.push_back(
            fmt::format("Authorization: Basic <redacted> (user '{}')", o.basic_auth->username));
    } else {
        if (!token.empty() && !has_header(r, "Authorization")) {
            headers.append("Authorization: Bearer " + token);
            logged.push_back(redact_header("Authorization", "Bearer " + token));
        }
    }
    const auto authority_end = r.url.find_first_of("/?#", r.url.find("://") + 3);
    if (sends_basic || !token.empty() || has_header(r, "Authorization") ||
        has_header(r, "Proxy-Authorization") ||
        r.url.substr(0, authority_end).find('@') != std::string::npos) {
        warn_cleartext_once(r.url);
    }
    headers.append("Expect:"); // no 100-continue round trip for large bodies
    easy.set_headers(std::move(headers));

    easy.set(CURLOPT_WRITEFUNCTION, &on_body);
    easy.set(CURLOPT_WRITEDATA, &t);
    easy.set(CURLOPT_HEADERFUNCTION, &on_header);
    easy.set(CURLOPT_HEADERDATA, &t);
    easy.set(CURLOPT_PRIVATE, &t);

    t.started = SteadyClock::now();
    if (o.log) {
        const int max_attempts = std::max(1, o.retry.max_attempts);
        std::string line = fmt::format("> {} {}", method_name(r.method), t.redacted_url);
        if (attempt > 1) {
            line += fmt::format(" (attempt {} of {})", attempt, max_attempts);
        }
        log_line(state, &t, line);
        for (const auto& h : logged) {
            log_line(state, &t, "> " + h);
        }
    }
}

bool has_http_scheme(std::string_view url) {
    auto starts = [&](std::string_view prefix) {
        return url.size() >= prefix.size() &&
               std::equal(prefix.begin(), prefix.end(), url.begin(), [](char a, char b) {
                   return a == std::tolower(static_cast<unsigned char>(b));
               });
    };
    return starts("http://") || starts("https://");
}

std::string seconds_text(std::chrono::milliseconds d) {
    return format_duration(d);
}

// Turns the outcome of a finished attempt into a Response or a classified Error.
Result<Response> finish(Transfer& t, CURLcode code, const char* curl_message) {
    const std::string where = t.describe();
    const auto secrets = t.secrets();
    const std::string detail = (curl_message != nullptr && *curl_message != '\0')
                                   ? curl_message
                                   : curl_easy_strerror(code);
    auto fail = [&](Errc errc, const std::string& what, bool retryable) {
        return Result<Response>(
            make_error(errc, scrub(fmt::format("{}: {}", where, what), secrets), 0, retryable));
    };
    const std::size_t cap = t.state->options.max_body_bytes;

    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && t.stopped_by_caller)) {
        Response response = std::move(t.response);
        long status = 0;
        curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
        response.status = status;
        char* effective = nullptr;
        curl_easy_getinfo(t.easy, CURLINFO_EFFECTIVE_URL, &effective);
        const bool rewritten = !t.state->options.tls.server_name.empty();
        response.url =
            (effective != nullptr && !rewritten) ? redact_url(effective) : t.redacted_url;
        response.elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t.started);
        const bool sent_own =
            t.request->bearer_token.has_value() || has_header(*t.request, "Authorization");
        response.credential_source =
            sent_own ? std::string("a per-request credential") : t.state->options.credential_source;
        return response;
    }
    if (t.body_too_large || code == CURLE_FILESIZE_EXCEEDED) {
        return fail(
            Errc::too_large,
            fmt::format(
                "response body is larger than the {} limit; narrow the request (shorter range, "
                "fewer series) or check that the URL points at the API",
                format_bytes(cap)),
            false);
    }
    if (t.headers_too_large) {
        return fail(
            Errc::too_large,
            fmt::format("response headers are larger than the {} limit; the server or a proxy in "
                        "front of it is misbehaving",
                        format_bytes(k_max_header_bytes)),
            false);
    }
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return fail(
            Errc::dns,
            fmt::format("could not resolve the host name ({}); check the URL in the configuration "
                        "and your DNS",
                        detail),
            false);
    case CURLE_COULDNT_RESOLVE_PROXY:
        return fail(Errc::dns,
                    fmt::format("could not resolve the proxy ({}); check {}", detail,
                                t.state->options.proxy_url.empty() ? "http_proxy/https_proxy"
                                                                   : "proxy-url"),
                    false);
    case CURLE_COULDNT_CONNECT:
        if (const auto& proxy = t.state->options.proxy_url; !proxy.empty()) {
            return fail(Errc::connect,
                        fmt::format("could not connect to the proxy {} ({}); check that it is "
                                    "running (an ssh -D tunnel, say) and the proxy-url is right",
                                    redact_url(proxy), detail),
                        true);
        }
        return fail(
            Errc::connect,
            fmt::format(
                "could not connect ({}); check that the server is running and the URL is right",
                detail),
            true);
    case CURLE_PROXY:
        return fail(Errc::connect,
                    fmt::format("the proxy {} could not reach the server ({})",
                                t.state->options.proxy_url.empty()
                                    ? std::string("of http_proxy/https_proxy")
                                    : redact_url(t.state->options.proxy_url),
                                detail),
                    true);
    case CURLE_OPERATION_TIMEDOUT: {
        // Nothing sent yet means the connection (or the TLS handshake) never completed.
        long request_bytes = 0;
        curl_easy_getinfo(t.easy, CURLINFO_REQUEST_SIZE, &request_bytes);
        if (request_bytes == 0) {
            return fail(Errc::timeout,
                        fmt::format("no connection within {}; check that the server is reachable",
                                    seconds_text(t.state->options.connect_timeout)),
                        true);
        }
        return fail(
            Errc::timeout,
            fmt::format(
                "timed out after {}; the server is slow or stuck, try again or raise the timeout",
                seconds_text(t.timeout)),
            true);
    }
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        return fail(
            Errc::connect,
            fmt::format(
                "the connection was closed or reset before a complete response ({}); try again",
                detail),
            true);
    case CURLE_PARTIAL_FILE:
        return fail(Errc::bad_response,
                    fmt::format("the response body was cut short after {} bytes ({}); try again",
                                t.response.body.size(), detail),
                    false);
    case CURLE_UNSUPPORTED_PROTOCOL:
        if (!has_http_scheme(t.request->url)) {
            return fail(Errc::invalid,
                        fmt::format("unsupported URL scheme ({}); use http:// or https://", detail),
                        false);
        }
        // An http(s) URL: the server answered something that is not HTTP/1.x (curl refuses
        // HTTP/0.9).
        return fail(Errc::bad_response,
                    fmt::format("the server's reply is not valid HTTP ({})", detail), false);
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        return fail(Errc::bad_response,
                    fmt::format("the server's reply is not valid HTTP ({})", detail), false);
    case CURLE_URL_MALFORMAT:
        return fail(Errc::invalid,
                    fmt::format("malformed URL ({}); check it in the configuration", detail),
                    false);
    case CURLE_SSL_CERTPROBLEM:
        return fail(
            Errc::tls,
            fmt::format(
                "cannot use the client certificate or its key ({}); check that the certificate "
                "and key files (or data) are PEM and belong together",
                detail),
            false);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return fail(
            Errc::tls,
            fmt::format(
                "TLS failed ({}); set ca-file to the CA that signed the server's certificate, and "
                "check the host name in the URL matches the certificate",
                detail),
            false);
    case CURLE_SSL_CACERT_BADFILE:
        if (!t.state->options.tls.ca_pem.empty()) {
            return fail(
                Errc::tls,
                fmt::format(
                    "cannot use the CA certificate data ({}); check that it is a PEM bundle",
                    detail),
                false);
        }
        return fail(
            Errc::tls,
            fmt::format("cannot use the CA file '{}' ({}); check ca-file in the configuration",
                        t.state->options.tls.ca_file, detail),
            false);
    case CURLE_TOO_MANY_REDIRECTS:
        return fail(Errc::bad_response, fmt::format("too many redirects ({})", detail), false);
    case CURLE_WRITE_ERROR:
        return fail(Errc::internal, fmt::format("could not store the response ({})", detail),
                    false);
    default:
        return fail(Errc::unavailable, fmt::format("request failed ({})", detail), false);
    }
}

bool transient_status(long status) {
    return status == 408 || status == 429 ||
           (status >= 500 && status <= 599 && status != 501 && status != 505);
}

thread_local std::mt19937_64 t_rng{std::random_device{}()};

std::optional<std::chrono::milliseconds> retry_delay_unbounded(const Result<Response>& result,
                                                               const Transfer& t, int attempt,
                                                               std::string& reason) {
    const ClientState& state = *t.state;
    const RetryPolicy& policy = state.options.retry;
    const Request& r = *t.request;
    const bool failed = !result.ok();
    if (failed ? !result.error().retryable : !transient_status(result->status)) {
        return std::nullopt;
    }
    reason = failed ? std::string(errc_name(result.error().code))
                    : fmt::format("HTTP {}", result->status);
    // A 429/503 with Retry-After was refused before it ran: safe to send again whatever the method.
    const bool refused =
        !failed && refused_before_running(result->status, result->header("Retry-After"));
    if (!is_idempotent(r.method) && !refused) {
        log_line(state, &t,
                 fmt::format("  {} {}: {}; not retried ({} is not idempotent)",
                             method_name(r.method), t.redacted_url, reason, method_name(r.method)));
        return std::nullopt;
    }
    if (attempt >= policy.max_attempts) {
        return std::nullopt;
    }
    if (!failed && policy.honour_retry_after) {
        if (const auto header = result->header("Retry-After")) {
            if (const auto wait = parse_retry_after(*header, std::chrono::system_clock::now())) {
                if (*wait > policy.max_delay) {
                    log_line(
                        state, &t,
                        fmt::format(
                            "  {} {}: {}; server asks to retry after {}, longer than the {} limit: "
                            "giving up",
                            method_name(r.method), t.redacted_url, reason, format_duration(*wait),
                            format_duration(policy.max_delay)));
                    return std::nullopt;
                }
                reason += fmt::format(", Retry-After {}", *header);
                return *wait;
            }
        }
    }
    // Exponential backoff with full jitter: uniform in [0, min(max, base * 2^(attempt-1))].
    long long ceiling = policy.base_delay.count();
    for (int i = 1; i < attempt && ceiling < policy.max_delay.count(); ++i) {
        ceiling *= 2;
    }
    ceiling = std::min<long long>(ceiling, policy.max_delay.count());
    if (ceiling <= 0) {
        return std::chrono::milliseconds(0);
    }
    std::uniform_int_distribution<long long> pick(0, ceiling);
    return std::chrono::milliseconds(pick(t_rng));
}

// Decides whether attempt `attempt` (1-based) is followed by another, and after how long; a retry
// that could not start within the policy's budget is not made.
std::optional<std::chrono::milliseconds>
retry_delay(const Result<Response>& result, const Transfer& t, int attempt, std::string& reason) {
    auto delay = retry_delay_unbounded(result, t, attempt, reason);
    const auto budget = t.state->options.retry.budget;
    if (delay && budget.count() > 0) {
        const auto used = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() -
                                                                                t.first_started);
        if (used + *delay >= budget) {
            log_line(*t.state, &t,
                     fmt::format("  {} {}: {}; not retried (the {} retry budget is spent)",
                                 method_name(t.request->method), t.redacted_url, reason,
                                 format_duration(budget)));
            return std::nullopt;
        }
    }
    return delay;
}

void log_retry(const Transfer& t, const std::string& reason, std::chrono::milliseconds delay,
               int next_attempt) {
    log_line(*t.state, &t,
             fmt::format("  {} {}: {}; retrying in {} (attempt {} of {})",
                         method_name(t.request->method), t.redacted_url, reason,
                         delay.count() == 0 ? std::string("0ms") : format_duration(delay),
                         next_attempt, t.state->options.retry.max_attempts));
}

void log_outcome(const Transfer& t, const Result<Response>& result) {
    if (!t.state->options.log) {
        return;
    }
    if (result.ok()) {
        log_line(*t.state, &t,
                 fmt::format("< {} {} -> {} in {}ms ({} bytes)", method_name(t.request->method),
                             result->url, result->status, result->elapsed.count(),
                             result->body.size()));
    } else {
        log_line(*t.state, &t, fmt::format("< {}", result.error().message));
    }
}

Result<Response> with_attempts(Result<Response> result, int attempts) {
    if (!result.ok() && attempts > 1) {
        Error error = std::move(result).error();
        error.message += fmt::format(" (after {} attempts)", attempts);
        return error;
    }
    return result;
}

void warn_insecure(const ClientOptions& options) {
    const std::string what = options.name.empty() ? std::string("this server") : options.name;
    const std::string warning =
        fmt::format("warning: TLS verification is OFF for {} (insecure-skip-tls-verify): anyone on "
                    "the network path "
                    "can read and change this traffic, including credentials; set ca-file instead",
                    what);
    if (options.log) {
        options.log(warning);
    }
    static std::atomic<bool> s_warned{false};
    if (!s_warned.exchange(true)) {
        std::fprintf(stderr, "oncall: %s\n", warning.c_str());
    }
}

} // namespace

Client::Client(ClientOptions options)
    : m_state(std::make_shared<detail::ClientState>(std::move(options))) {
    if (m_state->options.retry.max_attempts < 1) {
        m_state->options.retry.max_attempts = 1;
    }
    if (m_state->options.tls.insecure_skip_verify) {
        warn_insecure(m_state->options);
    }
}

const ClientOptions& Client::options() const noexcept {
    return m_state->options;
}

Result<Response> Client::perform(const Request& request) const {
    ClientState& state = *m_state;
    if (auto invalid = invalid_request(request, state.options)) {
        return std::move(*invalid);
    }
    SteadyClock::time_point first_started{};
    for (int attempt = 1;; ++attempt) {
        EasyHandle easy = state.acquire();
        Transfer t;
        t.request = &request;
        t.state = &state;
        t.first_started = first_started;
        configure(easy, t, attempt);
        first_started = t.first_started;
        const CURLcode code = curl_easy_perform(easy.get());
        Result<Response> result = finish(t, code, easy.error_text());
        log_outcome(t, result);
        std::string reason;
        const auto delay = retry_delay(result, t, attempt, reason);
        state.release(std::move(easy));
        if (!delay) {
            return with_attempts(std::move(result), attempt);
        }
        log_retry(t, reason, *delay, attempt + 1);
        std::this_thread::sleep_for(*delay);
    }
}

namespace {

// One request of a batch and the client state it is sent with.
struct BatchItem {
    ClientState* state;
    const Request* request;
};

std::vector<Result<Response>> run_batch(const std::vector<BatchItem>& items,
                                        std::size_t max_parallel) {
    max_parallel = std::max<std::size_t>(1, max_parallel);

    struct Pending {
        std::size_t index;
        int attempt;
        SteadyClock::time_point not_before;
        SteadyClock::time_point first_started;
    };
    struct Active {
        std::size_t index = 0;
        int attempt = 1;
        EasyHandle easy;
        Transfer transfer;
    };

    std::vector<std::optional<Result<Response>>> results(items.size());
    std::deque<Pending> queue;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (auto invalid = invalid_request(*items[i].request, items[i].state->options)) {
            results[i] = std::move(*invalid);
        } else {
            queue.push_back(Pending{i, 1, SteadyClock::now(), {}});
        }
    }
    detail::MultiHandle multi;
    std::vector<std::unique_ptr<Active>> active;

    while (!queue.empty() || !active.empty()) {
        const auto now = SteadyClock::now();
        for (auto it = queue.begin(); it != queue.end() && active.size() < max_parallel;) {
            if (it->not_before > now) {
                ++it;
                continue;
            }
            auto slot = std::make_unique<Active>();
            slot->index = it->index;
            slot->attempt = it->attempt;
            slot->transfer.request = items[it->index].request;
            slot->transfer.state = items[it->index].state;
            slot->transfer.first_started = it->first_started;
            configure(slot->easy, slot->transfer, slot->attempt);
            curl_multi_add_handle(multi.get(), slot->easy.get());
            active.push_back(std::move(slot));
            it = queue.erase(it);
        }

        int running = 0;
        curl_multi_perform(multi.get(), &running);
        int left = 0;
        while (CURLMsg* message = curl_multi_info_read(multi.get(), &left)) {
            if (message->msg != CURLMSG_DONE) {
                continue;
            }
            const auto found = std::find_if(active.begin(), active.end(), [&](const auto& a) {
                return a->easy.get() == message->easy_handle;
            });
            if (found == active.end()) {
                continue;
            }
            const CURLcode code = message->data.result;
            Active& done = **found;
            curl_multi_remove_handle(multi.get(), done.easy.get());
            Result<Response> result = finish(done.transfer, code, done.easy.error_text());
            log_outcome(done.transfer, result);
            std::string reason;
            if (const auto delay = retry_delay(result, done.transfer, done.attempt, reason)) {
                log_retry(done.transfer, reason, *delay, done.attempt + 1);
                queue.push_back(Pending{done.index, done.attempt + 1, SteadyClock::now() + *delay,
                                        done.transfer.first_started});
            } else {
                results[done.index] = with_attempts(std::move(result), done.attempt);
            }
            active.erase(found);
        }

        if (queue.empty() && active.empty()) {
            break;
        }
        // Sleep until there is socket activity or the next retry is due.
        auto wait = std::chrono::milliseconds(1000);
        const auto after = SteadyClock::now();
        for (const auto& p : queue) {
            const auto due =
                std::chrono::duration_cast<std::chrono::milliseconds>(p.not_before - after);
            wait = std::min(wait, std::max(due, std::chrono::milliseconds(0)));
        }
        if (wait.count() > 0 || !active.empty()) {
            curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(wait.count()), nullptr);
        }
    }

    std::vector<Result<Response>> out;
    out.reserve(results.size());
    for (auto& r : results) {
        out.push_back(
            r ? std::move(*r)
              : Result<Response>(make_error(Errc::internal, "request was not performed")));
    }
    return out;
}

} // namespace

std::vector<Result<Response>> Client::perform_all(const std::vector<Request>& requests,
                                                  std::size_t max_parallel) const {
    std::vector<BatchItem> items;
    items.reserve(requests.size());
    for (const auto& r : requests) {
        items.push_back(BatchItem{m_state.get(), &r});
    }
    return run_batch(items, max_parallel);
}

std::vector<Result<Response>> perform_all(const std::vector<BoundRequest>& requests,
                                          std::size_t max_parallel) {
    std::vector<BatchItem> items;
    items.reserve(requests.size());
    for (const auto& r : requests) {
        items.push_back(BatchItem{r.client.m_state.get(), &r.request});
    }
    return run_batch(items, max_parallel);
}

Result<Response> Client::stream(const Request& request,
                                const std::function<bool(std::string_view chunk)>& on_data) const {
    ClientState& state = *m_state;
    if (auto invalid = invalid_request(request, state.options)) {
        return std::move(*invalid);
    }
    EasyHandle easy;
    Transfer t;
    t.request = &request;
    t.state = &state;
    t.on_data = &on_data;
    configure(easy, t, 1);
    const CURLcode code = curl_easy_perform(easy.get());
    Result<Response> result = finish(t, code, easy.error_text());
    log_outcome(t, result);
    return result;
}

std::optional<std::string> cleartext_credential_warning(std::string_view url) {
    if (url.size() < 7 || !std::equal(url.begin(), url.begin() + 7, "http://", [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
        return std::nullopt;
    }
    std::string_view authority = url.substr(7, url.substr(7).find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        authority.remove_prefix(at + 1);
    }
    std::string host;
    if (!authority.empty() && authority.front() == '[') {
        host = std::string(authority.substr(1, authority.find(']') - 1));
    } else {
        host = std::string(authority.substr(0, authority.find(':')));
    }
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0) {
        return std::nullopt;
    }
    return fmt::format("warning: a credential is being sent in clear text over http:// to {} "
                       "(anyone on the network path can read it); use https://",
                       redact_url(url.substr(0, url.find_first_of("/?#", 7))));
}

void set_warning_sink(std::function<void(std::string_view)> sink) {
    const std::lock_guard<std::mutex> lock(g_warning_mutex);
    g_warning_sink = std::move(sink);
}

} // namespace oncall::http
