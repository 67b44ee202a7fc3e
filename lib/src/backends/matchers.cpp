// Strict parsing and escaping of label matchers.

#include "oncall/backends/matchers.h"

#include <cctype>
#include <fmt/format.h>

namespace oncall::backends {
namespace {

Error selector_error(std::string_view selector, std::size_t pos, std::string_view what) {
    std::string shown;
    for (char c : selector.substr(0, 120)) {
        shown += (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) ? c : '?';
    }
    return make_error(
        Errc::invalid,
        fmt::format("selector '{}' is not a list of label matchers (label=\"value\", ...): {} "
                    "at column {}",
                    shown, what, pos + 1));
}

bool is_label_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool is_label_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

} // namespace

Result<std::vector<Matcher>> parse_selector(std::string_view s) {
    std::vector<Matcher> out;
    std::size_t i = 0;
    const auto skip_ws = [&] {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
            ++i;
        }
    };
    skip_ws();
    if (i == s.size()) {
        return selector_error(s, i, "it is empty");
    }
    while (i < s.size()) {
        Matcher m;
        if (!is_label_start(s[i])) {
            return selector_error(s, i, fmt::format("expected a label name, found '{}'", s[i]));
        }
        const auto start = i;
        while (i < s.size() && is_label_char(s[i])) {
            ++i;
        }
        m.label = std::string(s.substr(start, i - start));
        if (m.label.rfind("__", 0) == 0) {
            return selector_error(s, start,
                                  fmt::format("reserved label '{}' is not allowed", m.label));
        }
        skip_ws();
        if (s.substr(i, 2) == "=~" || s.substr(i, 2) == "!~" || s.substr(i, 2) == "!=") {
            m.op = std::string(s.substr(i, 2));
            i += 2;
        } else if (i < s.size() && s[i] == '=') {
            m.op = "=";
            ++i;
        } else {
            return selector_error(s, i, "expected =, !=, =~ or !~ after the label");
        }
        skip_ws();
        if (i >= s.size() || (s[i] != '"' && s[i] != '\'' && s[i] != '`')) {
            return selector_error(s, i, "expected a quoted value");
        }
        const char quote = s[i++];
        bool closed = false;
        while (i < s.size()) {
            const char c = s[i++];
            if (c == quote) {
                closed = true;
                break;
            }
            if (c == '\n' || c == '\r') {
                return selector_error(s, i - 1, "line break inside a value");
            }
            if (c == '\\' && quote != '`') {
                if (i >= s.size()) {
                    break;
                }
                const char e = s[i++];
                switch (e) {
                case '\\':
                    m.value += '\\';
                    break;
                case '"':
                    m.value += '"';
                    break;
                case '\'':
                    m.value += '\'';
                    break;
                case 'n':
                    m.value += '\n';
                    break;
                case 't':
                    m.value += '\t';
                    break;
                case 'r':
                    m.value += '\r';
                    break;
                default:
                    return selector_error(s, i - 2, fmt::format("unsupported escape '\\{}'", e));
                }
                continue;
            }
            m.value += c;
        }
        if (!closed) {
            return selector_error(s, i, "unterminated quoted value");
        }
        out.push_back(std::move(m));
        skip_ws();
        if (i < s.size()) {
            if (s[i] != ',') {
                return selector_error(
                    s, i, fmt::format("expected ',' between matchers, found '{}'", s[i]));
            }
            ++i;
            skip_ws();
        }
    }
    return out;
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size() + 2);
    for (char c : value) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string format_selector(const std::vector<Matcher>& matchers) {
    std::string out;
    for (const auto& m : matchers) {
        if (!out.empty()) {
            out += ',';
        }
        out += m.label + m.op + '"' + escape_label_value(m.value) + '"';
    }
    return out;
}

} // namespace oncall::backends
