// Signal templates, selector validation and escaping, and fetching signal history.

#include "oncall/ops/signals.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fmt/format.h>

namespace oncall::ops {
namespace {

struct KnownSignal {
    const char* name;
    const char* config_key;
    const char* title;
    const char* templ;
    SignalUnit unit;
    Direction direction;
};

constexpr KnownSignal k_signals[] = {
    {"request_rate", "request-rate", "request rate",
     "sum(rate(http_requests_total{{selector}}[5m]))", SignalUnit::per_second, Direction::neutral},
    {"error_ratio", "error-ratio", "error ratio",
     "sum(rate(http_requests_total{{selector},code=~\"5..\"}[5m])) / "
     "sum(rate(http_requests_total{{selector}}[5m]))",
     SignalUnit::ratio, Direction::higher_is_worse},
    {"latency_p99", "latency-p99", "p99 latency",
     "histogram_quantile(0.99, sum by (le) "
     "(rate(http_request_duration_seconds_bucket{{selector}}[5m])))",
     SignalUnit::seconds, Direction::higher_is_worse},
    {"saturation", "saturation", "saturation", "", SignalUnit::fraction,
     Direction::higher_is_worse},
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

Result<std::string> service_selector(const config::Service& service) {
    if (!config::is_dns1123_label(service.name)) {
        return make_error(
            Errc::invalid,
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
            return make_error(
                Errc::config,
                fmt::format("service {}: unknown signal '{}' under signals; known: request-rate, "
                            "error-ratio, latency-p99, saturation",
                            service.name, key));
        }
        if (templ.find_first_not_of(" \t\n") == std::string::npos) {
            return make_error(
                Errc::config,
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
