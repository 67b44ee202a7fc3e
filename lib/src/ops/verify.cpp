// Post-change verification and the signal-based rollback rule.

#include "oncall/ops/verify.h"

#include "oncall/core/duration.h"
#include "oncall/ops/correlate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fmt/format.h>
#include <regex>
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
                const bool duration = !inside.empty() &&
                                      inside.find(':') == std::string_view::npos &&
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

const char* verification_status_name(VerificationStatus status) noexcept {
    switch (status) {
    case VerificationStatus::pass:
        return "pass";
    case VerificationStatus::breach:
        return "breach";
    case VerificationStatus::inconclusive:
        return "inconclusive";
    }
    return "inconclusive";
}

std::chrono::seconds verification_window(std::chrono::milliseconds scrape_interval,
                                         std::chrono::seconds requested) {
    const auto four = std::chrono::duration_cast<std::chrono::seconds>(
        4 * scrape_interval + std::chrono::milliseconds(999));
    return std::max(four, requested);
}

namespace {

// The equality matchers of a selector (`a="b", c=~"d"` gives {a: b}).
std::map<std::string, std::string> equality_matchers(std::string_view selector) {
    static const std::regex matcher(
        R"re(([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)")re");
    std::map<std::string, std::string> out;
    const std::string text(selector);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), matcher);
         it != std::sregex_iterator(); ++it) {
        if ((*it)[2] == "=") {
            out[(*it)[1]] = (*it)[3];
        }
    }
    return out;
}

} // namespace

std::optional<std::chrono::milliseconds>
scrape_interval_of(const std::vector<prometheus::Target>& targets,
                   const std::vector<std::map<std::string, std::string>>& series_labels,
                   std::string_view selector) {
    auto longest = [](const std::vector<const prometheus::Target*>& chosen)
        -> std::optional<std::chrono::milliseconds> {
        std::optional<std::chrono::milliseconds> out;
        for (const auto* t : chosen) {
            if (t->scrape_interval.count() > 0 && (!out || t->scrape_interval > *out)) {
                out = t->scrape_interval;
            }
        }
        return out;
    };
    auto label = [](const std::map<std::string, std::string>& labels, const char* key) {
        const auto it = labels.find(key);
        return it == labels.end() ? std::string() : it->second;
    };
    std::vector<const prometheus::Target*> by_instance;
    std::vector<const prometheus::Target*> by_job;
    for (const auto& t : targets) {
        for (const auto& s : series_labels) {
            const std::string job = label(s, "job");
            if (job.empty() || (label(t.labels, "job") != job && t.scrape_pool != job)) {
                continue;
            }
            by_job.push_back(&t);
            if (label(t.labels, "instance") == label(s, "instance")) {
                by_instance.push_back(&t);
            }
            break;
        }
    }
    if (auto i = longest(by_instance)) {
        return i;
    }
    if (auto j = longest(by_job)) {
        return j;
    }
    const auto wanted = equality_matchers(selector);
    std::vector<const prometheus::Target*> by_selector;
    for (const auto& t : targets) {
        bool all = !wanted.empty();
        for (const auto& [k, v] : wanted) {
            all = all && label(t.labels, k.c_str()) == v;
        }
        if (all) {
            by_selector.push_back(&t);
        }
    }
    return longest(by_selector);
}

ScrapeInterval find_scrape_interval(const prometheus::Client& client,
                                    const config::Service& service,
                                    const std::function<void(std::string_view)>& note) {
    auto fallback = [&](const std::string& why) {
        ScrapeInterval s;
        if (service.scrape_interval.count() > 0) {
            s.interval = service.scrape_interval;
            s.source = "scrape-interval";
        } else {
            s.interval = std::chrono::minutes(1);
            s.source = "default";
        }
        if (note) {
            note(fmt::format("{}; using a scrape interval of {} ({})", why,
                             format_duration(s.interval),
                             s.source == "default" ? "Prometheus' default"
                                                   : "scrape-interval in the configuration"));
        }
        return s;
    };
    auto targets = client.targets();
    if (!targets) {
        return fallback(
            fmt::format("could not read Prometheus' scrape targets ({})", targets.error().message));
    }
    std::vector<std::map<std::string, std::string>> series;
    auto found = client.query_all({prometheus::InstantQuery{
        fmt::format("group by (job, instance) ({{{}}})", service.selector), std::nullopt, {}}});
    if (!found.empty() && found.front()) {
        for (const auto& s : found.front()->series) {
            series.push_back(s.labels);
        }
    }
    if (auto interval = scrape_interval_of(*targets, series, service.selector)) {
        return ScrapeInterval{*interval, "prometheus targets"};
    }
    return fallback("Prometheus' targets do not say how often the service's series are scraped");
}

namespace {

// The value of one instant query: the first series' last sample, or the scalar.
std::optional<double> instant_value(const prometheus::QueryResult& decoded) {
    if (!decoded.series.empty() && !decoded.series[0].samples.empty()) {
        return decoded.series[0].samples.back().value;
    }
    if (decoded.scalar) {
        return decoded.scalar->value;
    }
    return std::nullopt;
}

bool known(const std::optional<double>& v) {
    return v && std::isfinite(*v);
}

} // namespace

Verification judge_signals(const std::vector<SignalSpec>& specs,
                           const std::vector<std::optional<double>>& values,
                           const std::vector<std::optional<double>>& baselines) {
    Verification v;
    std::vector<std::string> parts;
    bool any_breach = false;
    bool any_evidence = false;
    bool no_traffic = false;
    bool any_rule = false;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const auto& spec = specs[i];
        SignalCheck check{spec.name,      spec.title, i < values.size() ? values[i] : std::nullopt,
                          spec.threshold, "unknown",  std::nullopt};
        if (i < baselines.size() && known(baselines[i]) && !spec.threshold &&
            has_baseline_rule(spec.name)) {
            check.baseline = baselines[i];
        }
        any_rule = any_rule || spec.threshold || check.baseline;
        if (!known(check.value)) {
            check.value.reset();
            parts.push_back(fmt::format("{} no data", spec.title));
            v.checks.push_back(std::move(check));
            continue;
        }
        const double value = *check.value;
        if (spec.name == "request_rate" && value <= 0.0) {
            no_traffic = true;
        }
        if (spec.threshold) {
            any_evidence = true;
            const bool breach = value > *spec.threshold;
            check.status = breach ? "breach" : "ok";
            any_breach = any_breach || breach;
            parts.push_back(
                fmt::format("{} {} {} {}", spec.title, format_signal_value(spec.name, value),
                            breach ? ">" : "<=", format_signal_value(spec.name, *spec.threshold)));
        } else if (check.baseline) {
            any_evidence = true;
            const bool breach = breaches_baseline(spec.name, *check.baseline, value);
            check.status = breach ? "breach" : "ok";
            any_breach = any_breach || breach;
            parts.push_back(fmt::format("{} {} against {} before the change (no SLO)", spec.title,
                                        format_signal_value(spec.name, value),
                                        format_signal_value(spec.name, *check.baseline)));
        } else {
            check.status = "ok";
            parts.push_back(
                fmt::format("{} {}", spec.title, format_signal_value(spec.name, value)));
        }
        v.checks.push_back(std::move(check));
    }
    v.summary = fmt::format("{}", fmt::join(parts, ", "));
    if (any_breach) {
        v.status = VerificationStatus::breach;
    } else if (no_traffic) {
        v.status = VerificationStatus::inconclusive;
        v.reason = "the service served no requests in the window";
    } else if (!any_evidence) {
        v.status = VerificationStatus::inconclusive;
        v.reason = any_rule ? "no samples of the service's signals in the window"
                            : "the service has no SLO thresholds and no samples from before the "
                              "change to compare with";
    } else {
        v.status = VerificationStatus::pass;
    }
    return v;
}

Result<Verification> verify_signals(const prometheus::Client& client,
                                    const config::Service& service, const ChangeTimes& change,
                                    std::chrono::seconds window, const ScrapeInterval& scrape,
                                    const std::function<void(TimePoint)>& sleep_until) {
    auto specs = signals_for(service);
    if (!specs) {
        return std::move(specs).error();
    }
    const TimePoint at =
        change.rollout_done + std::chrono::duration_cast<std::chrono::milliseconds>(window);
    // Grace for the last scrape of the window to be ingested.
    const auto ready = at + std::chrono::seconds(3);
    if (sleep_until) {
        sleep_until(ready);
    } else if (now() < ready) {
        std::this_thread::sleep_until(ready);
    }
    // The signals after the change, then the baselines of those without an SLO threshold: the
    // same queries over the window that ended when the change started.
    std::vector<prometheus::Query> queries;
    std::vector<std::size_t> baseline_of;
    for (auto& spec : *specs) {
        spec.query = with_range(spec.query, window);
        queries.emplace_back(prometheus::InstantQuery{spec.query, at, {}});
    }
    for (std::size_t i = 0; i < specs->size(); ++i) {
        if (!(*specs)[i].threshold && has_baseline_rule((*specs)[i].name)) {
            baseline_of.push_back(i);
            queries.emplace_back(prometheus::InstantQuery{(*specs)[i].query, change.started, {}});
        }
    }
    auto answers = client.query_all(queries);
    std::vector<std::optional<double>> values;
    for (std::size_t i = 0; i < specs->size(); ++i) {
        auto& decoded = answers[i];
        if (!decoded) {
            auto e = std::move(decoded).error();
            e.message = fmt::format("verification could not read {} from Prometheus: {}",
                                    (*specs)[i].title, e.message);
            return e;
        }
        values.push_back(instant_value(*decoded));
    }
    std::vector<std::optional<double>> baselines(specs->size());
    for (std::size_t k = 0; k < baseline_of.size(); ++k) {
        const auto& decoded = answers[specs->size() + k];
        if (decoded) {
            baselines[baseline_of[k]] = instant_value(*decoded);
        }
    }
    auto v = judge_signals(*specs, values, baselines);
    v.from = change.rollout_done;
    v.to = at;
    v.window = window;
    v.scrape = scrape;
    return v;
}

nlohmann::json verification_json(const Verification& v) {
    nlohmann::json signals = nlohmann::json::array();
    for (const auto& c : v.checks) {
        signals.push_back(
            {{"name", c.name},
             {"value", c.value ? nlohmann::json(*c.value) : nlohmann::json(nullptr)},
             {"threshold", c.threshold ? nlohmann::json(*c.threshold) : nlohmann::json(nullptr)},
             {"baseline", c.baseline ? nlohmann::json(*c.baseline) : nlohmann::json(nullptr)},
             {"status", c.status}});
    }
    return {
        {"status", verification_status_name(v.status)},
        {"window",
         {{"from", format_rfc3339(v.from)},
          {"to", format_rfc3339(v.to)},
          {"seconds", v.window.count()}}},
        {"scrape_interval",
         {{"seconds", std::chrono::duration_cast<std::chrono::seconds>(v.scrape.interval).count()},
          {"source", v.scrape.source}}},
        {"summary", v.summary},
        {"reason", v.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.reason)},
        {"signals", signals}};
}

SignalTargetRule signal_target_rule(const prometheus::Client& client,
                                    const config::Service& service,
                                    std::function<void(std::string_view)> note) {
    return [&client, service,
            note](const std::vector<kube::Revision>& revisions,
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
        const auto step =
            std::max<std::chrono::milliseconds>(std::chrono::seconds(15), span / 1000);
        auto fetched = fetch_signal_history(client, *specs, start, end, step);
        std::vector<SignalSeries> series;
        for (auto& f : fetched) {
            if (!f) {
                if (note) {
                    note(fmt::format("Prometheus could not judge the revisions ({}); using the "
                                     "previous-revision rule",
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
