// Grouping log lines by message shape.

#include "oncall/ops/triage.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>

namespace oncall::ops {
namespace {

bool is_digit(char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_hex(char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_word(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

// Keys whose quoted value is the message itself: kept (with numbers and ids normalised).
bool is_message_key(std::string_view key) {
    return key == "msg" || key == "message" || key == "err" || key == "error" || key == "reason" ||
           key == "event" || key == "caller";
}

bool is_duration_unit(std::string_view u) {
    return u == "ns" || u == "us" || u == "µs" || u == "ms" || u == "s" || u == "m" || u == "h";
}

// Normalises one unquoted word (the maximal run of word characters and dots/colons).
std::string normalise_word(std::string_view w) {
    if (w.empty()) {
        return std::string(w);
    }
    // ISO 8601 timestamps.
    if (w.size() >= 19 && is_digit(w[0]) && w[4] == '-' && w[7] == '-' &&
        (w[10] == 'T' || w[10] == ' ')) {
        return "<time>";
    }
    // Numbers, with a duration unit or not (1, -3, 0.25, 250ms, 1.5s).
    std::size_t i = 0;
    if (w[0] == '-' && w.size() > 1) {
        i = 1;
    }
    const std::size_t num_start = i;
    while (i < w.size() && (is_digit(w[i]) || w[i] == '.')) {
        ++i;
    }
    if (i > num_start && is_digit(w[num_start])) {
        if (i == w.size()) {
            return "<n>";
        }
        if (is_duration_unit(w.substr(i))) {
            return "<dur>";
        }
    }
    // Hex and ids: long runs containing a digit, made of hex or id characters (uuid, trace ids).
    bool all_hex = true;
    bool has_digit = false;
    bool has_alpha = false;
    for (char c : w) {
        has_digit = has_digit || is_digit(c);
        has_alpha = has_alpha || std::isalpha(static_cast<unsigned char>(c)) != 0;
        all_hex = all_hex && (is_hex(c) || c == '-');
    }
    if (w.size() >= 6 && has_digit && all_hex) {
        return "<hex>";
    }
    if (w.size() >= 12 && has_digit && has_alpha && w.find('/') == std::string_view::npos) {
        return "<id>";
    }
    // Words with embedded numbers (pod-7f9c, 10.0.0.3:5432, /orders/123): normalise digit runs.
    std::string out;
    for (std::size_t k = 0; k < w.size();) {
        if (is_digit(w[k])) {
            while (k < w.size() &&
                   (is_digit(w[k]) || (w[k] == '.' && k + 1 < w.size() && is_digit(w[k + 1])))) {
                ++k;
            }
            out += "<n>";
        } else {
            out += w[k++];
        }
    }
    return out;
}

std::string normalise_text(std::string_view text);

// Normalises a quoted value after `key`; `quote` is its quote character.
std::string normalise_quoted(std::string_view key, std::string_view inner) {
    if (is_message_key(key)) {
        return normalise_text(inner);
    }
    return "<v>";
}

std::string normalise_text(std::string_view s) {
    std::string out;
    std::size_t i = 0;
    std::string last_key;
    while (i < s.size()) {
        const char c = s[i];
        if (c == '"' || c == '\'') {
            std::size_t j = i + 1;
            while (j < s.size() && s[j] != c) {
                j += (s[j] == '\\' && j + 1 < s.size()) ? 2 : 1;
            }
            const auto inner = s.substr(i + 1, std::min(j, s.size()) - i - 1);
            out += c;
            out += normalise_quoted(last_key, inner);
            if (j < s.size()) {
                out += c;
            }
            i = j + 1;
            last_key.clear();
            continue;
        }
        if (is_word(c) || c == '.' || c == ':' || c == '/') {
            std::size_t j = i;
            while (j < s.size() && (is_word(s[j]) || s[j] == '.' || s[j] == ':' || s[j] == '/' ||
                                    static_cast<unsigned char>(s[j]) >= 0x80)) {
                ++j;
            }
            const auto word = s.substr(i, j - i);
            if (j < s.size() && s[j] == '=') {
                out += word; // a key stays as written
                last_key = std::string(word);
            } else {
                out += normalise_word(word);
                last_key.clear();
            }
            i = j;
            continue;
        }
        out += c;
        if (c != '=') {
            last_key.clear();
        }
        ++i;
    }
    return out;
}

} // namespace

std::string log_shape(const std::string& line) {
    std::string shape = normalise_text(line);
    // A leading timestamp ("<time> ..." or "ts=<time> ...") says nothing about the shape.
    for (const char* prefix :
         {"<time>", "ts=<time>", "time=<time>", "timestamp=<time>", "t=<time>"}) {
        if (shape.rfind(prefix, 0) == 0) {
            shape.erase(0, std::string_view(prefix).size());
            break;
        }
    }
    const auto first = shape.find_first_not_of(" \t");
    const auto last = shape.find_last_not_of(" \t\r\n");
    return first == std::string::npos ? std::string() : shape.substr(first, last - first + 1);
}

std::vector<LogPattern> group_log_lines(const std::vector<std::string>& lines, std::size_t top) {
    std::map<std::string, LogPattern> groups;
    std::vector<std::string> order;
    for (const auto& line : lines) {
        if (line.find_first_not_of(" \t\r\n") == std::string::npos) {
            continue;
        }
        auto shape = log_shape(line);
        auto [it, fresh] = groups.try_emplace(shape, LogPattern{shape, 0, line});
        if (fresh) {
            order.push_back(shape);
        }
        ++it->second.count;
        it->second.example = line; // the most recent line of the shape
    }
    std::vector<LogPattern> out;
    for (const auto& shape : order) {
        out.push_back(groups[shape]);
    }
    // Errors before the rest at equal counts; then most frequent first.
    const auto severity = [](const std::string& p) {
        if (p.find("level=fatal") != std::string::npos ||
            p.find("level=error") != std::string::npos || p.find("ERROR") != std::string::npos ||
            p.find("FATAL") != std::string::npos) {
            return 0;
        }
        if (p.find("level=warn") != std::string::npos || p.find("WARN") != std::string::npos) {
            return 1;
        }
        return 2;
    };
    std::stable_sort(out.begin(), out.end(), [&](const LogPattern& a, const LogPattern& b) {
        const int sa = severity(a.pattern.raw());
        const int sb = severity(b.pattern.raw());
        if (sa != sb) {
            return sa < sb;
        }
        return a.count > b.count;
    });
    if (out.size() > top) {
        out.resize(top);
    }
    return out;
}

} // namespace oncall::ops
