#include "log_template.h"

#include "traffic.h"

#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <vector>

namespace sandbox {
namespace {

struct Placeholder {
    std::string name;
    std::string arg;
};

// Splits "{name:arg}" contents; returns false on a malformed one.
bool parse_placeholder(const std::string& body, Placeholder& out) {
    const auto colon = body.find(':');
    out.name = body.substr(0, colon);
    out.arg = colon == std::string::npos ? std::string() : body.substr(colon + 1);
    return !out.name.empty();
}

bool parse_range(const std::string& arg, long& lo, long& hi) {
    const auto dash = arg.find('-', 1);
    if (dash == std::string::npos) {
        return false;
    }
    const auto a = arg.substr(0, dash);
    const auto b = arg.substr(dash + 1);
    auto r1 = std::from_chars(a.data(), a.data() + a.size(), lo);
    auto r2 = std::from_chars(b.data(), b.data() + b.size(), hi);
    return r1.ec == std::errc() && r1.ptr == a.data() + a.size() && r2.ec == std::errc() &&
           r2.ptr == b.data() + b.size() && lo <= hi;
}

std::optional<std::string> check_placeholder(const Placeholder& p) {
    static const std::vector<std::string> plain = {"trace_id", "span_id", "ms",
                                                   "pod",      "service", "namespace"};
    for (const auto& name : plain) {
        if (p.name == name) {
            if (!p.arg.empty()) {
                return fmt::format("placeholder {{{}}} takes no argument", p.name);
            }
            return std::nullopt;
        }
    }
    long lo = 0, hi = 0;
    if (p.name == "int") {
        if (!parse_range(p.arg, lo, hi)) {
            return std::string("placeholder {int:LO-HI} needs a range like {int:1-100}");
        }
        return std::nullopt;
    }
    if (p.name == "choice") {
        if (p.arg.empty()) {
            return std::string("placeholder {choice:a|b} needs words separated by '|'");
        }
        return std::nullopt;
    }
    if (p.name == "hex") {
        int n = 0;
        auto r = std::from_chars(p.arg.data(), p.arg.data() + p.arg.size(), n);
        if (r.ec != std::errc() || r.ptr != p.arg.data() + p.arg.size() || n < 1 || n > 64) {
            return std::string("placeholder {hex:N} needs N between 1 and 64");
        }
        return std::nullopt;
    }
    return fmt::format(
        "unknown placeholder {{{}}}; use trace_id, span_id, ms, int:LO-HI, choice:a|b, hex:N, pod, "
        "service or namespace",
        p.name);
}

std::string hex_digits(std::uint64_t& state, int n) {
    static const char* k_hex = "0123456789abcdef";
    std::string out;
    while (static_cast<int>(out.size()) < n) {
        auto v = split_mix(state);
        for (int i = 0; i < 16 && static_cast<int>(out.size()) < n; ++i) {
            out.push_back(k_hex[v & 0xf]);
            v >>= 4;
        }
    }
    return out;
}

} // namespace

std::optional<std::string> check_log_template(const std::string& text) {
    std::size_t pos = 0;
    while ((pos = text.find('{', pos)) != std::string::npos) {
        const auto end = text.find('}', pos);
        if (end == std::string::npos) {
            return fmt::format("unclosed '{{' at column {}", pos + 1);
        }
        Placeholder p;
        if (!parse_placeholder(text.substr(pos + 1, end - pos - 1), p)) {
            return fmt::format("empty placeholder at column {}", pos + 1);
        }
        if (auto problem = check_placeholder(p)) {
            return problem;
        }
        pos = end + 1;
    }
    return std::nullopt;
}

std::string render_log_template(const std::string& text, const LogContext& context,
                                std::uint64_t seed) {
    std::uint64_t state = seed;
    std::string out;
    out.reserve(text.size() + 64);
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto open = text.find('{', pos);
        if (open == std::string::npos) {
            out.append(text, pos, std::string::npos);
            break;
        }
        out.append(text, pos, open - pos);
        const auto close = text.find('}', open);
        if (close == std::string::npos) {
            out.append(text, open, std::string::npos);
            break;
        }
        Placeholder p;
        parse_placeholder(text.substr(open + 1, close - open - 1), p);
        if (p.name == "trace_id") {
            out += hex_digits(state, 32);
        } else if (p.name == "span_id") {
            out += hex_digits(state, 16);
        } else if (p.name == "hex") {
            out += hex_digits(state, std::max(1, std::atoi(p.arg.c_str())));
        } else if (p.name == "ms") {
            const double seconds = sample_latency(context.latency_p50, context.latency_p99, state);
            out += fmt::format("{}", static_cast<long>(std::lround(seconds * 1000.0)));
        } else if (p.name == "int") {
            long lo = 0, hi = 0;
            parse_range(p.arg, lo, hi);
            const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
            out += fmt::format("{}", lo + static_cast<long>(split_mix(state) % span));
        } else if (p.name == "choice") {
            std::vector<std::string> words;
            std::size_t start = 0;
            while (true) {
                const auto bar = p.arg.find('|', start);
                words.push_back(p.arg.substr(start, bar - start));
                if (bar == std::string::npos) {
                    break;
                }
                start = bar + 1;
            }
            out += words[split_mix(state) % words.size()];
        } else if (p.name == "pod") {
            out += context.pod;
        } else if (p.name == "service") {
            out += context.service;
        } else if (p.name == "namespace") {
            out += context.namespace_name;
        } else {
            out.append(text, open, close - open + 1);
        }
        pos = close + 1;
    }
    return out;
}

bool is_error_template(const std::string& text) {
    return text.find("level=error") != std::string::npos ||
           text.find("level=fatal") != std::string::npos;
}

} // namespace sandbox
