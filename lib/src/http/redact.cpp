// Redaction of URLs and headers, URL encoding, and the small value helpers of client.h.

#include "oncall/http/client.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <curl/curl.h>
#include <fmt/format.h>

namespace oncall::http {

namespace {

constexpr std::string_view k_redacted = "<redacted>";

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
    return out;
}

// Query parameter names whose values are credentials.
bool is_secret_parameter(std::string_view raw_name) {
    const std::string name = lower(percent_decode(raw_name));
    static constexpr std::array<std::string_view, 8> k_exact = {"sig", "key",  "code", "auth",
                                                                "jwt", "pass", "pwd",  "apikey"};
    static constexpr std::array<std::string_view, 10> k_parts = {
        "token",      "password", "passwd",  "secret",     "signature",
        "credential", "api_key",  "api-key", "access_key", "session"};
    if (std::find(k_exact.begin(), k_exact.end(), name) != k_exact.end()) {
        return true;
    }
    return std::any_of(k_parts.begin(), k_parts.end(),
                       [&](std::string_view part) { return name.find(part) != std::string::npos; });
}

// Redacts the values of secret parameters in "a=1&token=x" (a query or a fragment).
std::string redact_parameters(std::string_view params) {
    std::string out;
    std::size_t start = 0;
    while (start <= params.size()) {
        std::size_t end = params.find('&', start);
        if (end == std::string_view::npos) {
            end = params.size();
        }
        const std::string_view pair = params.substr(start, end - start);
        const std::size_t eq = pair.find('=');
        if (eq != std::string_view::npos && is_secret_parameter(pair.substr(0, eq))) {
            out.append(pair.substr(0, eq + 1));
            out.append(k_redacted);
        } else {
            out.append(pair);
        }
        if (end == params.size()) {
            break;
        }
        out.push_back('&');
        start = end + 1;
    }
    return out;
}

} // namespace

const char* method_name(Method m) noexcept {
    switch (m) {
    case Method::get:
        return "GET";
    case Method::head:
        return "HEAD";
    case Method::post:
        return "POST";
    case Method::put:
        return "PUT";
    case Method::patch:
        return "PATCH";
    case Method::del:
        return "DELETE";
    }
    return "GET";
}

bool is_idempotent(Method m) noexcept {
    return m == Method::get || m == Method::head || m == Method::put || m == Method::del;
}

bool refused_before_running(long status, const std::optional<std::string>& retry_after) {
    return (status == 429 || status == 503) && retry_after &&
           parse_retry_after(*retry_after, std::chrono::system_clock::now()).has_value();
}

std::optional<std::string> Response::header(std::string_view name) const {
    for (const auto& h : headers) {
        if (iequals(h.name, name)) {
            return h.value;
        }
    }
    return std::nullopt;
}

std::string redact_url(std::string_view url) {
    std::string out;
    out.reserve(url.size());
    // Authority: between "scheme://" and the first of "/?#".
    std::size_t rest = 0;
    const std::size_t scheme_end = url.find("://");
    if (scheme_end != std::string_view::npos &&
        url.substr(0, scheme_end).find_first_of("/?#") == std::string_view::npos) {
        const std::size_t authority_start = scheme_end + 3;
        std::size_t authority_end = url.find_first_of("/?#", authority_start);
        if (authority_end == std::string_view::npos) {
            authority_end = url.size();
        }
        const std::string_view authority =
            url.substr(authority_start, authority_end - authority_start);
        out.append(url.substr(0, authority_start));
        const std::size_t at = authority.rfind('@');
        if (at != std::string_view::npos) {
            out.append(k_redacted);
            out.append(authority.substr(at));
        } else {
            out.append(authority);
        }
        rest = authority_end;
    }
    const std::string_view tail = url.substr(rest);
    const std::size_t hash = tail.find('#');
    const std::string_view before_fragment = tail.substr(0, hash);
    const std::size_t question = before_fragment.find('?');
    out.append(before_fragment.substr(0, question));
    if (question != std::string_view::npos) {
        out.push_back('?');
        out.append(redact_parameters(before_fragment.substr(question + 1)));
    }
    if (hash != std::string_view::npos) {
        out.push_back('#');
        out.append(redact_parameters(tail.substr(hash + 1)));
    }
    return out;
}

std::string redact_header(std::string_view name, std::string_view value) {
    const std::string n = lower(name);
    const bool auth = n == "authorization" || n == "proxy-authorization";
    const bool secret =
        auth || n == "cookie" || n == "set-cookie" ||
        (n != "www-authenticate" && n != "proxy-authenticate" &&
         (n.find("token") != std::string::npos || n.find("secret") != std::string::npos ||
          n.find("password") != std::string::npos || n.find("api-key") != std::string::npos ||
          n.find("apikey") != std::string::npos || n.find("auth") != std::string::npos ||
          n.find("signature") != std::string::npos || n.find("session") != std::string::npos));
    if (!secret) {
        return fmt::format("{}: {}", name, value);
    }
    if (auth) {
        // Keep the scheme ("Bearer", "Basic"): it helps debugging and reveals nothing.
        const std::size_t space = value.find(' ');
        if (space != std::string_view::npos && space > 0) {
            return fmt::format("{}: {} {}", name, value.substr(0, space), k_redacted);
        }
    }
    return fmt::format("{}: {}", name, k_redacted);
}

std::string url_encode(std::string_view text) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(k_hex[c >> 4u]);
            out.push_back(k_hex[c & 15u]);
        }
    }
    return out;
}

std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }
    if (value.empty()) {
        return std::nullopt;
    }
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        long long seconds = 0;
        const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec != std::errc() || ptr != value.data() + value.size()) {
            // Absurdly large: cap at a day, the caller's max_delay decides.
            return std::chrono::milliseconds(std::chrono::hours(24));
        }
        return std::chrono::milliseconds(std::min<long long>(seconds, 86400) * 1000);
    }
    const std::string text(value);
    const time_t when = curl_getdate(text.c_str(), nullptr);
    if (when == -1) {
        return std::nullopt;
    }
    const auto target = std::chrono::system_clock::from_time_t(when);
    if (target <= now) {
        return std::chrono::milliseconds(0);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(target - now);
}

namespace {

const char* reason_phrase(long status) {
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}

bool looks_like_html(const Response& response) {
    const auto type = response.header("Content-Type");
    if (type && lower(*type).find("html") != std::string::npos) {
        return true;
    }
    std::string_view body = response.body;
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front())) != 0) {
        body.remove_prefix(1);
    }
    return body.size() > 1 && body[0] == '<';
}

} // namespace

Error status_error(const Response& response, std::string_view what) {
    const long status = response.status;
    std::string message = fmt::format("{} at {}: HTTP {}", what, response.url, status);
    if (const char* phrase = reason_phrase(status); *phrase != '\0') {
        message += fmt::format(" {}", phrase);
    }
    if (!response.body.empty()) {
        if (looks_like_html(response)) {
            message += " (an HTML page, probably from a proxy or load balancer)";
        } else if (const std::string text = body_excerpt(response.body, 200); !text.empty()) {
            message += fmt::format(": {}", text);
        }
    }
    Errc code = Errc::http_status;
    const bool transient =
        status == 408 || status == 429 || (status >= 500 && status != 501 && status != 505);
    if (status == 401 || status == 403) {
        code = Errc::access_denied;
        message += "; " + denied_advice(response);
    } else if (status == 404) {
        code = Errc::not_found;
        message += "; check the URL in the configuration";
    } else if (status == 409) {
        code = Errc::conflict;
    } else if (transient) {
        message += "; the server is failing or overloaded, try again shortly";
    }
    return make_error(code, std::move(message), static_cast<int>(status), transient);
}

std::string denied_advice(const Response& response) {
    if (response.credential_source.empty()) {
        return "no credentials are configured for it: add basic-auth, token-env or token-file to "
               "its "
               "configuration";
    }
    return fmt::format("sent {}; check that credential and its permissions",
                       response.credential_source);
}

// A single printable line of at most `limit` characters from the body.
std::string body_excerpt(std::string_view body, std::size_t limit) {
    std::string out;
    bool space = false;
    for (const char ch : body) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) {
            space = !out.empty();
            continue;
        }
        if (space) {
            out.push_back(' ');
            space = false;
        }
        out.push_back(ch);
        if (out.size() >= limit) {
            out.append("...");
            break;
        }
    }
    return out;
}

} // namespace oncall::http
