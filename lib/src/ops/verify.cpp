// Post-change verification and the signal-based rollback rule.

#include "oncall/ops/verify.h"

#include "oncall/core/duration.h"
#include "oncall/ops/correlate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <thread>

namespace oncall::ops {

std::string with_range(std::string_view query, std::chrono::seconds window) {
    const std::string replacement = fmt::format("[{}s]", window.count());
    std::string out;
    std::size_t i = 0;
    while (i < query.size()) {
        const char c = query[i];
        if (c == '"' || c == '\'' || c == '`') {
            // Copy string literals verbatim (label values may contain brackets).
            const std::size_t start = i++;
            while (i < query.size() && query[i] != c) {
                if (query[i] == '\\' && c != '`') {
                    ++i;
                }
                ++i;
            }
            out.append(query.substr(start, std::min(query.size(), i + 1) - start));
            ++i;
            continue;
        }
        if (c == '[') {
            const auto close = query.find(']', i);
            if (close != std::string_view::npos) {
                const std::string_view inside = query.substr(i + 1, close - i - 1);
                const bool duration = !inside.empty() && inside.find(':') == std::string_view::npos &&
                                      std::all_of(inside.begin(), inside.end(), [](char ch) {
                                          return std::isalnum(static_cast<unsigned char>(ch)) != 0;
                                      });
                if (duration) {
                    out += replacement;
                    i = close + 1;
                    continue;
                }
            }
        }
        out.push_back(c);
        ++i;
    }
    return out;
}

Verification judge_signals(const std::vector<SignalSpec>& specs, const std::vector<std::optional<double>>& values) {
    Verification v;
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const auto& spec = specs[i];
        SignalCheck check{spec.name, spec.title, i < values.size() ? values[i] : std::nullopt, spec.threshold, "unknown"};
        if (check.value && std::isfinite(*check.value)) {
            if (spec.threshold) {
                v.conclusive = true;
                const bool breach = *check.value > *spec.threshold;
                check.status = breach ? "breach" : "ok";
                if (breach) {
                    v.passed = false;
                }
                parts.push_back(fmt::format("{} {} {} {}", spec.title, format_signal_value(spec.name, *check.value),
                                            breach ? ">" : "<=", format_signal_value(spec.name, *spec.threshold)));
            } else {
                check.status = "ok";
                parts.push_back(fmt::format("{} {}", spec.title, format_signal_value(spec.name, *check.value)));
            }
        } else {
            check.value.reset();
            parts.push_back(fmt::format("{} no data", spec.title));
        }
        v.checks.push_back(std::move(check));
    }
    v.summary = fmt::format("{}", fmt::join(parts, ", "));
    return v;
}

Result<Verification> verify_signals(const prometheus::Client& client, const config::Service& service,
                                    TimePoint rollout_done, std::chrono::seconds window) {
    auto specs = signals_for(service);
    if (!specs) {
        return std::move(specs).error();
    }
    const TimePoint at = rollout_done + std::chrono::duration_cast<std::chrono::milliseconds>(window);
    // Grace for the last scrape of the window to be ingested.
    const auto ready = at + std::chrono::seconds(3);
    if (now() < ready) {
        std::this_thread::sleep_until(ready);
    }
    std::vector<prometheus::Query> queries;
    for (auto& spec : *specs) {
        spec.query = with_range(spec.query, window);
        queries.emplace_back(prometheus::InstantQuery{spec.query, at, {}});
    }
    auto answers = client.query_all(queries);
    std::vector<std::optional<double>> values;
    for (std::size_t i = 0; i < specs->size(); ++i) {
        auto& decoded = answers[i];
        if (!decoded) {
            auto e = std::move(decoded).error();
            e.message = fmt::format("verification could not read {} from Prometheus: {}", (*specs)[i].title, e.message);
            return e;
        }
        std::optional<double> value;
        if (!decoded->series.empty() && !decoded->series[0].samples.empty()) {
            value = decoded->series[0].samples.back().value;
        } else if (decoded->scalar) {
            value = decoded->scalar->value;
        }
        values.push_back(value);
    }
    auto v = judge_signals(*specs, values);
    v.from = rollout_done;
    v.to = at;
    return v;
}

nlohmann::json verification_json(const Verification& v) {
    nlohmann::json signals = nlohmann::json::array();
    for (const auto& c : v.checks) {
        signals.push_back({{"name", c.name},
                           {"value", c.value ? nlohmann::json(*c.value) : nlohmann::json(nullptr)},
                           {"threshold", c.threshold ? nlohmann::json(*c.threshold) : nlohmann::json(nullptr)},
                           {"status", c.status}});
    }
    return {{"passed", v.passed},
            {"conclusive", v.conclusive},
            {"window", {{"from", format_rfc3339(v.from)}, {"to", format_rfc3339(v.to)}}},
            {"summary", v.summary},
            {"signals", signals}};
}

SignalTargetRule signal_target_rule(const prometheus::Client& client, const config::Service& service,
                                    std::function<void(std::string_view)> note) {
    return [&client, service, note](const std::vector<kube::Revision>& revisions,
                                    const kube::Revision& current) -> Result<std::optional<TargetChoice>> {
        auto specs = signals_for(service);
        if (!specs) {
            return std::move(specs).error();
        }
        const TimePoint end = now();
        TimePoint start = end;
        std::vector<RevisionInfo> infos;
        for (const auto& r : revisions) {
            if (!r.deployed_at) {
                continue;
            }
            infos.push_back(RevisionInfo{static_cast<int>(r.number), *r.deployed_at, r.artifacts});
            start = std::min(start, *r.deployed_at);
        }
        start = std::max(start, end - std::chrono::hours(24 * 7));
        if (end - start < std::chrono::minutes(1)) {
            start = end - std::chrono::minutes(1);
        }
        const auto span = end - start;
        const auto step = std::max<std::chrono::milliseconds>(std::chrono::seconds(15), span / 1000);
        auto fetched = fetch_signal_history(client, *specs, start, end, step);
        std::vector<SignalSeries> series;
        for (auto& f : fetched) {
            if (!f) {
                if (note) {
                    note(fmt::format("Prometheus could not judge the revisions ({}); using the previous-revision rule",
                                     f.error().message));
                }
                return std::optional<TargetChoice>();
            }
            series.push_back(std::move(*f));
        }
        auto target = pick_rollback_target(infos, static_cast<int>(current.number), series, end);
        if (!target) {
            if (target.error().code == Errc::not_found) {
                return std::move(target).error();
            }
            if (note) {
                note(target.error().message);
            }
            return std::optional<TargetChoice>();
        }
        for (const auto& r : revisions) {
            if (r.number == target->revision) {
                return std::optional<TargetChoice>(TargetChoice{&r, target->reason});
            }
        }
        return std::optional<TargetChoice>();
    };
}

} // namespace oncall::ops
