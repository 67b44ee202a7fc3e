// JSON bodies: depth check, then nlohmann's parser with exceptions off.

#include "oncall/http/json.h"

#include <cctype>
#include <fmt/format.h>

namespace oncall::http {

namespace {

// Deepest nesting of [ and { outside strings; stops counting once over the limit.
std::size_t nesting_depth(std::string_view text) {
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
            if (deepest > k_max_json_depth) {
                return deepest;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

std::string_view trim_left(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
        text.remove_prefix(1);
    }
    return text;
}

// The <title> of an HTML page, if short and present, to help recognise the proxy that sent it.
std::string html_title(std::string_view body) {
    std::string lowered(body.substr(0, 4096));
    for (auto& c : lowered) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    const auto open = lowered.find("<title>");
    const auto close = lowered.find("</title>");
    if (open == std::string::npos || close == std::string::npos || close <= open + 7) {
        return {};
    }
    std::string title;
    for (const char c : body.substr(open + 7, std::min<std::size_t>(close - open - 7, 80))) {
        const auto u = static_cast<unsigned char>(c);
        title.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
    }
    return title;
}

// A SAX consumer that accepts everything and records where the parser gave up.
struct ErrorLocator : nlohmann::json_sax<nlohmann::json> {
    std::size_t position = 0;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t pos, const std::string&,
                     const nlohmann::detail::exception&) override {
        position = pos;
        return false;
    }
};

} // namespace

Result<nlohmann::json> parse_json_text(std::string_view text, std::string_view where) {
    const std::string_view start = trim_left(text);
    if (start.empty()) {
        return make_error(
            Errc::bad_response,
            fmt::format(
                "{}: answered an empty body instead of JSON; check that the URL points at the API",
                where));
    }
    if (start.front() == '<') {
        const std::string title = html_title(start);
        return make_error(
            Errc::bad_response,
            fmt::format("{}: answered an HTML page{} instead of JSON; a proxy, login page or "
                        "load balancer is probably in the way, check the URL",
                        where, title.empty() ? std::string() : fmt::format(" (\"{}\")", title)));
    }
    if (nesting_depth(start) > k_max_json_depth) {
        return make_error(
            Errc::bad_response,
            fmt::format("{}: answered JSON nested deeper than {} levels; refusing to decode it",
                        where, k_max_json_depth));
    }
    nlohmann::json value = nlohmann::json::parse(start.begin(), start.end(), nullptr, false);
    if (value.is_discarded()) {
        ErrorLocator locator;
        nlohmann::json::sax_parse(start.begin(), start.end(), &locator);
        const bool truncated = locator.position >= start.size();
        const std::size_t offset =
            locator.position + static_cast<std::size_t>(start.data() - text.data());
        return make_error(
            Errc::bad_response,
            truncated
                ? fmt::format("{}: answered JSON that ends too early (cut short after {} bytes); "
                              "the connection or a proxy truncated it, try again",
                              where, text.size())
                : fmt::format("{}: answered invalid JSON (syntax error at byte {} of {}); the "
                              "server or a proxy in front of it is misbehaving",
                              where, offset, text.size()));
    }
    return value;
}

Result<nlohmann::json> parse_json_body(const Response& response, std::string_view what) {
    std::string where = fmt::format("{} at {}", what, response.url);
    if (response.status != 0 && (response.status < 200 || response.status >= 300)) {
        where += fmt::format(" (HTTP {})", response.status);
    }
    return parse_json_text(response.body, where);
}

} // namespace oncall::http
