// Fault-injecting proxy over raw sockets (so it can misbehave in ways an HTTP library will not),
// forwarding with libcurl (so an https upstream with a private CA works).

#include "fault_proxy.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <curl/curl.h>
#include <list>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

namespace oncall::test {

namespace {

using SteadyClock = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

template <class T> bool parse_number(std::string_view text, T& out) {
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size();
}

std::string percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            int value = 0;
            if (std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ec ==
                std::errc()) {
                out.push_back(static_cast<char>(value));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
    return out;
}

const char* reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 302:
        return "Found";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

struct ParsedRequest {
    ProxiedRequest record;
    bool close = false;
};

} // namespace

namespace {

// A gzip stream of `size` spaces (a decompression bomb: about 1000:1), made once per size.
const std::string& gzip_of_spaces(std::size_t size) {
    static std::mutex mutex;
    static std::map<std::size_t, std::string> made;
    std::lock_guard lock(mutex);
    auto& out = made[size];
    if (!out.empty() || size == 0) {
        return out;
    }
    z_stream z{};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw std::runtime_error("deflateInit2 failed");
    }
    std::string input(1u << 20u, ' ');
    char buffer[1u << 16u];
    std::size_t left = size;
    int flush = Z_NO_FLUSH;
    do {
        const std::size_t n = std::min(left, input.size());
        left -= n;
        flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
        z.next_in = reinterpret_cast<Bytef*>(input.data());
        z.avail_in = static_cast<uInt>(n);
        do {
            z.next_out = reinterpret_cast<Bytef*>(buffer);
            z.avail_out = sizeof buffer;
            deflate(&z, flush);
            out.append(buffer, sizeof buffer - z.avail_out);
        } while (z.avail_out == 0);
    } while (flush != Z_FINISH);
    deflateEnd(&z);
    return out;
}

} // namespace

std::optional<FaultMode> parse_fault_mode(std::string_view name) {
    static const std::pair<std::string_view, FaultMode> k_modes[] = {
        {"pass", FaultMode::pass},
        {"status", FaultMode::status},
        {"reset", FaultMode::reset},
        {"html_page", FaultMode::html_page},
        {"truncated_json", FaultMode::truncated_json},
        {"oversized", FaultMode::oversized},
        {"slow_loris", FaultMode::slow_loris},
        {"endless_chunked", FaultMode::endless_chunked},
        {"redirect", FaultMode::redirect},
        {"huge_headers", FaultMode::huge_headers},
        {"garbage", FaultMode::garbage},
        {"gzip_bomb", FaultMode::gzip_bomb},
        {"json_bomb", FaultMode::json_bomb},
        {"body", FaultMode::body},
        {"rewrite", FaultMode::rewrite},
    };
    std::string normalized(name);
    std::replace(normalized.begin(), normalized.end(), '-', '_');
    for (const auto& [n, mode] : k_modes) {
        if (n == normalized) {
            return mode;
        }
    }
    return std::nullopt;
}

const char* fault_mode_name(FaultMode mode) {
    switch (mode) {
    case FaultMode::pass:
        return "pass";
    case FaultMode::status:
        return "status";
    case FaultMode::reset:
        return "reset";
    case FaultMode::html_page:
        return "html_page";
    case FaultMode::truncated_json:
        return "truncated_json";
    case FaultMode::oversized:
        return "oversized";
    case FaultMode::slow_loris:
        return "slow_loris";
    case FaultMode::endless_chunked:
        return "endless_chunked";
    case FaultMode::redirect:
        return "redirect";
    case FaultMode::huge_headers:
        return "huge_headers";
    case FaultMode::garbage:
        return "garbage";
    case FaultMode::gzip_bomb:
        return "gzip_bomb";
    case FaultMode::json_bomb:
        return "json_bomb";
    case FaultMode::body:
        return "body";
    case FaultMode::rewrite:
        return "rewrite";
    }
    return "pass";
}

std::string apply_fault_setting(FaultSettings& s, std::string_view key, std::string_view value) {
    auto bad = [&] { return "bad value '" + std::string(value) + "' for " + std::string(key); };
    auto flag = [&](bool& out) {
        if (value == "1" || value == "true" || value == "yes") {
            out = true;
        } else if (value == "0" || value == "false" || value == "no") {
            out = false;
        } else {
            return false;
        }
        return true;
    };
    long long number = 0;
    if (key == "mode") {
        const auto mode = parse_fault_mode(value);
        if (!mode) {
            return bad();
        }
        s.mode = *mode;
    } else if (key == "delay-ms" || key == "delay") {
        if (!parse_number(value, number) || number < 0) {
            return bad();
        }
        s.delay = std::chrono::milliseconds(number);
    } else if (key == "status") {
        if (!parse_number(value, s.status) || s.status < 100 || s.status > 999) {
            return bad();
        }
    } else if (key == "retry-after") {
        s.retry_after = std::string(value);
    } else if (key == "html-status") {
        if (!parse_number(value, s.html_status) || s.html_status < 100 || s.html_status > 999) {
            return bad();
        }
    } else if (key == "oversized-bytes") {
        if (!parse_number(value, s.oversized_bytes)) {
            return bad();
        }
    } else if (key == "oversized-declares-length") {
        if (!flag(s.oversized_declares_length)) {
            return bad();
        }
    } else if (key == "truncated-length-matches") {
        if (!flag(s.truncated_length_matches)) {
            return bad();
        }
    } else if (key == "trickle-ms") {
        if (!parse_number(value, number) || number <= 0) {
            return bad();
        }
        s.trickle_interval = std::chrono::milliseconds(number);
    } else if (key == "redirect") {
        s.redirect_location = std::string(value);
    } else if (key == "path") {
        s.path_prefix = std::string(value);
    } else if (key == "fault-count") {
        if (!parse_number(value, s.fault_count)) {
            return bad();
        }
    } else if (key == "only-method") {
        s.only_method = std::string(value);
    } else if (key == "only-path") {
        s.only_path = std::string(value);
    } else if (key == "gzip-bomb-bytes") {
        if (!parse_number(value, s.gzip_bomb_bytes)) {
            return bad();
        }
    } else if (key == "json-bomb-depth") {
        if (!parse_number(value, s.json_bomb_depth)) {
            return bad();
        }
    } else if (key == "body-status") {
        if (!parse_number(value, s.body_status) || s.body_status < 100 || s.body_status > 999) {
            return bad();
        }
    } else if (key == "body") {
        s.body = std::string(value);
    } else if (key == "body-content-type") {
        s.body_content_type = std::string(value);
    } else {
        return "unknown setting '" + std::string(key) + "'";
    }
    return {};
}

std::string ProxiedRequest::header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
        if (iequals(n, name)) {
            return v;
        }
    }
    return {};
}

struct FaultProxy::Impl {
    Options options;
    int listen_fd = -1;
    std::atomic<bool> stopping{false};
    std::thread acceptor;

    mutable std::mutex mutex;
    FaultSettings settings;
    int faults_done = 0;
    std::vector<ProxiedRequest> requests;
    std::vector<int> open_fds;
    struct Worker {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::list<Worker> workers;

    // --- sockets ---------------------------------------------------------------------------

    bool write_all(int fd, std::string_view data) {
        while (!data.empty()) {
            if (stopping) {
                return false;
            }
            pollfd p{fd, POLLOUT, 0};
            const int ready = ::poll(&p, 1, 100);
            if (ready < 0 && errno != EINTR) {
                return false;
            }
            if (ready <= 0) {
                continue;
            }
            const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                    continue;
                }
                return false;
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads more bytes into `buffer`; false on close, error or stop.
    bool read_more(int fd, std::string& buffer) {
        while (!stopping) {
            pollfd p{fd, POLLIN, 0};
            const int ready = ::poll(&p, 1, 100);
            if (ready < 0 && errno != EINTR) {
                return false;
            }
            if (ready <= 0) {
                continue;
            }
            char chunk[16384];
            const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) {
                return false;
            }
            buffer.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
        return false;
    }

    std::optional<ParsedRequest> read_request(int fd, std::string& buffer) {
        std::size_t end = 0;
        while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
            if (buffer.size() > (64u << 10u) || !read_more(fd, buffer)) {
                return std::nullopt;
            }
        }
        ParsedRequest parsed;
        std::string_view head(buffer.data(), end);
        const std::size_t line_end = head.find("\r\n");
        const std::string_view request_line = head.substr(0, line_end);
        const std::size_t sp1 = request_line.find(' ');
        const std::size_t sp2 = request_line.rfind(' ');
        if (sp1 == std::string_view::npos || sp2 == sp1) {
            return std::nullopt;
        }
        parsed.record.method = std::string(request_line.substr(0, sp1));
        parsed.record.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
        std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            std::size_t next = head.find("\r\n", pos);
            if (next == std::string_view::npos) {
                next = head.size();
            }
            const std::string_view line = head.substr(pos, next - pos);
            const std::size_t colon = line.find(':');
            if (colon != std::string_view::npos) {
                parsed.record.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                                   std::string(trim(line.substr(colon + 1))));
            }
            pos = next + 2;
        }
        parsed.record.started = SteadyClock::now();
        buffer.erase(0, end + 4);
        const std::string length = parsed.record.header("Content-Length");
        if (!parsed.record.header("Transfer-Encoding").empty()) {
            return std::nullopt; // chunked uploads are not supported
        }
        std::size_t body_size = 0;
        if (!length.empty() && !parse_number(std::string_view(length), body_size)) {
            return std::nullopt;
        }
        while (buffer.size() < body_size) {
            if (!read_more(fd, buffer)) {
                return std::nullopt;
            }
        }
        parsed.record.body = buffer.substr(0, body_size);
        buffer.erase(0, body_size);
        parsed.close = iequals(parsed.record.header("Connection"), "close");
        return parsed;
    }

    void close_connection(int fd, bool reset) {
        std::lock_guard lock(mutex);
        if (reset) {
            linger l{1, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        ::close(fd);
        open_fds.erase(std::remove(open_fds.begin(), open_fds.end(), fd), open_fds.end());
    }

    bool pause(std::chrono::milliseconds d) {
        const auto until = SteadyClock::now() + d;
        while (!stopping && SteadyClock::now() < until) {
            std::this_thread::sleep_for(std::min<SteadyClock::duration>(
                until - SteadyClock::now(), std::chrono::milliseconds(20)));
        }
        return !stopping;
    }

    // --- responses -------------------------------------------------------------------------

    static std::string simple_response(int status, std::string_view content_type,
                                       std::string_view body, std::string_view extra_headers = {}) {
        std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
        out += "Content-Type: " + std::string(content_type) + "\r\n";
        out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        out += extra_headers;
        out += "\r\n";
        out += body;
        return out;
    }

    struct Upstream {
        bool ok = false;
        std::string error;
        long status = 0;
        std::string status_line;
        std::vector<std::pair<std::string, std::string>> headers;
        std::string body;
    };

    // State of one forwarded request whose response is streamed to the client.
    struct Forward {
        Impl* impl = nullptr;
        int fd = -1;
        bool head = false;
        bool stream = true; // false: buffer into `upstream`
        Upstream upstream;
        bool headers_sent = false;
        bool chunked = false;
        bool client_gone = false;
    };

    static bool hop_by_hop(std::string_view name) {
        return iequals(name, "Connection") || iequals(name, "Keep-Alive") ||
               iequals(name, "Transfer-Encoding") || iequals(name, "Proxy-Connection") ||
               iequals(name, "Upgrade") || iequals(name, "TE");
    }

    bool send_head(Forward& f) {
        f.headers_sent = true;
        const bool no_body = f.head || f.upstream.status == 204 || f.upstream.status == 304;
        f.chunked = !no_body;
        std::string out =
            f.upstream.status_line.empty()
                ? "HTTP/1.1 " + std::to_string(f.upstream.status) + " " +
                      reason(static_cast<int>(f.upstream.status))
                : "HTTP/1.1" + f.upstream.status_line.substr(f.upstream.status_line.find(' '));
        out += "\r\n";
        for (const auto& [n, v] : f.upstream.headers) {
            if (hop_by_hop(n) || (f.chunked && iequals(n, "Content-Length"))) {
                continue;
            }
            out += n + ": " + v + "\r\n";
        }
        if (f.chunked) {
            out += "Transfer-Encoding: chunked\r\n";
        }
        out += "\r\n";
        return write_all(f.fd, out);
    }

    static size_t on_upstream_header(char* data, size_t size, size_t count, void* user) {
        auto& f = *static_cast<Forward*>(user);
        const std::size_t len = size * count;
        const std::string_view line = trim(std::string_view(data, len));
        if (line.substr(0, 5) == "HTTP/") {
            f.upstream.status_line = std::string(line);
            f.upstream.headers.clear();
            const std::size_t sp = line.find(' ');
            long status = 0;
            if (sp != std::string_view::npos) {
                parse_number(line.substr(sp + 1, 3), status);
            }
            f.upstream.status = status;
        } else if (line.empty()) {
            if (f.upstream.status >= 200 && f.stream && !f.headers_sent) {
                if (!f.impl->send_head(f)) {
                    f.client_gone = true;
                    return 0;
                }
            }
        } else if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
            f.upstream.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                            std::string(trim(line.substr(colon + 1))));
        }
        return len;
    }

    static size_t on_upstream_body(char* data, size_t size, size_t count, void* user) {
        auto& f = *static_cast<Forward*>(user);
        const std::size_t len = size * count;
        if (!f.stream) {
            f.upstream.body.append(data, len);
            return len;
        }
        if (!f.headers_sent && !f.impl->send_head(f)) {
            f.client_gone = true;
            return 0;
        }
        if (len == 0) {
            return 0;
        }
        char size_line[32];
        const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
        if (!f.impl->write_all(f.fd, std::string_view(size_line, static_cast<std::size_t>(n))) ||
            !f.impl->write_all(f.fd, std::string_view(data, len)) ||
            !f.impl->write_all(f.fd, "\r\n")) {
            f.client_gone = true;
            return 0;
        }
        return len;
    }

    static int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        const auto& f = *static_cast<Forward*>(user);
        return (f.impl->stopping || f.client_gone) ? 1 : 0;
    }

    // Sends the request upstream; streams the answer to fd (stream) or buffers it.
    void forward(Forward& f, const ProxiedRequest& request) {
        CURL* easy = curl_easy_init();
        if (easy == nullptr) {
            f.upstream.error = "curl_easy_init failed";
            return;
        }
        std::string base = options.upstream;
        while (!base.empty() && base.back() == '/') {
            base.pop_back();
        }
        // An absolute target ("GET http://host/path"): the client uses us as its HTTP proxy.
        const bool absolute =
            request.target.rfind("http://", 0) == 0 || request.target.rfind("https://", 0) == 0;
        const std::string url = absolute ? request.target : base + request.target;
        curl_slist* headers = nullptr;
        for (const auto& [n, v] : request.headers) {
            if (iequals(n, "Host") || iequals(n, "Content-Length") || iequals(n, "Expect") ||
                hop_by_hop(n)) {
                continue;
            }
            headers = curl_slist_append(headers, (n + ": " + v).c_str());
        }
        headers = curl_slist_append(headers, "Expect:");
        char error[CURL_ERROR_SIZE] = {0};
        curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
        curl_easy_setopt(easy, CURLOPT_PROXY, ""); // talk to the upstream directly
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                         static_cast<long>(options.upstream_timeout.count()));
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        if (!options.ca_file.empty()) {
            curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
        }
        if (options.insecure) {
            curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (request.method == "HEAD") {
            curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        } else if (request.method != "GET") {
            curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
            curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(request.body.size()));
            curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
        }
        curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_upstream_header);
        curl_easy_setopt(easy, CURLOPT_HEADERDATA, &f);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_upstream_body);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, &f);
        curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &on_progress);
        curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &f);
        const CURLcode code = curl_easy_perform(easy);
        f.upstream.ok = code == CURLE_OK;
        if (!f.upstream.ok) {
            f.upstream.error = error[0] != '\0' ? error : curl_easy_strerror(code);
        }
        curl_slist_free_all(headers);
        curl_easy_cleanup(easy);
    }

    // Handles one request in `mode`; false when the connection must be closed.
    bool respond(int fd, const ProxiedRequest& request, FaultMode mode, const FaultSettings& s,
                 bool& reset) {
        switch (mode) {
        case FaultMode::pass: {
            Forward f;
            f.impl = this;
            f.fd = fd;
            f.head = request.method == "HEAD";
            forward(f, request);
            if (!f.headers_sent) {
                if (f.client_gone) {
                    return false;
                }
                if (!f.upstream.ok) {
                    write_all(fd, simple_response(
                                      502, "text/plain",
                                      "fault-proxy: upstream failed: " + f.upstream.error + "\n",
                                      "Connection: close\r\n"));
                    return false;
                }
                if (!send_head(f)) {
                    return false;
                }
            }
            if (!f.upstream.ok || f.client_gone) {
                return false; // cut mid-body: the client sees a truncated response
            }
            return !f.chunked || write_all(fd, "0\r\n\r\n");
        }
        case FaultMode::status: {
            std::string extra;
            if (!s.retry_after.empty()) {
                extra = "Retry-After: " + s.retry_after + "\r\n";
            }
            return write_all(
                fd, simple_response(s.status, "text/plain",
                                    "fault-proxy: injected HTTP " + std::to_string(s.status) + "\n",
                                    extra));
        }
        case FaultMode::reset:
            reset = true;
            return false;
        case FaultMode::html_page: {
            const std::string body = "<!DOCTYPE html>\n<html><head><title>502 Bad "
                                     "Gateway</title></head>\n<body><h1>Bad Gateway</h1>"
                                     "<p>The upstream server did not "
                                     "respond.</p><hr><address>nginx</address></body></html>\n";
            return write_all(fd, simple_response(s.html_status, "text/html; charset=utf-8", body));
        }
        case FaultMode::truncated_json: {
            Forward f;
            f.impl = this;
            f.fd = fd;
            f.stream = false;
            forward(f, request);
            std::string body = f.upstream.body;
            if (!f.upstream.ok || body.size() < 2) {
                body =
                    R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up",)"
                    R"("job":"fault-proxy"},"value":[1764115200,"1"]}]}})";
            }
            const std::size_t cut = body.size() / 2;
            const std::size_t declared = s.truncated_length_matches ? cut : body.size();
            std::string out =
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(declared) + "\r\nConnection: close\r\n\r\n";
            out.append(body, 0, cut);
            write_all(fd, out);
            return false;
        }
        case FaultMode::oversized: {
            std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
            head += s.oversized_declares_length
                        ? "Content-Length: " + std::to_string(s.oversized_bytes) + "\r\n"
                        : std::string("Transfer-Encoding: chunked\r\n");
            head += "Connection: close\r\n\r\n";
            if (!write_all(fd, head)) {
                return false;
            }
            std::string block(64u << 10u, ' ');
            for (std::size_t i = 0; i + 2 <= block.size(); i += 2) {
                block[i] = '0';
                block[i + 1] = ',';
            }
            std::size_t sent = 0;
            while (sent < s.oversized_bytes) {
                std::string piece =
                    block.substr(0, std::min(block.size(), s.oversized_bytes - sent));
                if (sent == 0) {
                    piece[0] = '[';
                }
                bool ok = true;
                if (s.oversized_declares_length) {
                    ok = write_all(fd, piece);
                } else {
                    char size_line[32];
                    const int n =
                        std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
                    ok = write_all(fd, std::string_view(size_line, static_cast<std::size_t>(n))) &&
                         write_all(fd, piece) && write_all(fd, "\r\n");
                }
                if (!ok) {
                    return false;
                }
                sent += piece.size();
            }
            if (!s.oversized_declares_length) {
                write_all(fd, "0\r\n\r\n");
            }
            return false;
        }
        case FaultMode::slow_loris: {
            const std::string response = simple_response(
                200, "application/json",
                R"({"status":"success","data":{"resultType":"vector","result":[]}})");
            for (const char c : response) {
                if (!write_all(fd, std::string_view(&c, 1)) || !pause(s.trickle_interval)) {
                    return false;
                }
            }
            return false;
        }
        case FaultMode::endless_chunked: {
            if (!write_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: "
                               "application/json\r\nTransfer-Encoding: chunked\r\n\r\n")) {
                return false;
            }
            std::string chunk;
            for (int i = 0; i < 100; ++i) {
                chunk +=
                    R"({"type":"ADDED","object":{"kind":"Event","metadata":{"name":"endless"}}})"
                    "\n";
            }
            char size_line[32];
            const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
            const std::string framed =
                std::string(size_line, static_cast<std::size_t>(n)) + chunk + "\r\n";
            while (write_all(fd, framed)) {
                if (!pause(std::chrono::milliseconds(1))) {
                    break;
                }
            }
            return false;
        }
        case FaultMode::redirect:
            return write_all(fd, simple_response(302, "text/plain", "moved\n",
                                                 "Location: " + s.redirect_location + "\r\n"));
        case FaultMode::huge_headers: {
            std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
            const std::string padding(1000, 'x');
            for (int i = 0; i < 1100; ++i) {
                out += "X-Padding-" + std::to_string(i) + ": " + padding + "\r\n";
            }
            out += "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
            write_all(fd, out);
            return false;
        }
        case FaultMode::garbage: {
            static const char k_garbage[] =
                "\x16\x03\x01 this is not HTTP \x00\xff\xfe garbage\r\n\r\n";
            write_all(fd, std::string_view(k_garbage, sizeof k_garbage - 1));
        }
            return false;
        case FaultMode::gzip_bomb: {
            const std::string& bomb = gzip_of_spaces(s.gzip_bomb_bytes);
            write_all(fd,
                      simple_response(200, "application/json", bomb, "Content-Encoding: gzip\r\n"));
            return false;
        }
        case FaultMode::json_bomb: {
            std::string body(s.json_bomb_depth, '[');
            body.append(s.json_bomb_depth, ']');
            write_all(fd, simple_response(200, "application/json", body));
            return false;
        }
        case FaultMode::body:
            return write_all(fd, simple_response(s.body_status, s.body_content_type, s.body));
        case FaultMode::rewrite: {
            Forward f;
            f.impl = this;
            f.fd = fd;
            f.stream = false;
            forward(f, request);
            if (!f.upstream.ok) {
                write_all(
                    fd, simple_response(502, "text/plain",
                                        "fault-proxy: upstream failed: " + f.upstream.error + "\n",
                                        "Connection: close\r\n"));
                return false;
            }
            std::string content_type = "application/json";
            for (const auto& [n, v] : f.upstream.headers) {
                if (iequals(n, "Content-Type")) {
                    content_type = v;
                }
            }
            const std::string body = s.rewrite
                                         ? s.rewrite(request, f.upstream.status, f.upstream.body)
                                         : f.upstream.body;
            return write_all(
                fd, simple_response(static_cast<int>(f.upstream.status), content_type, body));
        }
        }
        return false;
    }

    bool handle_control(int fd, const ProxiedRequest& request) {
        const std::size_t q = request.target.find('?');
        FaultSettings next;
        {
            std::lock_guard lock(mutex);
            next = settings;
        }
        std::string error;
        if (q != std::string::npos) {
            std::string_view query(request.target);
            query.remove_prefix(q + 1);
            while (!query.empty() && error.empty()) {
                const std::size_t amp = query.find('&');
                const std::string_view pair = query.substr(0, amp);
                const std::size_t eq = pair.find('=');
                error = apply_fault_setting(
                    next, percent_decode(pair.substr(0, eq)),
                    eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1)));
                query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
            }
        }
        if (!error.empty()) {
            return write_all(fd, simple_response(400, "text/plain", error + "\n"));
        }
        {
            std::lock_guard lock(mutex);
            settings = next;
            faults_done = 0;
        }
        return write_all(
            fd, simple_response(200, "text/plain", std::string(fault_mode_name(next.mode)) + "\n"));
    }

    // Connects to host:port on the loopback interface only (tests send no traffic elsewhere).
    static int connect_loopback(const std::string& host, int port) {
        if (host != "127.0.0.1" && host != "localhost") {
            return -1;
        }
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
            return fd;
        }
        if (fd >= 0) {
            ::close(fd);
        }
        return -1;
    }

    // Reads until `buffer` holds at least n bytes.
    bool read_at_least(int fd, std::string& buffer, std::size_t n) {
        while (buffer.size() < n) {
            if (!read_more(fd, buffer)) {
                return false;
            }
        }
        return true;
    }

    // Copies bytes both ways until either side closes.
    void relay(int a, int b, std::string pending) {
        if (!pending.empty() && !write_all(b, pending)) {
            return;
        }
        while (!stopping) {
            pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
            const int ready = ::poll(p, 2, 100);
            if (ready < 0 && errno != EINTR) {
                return;
            }
            for (int i = 0; i < 2 && ready > 0; ++i) {
                if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                    continue;
                }
                char chunk[16384];
                const ssize_t n = ::recv(p[i].fd, chunk, sizeof chunk, 0);
                if (n <= 0 || !write_all(i == 0 ? b : a,
                                         std::string_view(chunk, static_cast<std::size_t>(n)))) {
                    return;
                }
            }
        }
    }

    // A SOCKS5 client (RFC 1928: no authentication, CONNECT to an IPv4 address or a name): the
    // request is recorded as method "SOCKS5", target "host:port", then the bytes are relayed.
    void serve_socks5(int fd, std::string buffer) {
        auto refuse = [&](char code) {
            write_all(fd, std::string("\x05") + code + std::string("\x00\x01\0\0\0\0\0\0", 8));
        };
        if (!read_at_least(fd, buffer, 2) ||
            !read_at_least(fd, buffer, 2 + static_cast<unsigned char>(buffer[1]))) {
            return;
        }
        const std::string methods = buffer.substr(2, static_cast<unsigned char>(buffer[1]));
        buffer.erase(0, 2 + methods.size());
        if (methods.find('\0') == std::string::npos) {
            write_all(fd, "\x05\xff"); // no acceptable method
            return;
        }
        if (!write_all(fd, std::string("\x05\0", 2)) || !read_at_least(fd, buffer, 5)) {
            return;
        }
        const auto command = static_cast<unsigned char>(buffer[1]);
        const auto type = static_cast<unsigned char>(buffer[3]);
        std::string host;
        std::size_t at = 4;
        if (type == 1) {
            if (!read_at_least(fd, buffer, at + 4 + 2)) {
                return;
            }
            host = std::to_string(static_cast<unsigned char>(buffer[at])) + "." +
                   std::to_string(static_cast<unsigned char>(buffer[at + 1])) + "." +
                   std::to_string(static_cast<unsigned char>(buffer[at + 2])) + "." +
                   std::to_string(static_cast<unsigned char>(buffer[at + 3]));
            at += 4;
        } else if (type == 3) {
            const std::size_t len = static_cast<unsigned char>(buffer[at]);
            if (!read_at_least(fd, buffer, at + 1 + len + 2)) {
                return;
            }
            host = buffer.substr(at + 1, len);
            at += 1 + len;
        } else {
            refuse('\x08'); // address type not supported
            return;
        }
        const int port = (static_cast<unsigned char>(buffer[at]) << 8) |
                         static_cast<unsigned char>(buffer[at + 1]);
        buffer.erase(0, at + 2);
        ProxiedRequest record;
        record.method = "SOCKS5";
        record.target = host + ":" + std::to_string(port);
        record.started = SteadyClock::now();
        {
            std::lock_guard lock(mutex);
            requests.push_back(record);
        }
        if (command != 1) {
            refuse('\x07'); // command not supported
            return;
        }
        const int upstream = connect_loopback(host, port);
        if (upstream < 0) {
            refuse('\x05'); // connection refused
            return;
        }
        if (write_all(fd, std::string("\x05\0\0\x01\0\0\0\0\0\0", 10))) {
            relay(fd, upstream, std::move(buffer));
        }
        ::close(upstream);
    }

    void serve(int fd) {
        std::string buffer;
        bool reset = false;
        if (read_more(fd, buffer) && buffer[0] == '\x05') {
            serve_socks5(fd, std::move(buffer));
            close_connection(fd, false);
            return;
        }
        while (!stopping) {
            auto parsed = read_request(fd, buffer);
            if (!parsed) {
                break;
            }
            if (parsed->record.target.rfind("/__fault-proxy/set", 0) == 0) {
                if (!handle_control(fd, parsed->record) || parsed->close) {
                    break;
                }
                continue;
            }
            FaultSettings s;
            FaultMode mode = FaultMode::pass;
            {
                std::lock_guard lock(mutex);
                s = settings;
                const bool selected =
                    (s.only_method.empty() || s.only_method == parsed->record.method) &&
                    (s.only_path.empty() ||
                     parsed->record.target.find(s.only_path) != std::string::npos) &&
                    (s.path_prefix.empty() || parsed->record.target.rfind(s.path_prefix, 0) == 0);
                if (s.mode != FaultMode::pass && selected &&
                    (s.fault_count < 0 || faults_done < s.fault_count)) {
                    mode = s.mode;
                    ++faults_done;
                }
                parsed->record.applied = mode;
                requests.push_back(parsed->record);
            }
            if (s.delay.count() > 0 && !pause(s.delay)) {
                break;
            }
            if (!respond(fd, parsed->record, mode, s, reset) || parsed->close) {
                break;
            }
        }
        close_connection(fd, reset);
    }

    void accept_loop() {
        while (!stopping) {
            pollfd p{listen_fd, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) {
                continue;
            }
            const int fd = ::accept(listen_fd, nullptr, nullptr);
            if (fd < 0) {
                continue;
            }
            const int one = 1; // headers and body go out in separate writes: no Nagle delays
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            std::lock_guard lock(mutex);
            for (auto it = workers.begin(); it != workers.end();) {
                if (*it->done) {
                    it->thread.join();
                    it = workers.erase(it);
                } else {
                    ++it;
                }
            }
            open_fds.push_back(fd);
            auto done = std::make_shared<std::atomic<bool>>(false);
            workers.push_back(Worker{std::thread([this, fd, done] {
                                         serve(fd);
                                         *done = true;
                                     }),
                                     done});
        }
    }
};

FaultProxy::FaultProxy(Options options) : m_impl(std::make_unique<Impl>()) {
    m_impl->options = std::move(options);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("fault-proxy: socket() failed");
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(m_impl->options.port));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd, 128) != 0) {
        ::close(fd);
        throw std::runtime_error(
            "fault-proxy: cannot listen on 127.0.0.1:" + std::to_string(m_impl->options.port) +
            ": " + std::strerror(errno));
    }
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    m_port = ntohs(address.sin_port);
    m_impl->listen_fd = fd;
    m_impl->acceptor = std::thread([impl = m_impl.get()] { impl->accept_loop(); });
}

FaultProxy::~FaultProxy() {
    m_impl->stopping = true;
    if (m_impl->acceptor.joinable()) {
        m_impl->acceptor.join();
    }
    ::close(m_impl->listen_fd);
    std::list<Impl::Worker> workers;
    {
        std::lock_guard lock(m_impl->mutex);
        for (const int fd : m_impl->open_fds) {
            ::shutdown(fd, SHUT_RDWR);
        }
        workers.swap(m_impl->workers);
    }
    for (auto& w : workers) {
        w.thread.join();
    }
}

void FaultProxy::set(const FaultSettings& settings) {
    std::lock_guard lock(m_impl->mutex);
    m_impl->settings = settings;
    m_impl->faults_done = 0;
}

FaultSettings FaultProxy::settings() const {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->settings;
}

std::string FaultProxy::url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + std::string(path);
}

std::string FaultProxy::socks5_url() const {
    return "socks5://127.0.0.1:" + std::to_string(m_port);
}

std::size_t FaultProxy::request_count() const {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->requests.size();
}

std::vector<ProxiedRequest> FaultProxy::requests() const {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->requests;
}

void FaultProxy::clear_requests() {
    std::lock_guard lock(m_impl->mutex);
    m_impl->requests.clear();
}

} // namespace oncall::test
