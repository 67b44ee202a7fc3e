// Signal templates, selector validation and escaping, and fetching signal history.

#include "oncall/ops/signals.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace oncall::ops {
namespace {

Error selector_error(std::string_view selector, std::size_t pos, std::string_view what) {
    std::string shown;
    for (char c : selector.substr(0, 120)) {
        shown += (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) ? c : '?';
    }
    return make_error(Errc::invalid,
                      fmt::format("selector '{}' is not a list of label matchers (label=\"value\", ...): {} "
                                  "at column {}; fix the service's selector in the configuration",
                                  shown, what, pos + 1));
}

bool is_label_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool is_label_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

struct KnownSignal {
    const char* name;
    const char* config_key;
    const char* title;
    const char* templ;
    SignalUnit unit;
    Direction direction;
};

constexpr KnownSignal k_signals[] = {
    {"request_rate", "request-rate", "request rate", "sum(rate(http_requests_total{{selector}}[5m]))",
     SignalUnit::per_second, Direction::neutral},
    {"error_ratio", "error-ratio", "error ratio",
     "sum(rate(http_requests_total{{selector},code=~\"5..\"}[5m])) / sum(rate(http_requests_total{{selector}}[5m]))",
     SignalUnit::ratio, Direction::higher_is_worse},
    {"latency_p99", "latency-p99", "p99 latency",
     "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{selector}}[5m])))",
     SignalUnit::seconds, Direction::higher_is_worse},
    {"saturation", "saturation", "saturation", "", SignalUnit::fraction, Direction::higher_is_worse},
};

const KnownSignal* known_signal(std::string_view key) {
    for (const auto& s : k_signals) {
        if (key == s.name || key == s.config_key) {
            return &s;
        }
    }
    return nullptr;
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
            return selector_error(s, start, fmt::format("reserved label '{}' is not allowed", m.label));
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
                case '\\': m.value += '\\'; break;
                case '"': m.value += '"'; break;
                case '\'': m.value += '\''; break;
                case 'n': m.value += '\n'; break;
                case 't': m.value += '\t'; break;
                case 'r': m.value += '\r'; break;
                default: return selector_error(s, i - 2, fmt::format("unsupported escape '\\{}'", e));
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
                return selector_error(s, i, fmt::format("expected ',' between matchers, found '{}'", s[i]));
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
        case '\\': out += "\\\\"; break;
        case '"': out += "\\\""; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: out += c;
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

Result<std::string> service_selector(const config::Service& service) {
    if (!config::is_dns1123_label(service.name)) {
        return make_error(Errc::invalid,
                          fmt::format("service name '{}' is not valid: use lower-case letters, digits and '-' "
                                      "(a DNS-1123 label, at most 63 characters)",
                                      escape_label_value(service.name.substr(0, 80))));
    }
    if (service.selector.empty()) {
        return format_selector({Matcher{"service", "=", service.name}});
    }
    auto matchers = parse_selector(service.selector);
    if (!matchers) {
        Error e = std::move(matchers).error();
        e.message = fmt::format("service {}: {}", service.name, e.message);
        return e;
    }
    return format_selector(*matchers);
}

std::string substitute_selector(std::string_view templ, std::string_view selector) {
    static constexpr std::string_view k_placeholder = "{selector}";
    std::string out;
    std::size_t pos = 0;
    while (true) {
        const auto hit = templ.find(k_placeholder, pos);
        if (hit == std::string_view::npos) {
            out.append(templ.substr(pos));
            return out;
        }
        out.append(templ.substr(pos, hit - pos));
        out.append(selector);
        pos = hit + k_placeholder.size();
    }
}

std::string default_signal_template(std::string_view name) {
    const auto* known = known_signal(name);
    return known ? known->templ : "";
}

Result<std::vector<SignalSpec>> signals_for(const config::Service& service) {
    auto selector = service_selector(service);
    if (!selector) {
        return std::move(selector).error();
    }
    for (const auto& [key, templ] : service.signals) {
        if (known_signal(key) == nullptr) {
            return make_error(Errc::config,
                              fmt::format("service {}: unknown signal '{}' under signals; known: request-rate, "
                                          "error-ratio, latency-p99, saturation",
                                          service.name, key));
        }
        if (templ.find_first_not_of(" \t\n") == std::string::npos) {
            return make_error(Errc::config,
                              fmt::format("service {}: signal '{}' has an empty query", service.name, key));
        }
    }
    std::vector<SignalSpec> out;
    for (const auto& known : k_signals) {
        std::string templ = known.templ;
        for (const auto& [key, value] : service.signals) {
            if (known_signal(key) == &known) {
                templ = value;
            }
        }
        if (templ.empty()) {
            continue;
        }
        SignalSpec spec;
        spec.name = known.name;
        spec.title = known.title;
        spec.query = substitute_selector(templ, *selector);
        spec.unit = known.unit;
        spec.direction = known.direction;
        if (spec.name == "error_ratio") {
            spec.threshold = service.slo.error_ratio;
        } else if (spec.name == "latency_p99") {
            spec.threshold = service.slo.latency_p99;
        }
        out.push_back(std::move(spec));
    }
    return out;
}

SignalSeries to_signal_series(const SignalSpec& spec, const prometheus::QueryResult& result) {
    SignalSeries series;
    series.name = spec.name;
    series.title = spec.title;
    series.threshold = spec.threshold;
    series.direction = spec.direction;
    const auto add = [&](const prometheus::Sample& s) {
        if (!std::isnan(s.value)) {
            series.points.push_back(Point{s.time, s.value});
        }
    };
    if (!result.series.empty()) {
        for (const auto& s : result.series.front().samples) {
            add(s);
        }
    } else if (result.scalar && result.type == prometheus::ResultType::scalar) {
        add(*result.scalar);
    }
    std::sort(series.points.begin(), series.points.end(),
              [](const Point& a, const Point& b) { return a.time < b.time; });
    return series;
}

} // namespace oncall::ops
