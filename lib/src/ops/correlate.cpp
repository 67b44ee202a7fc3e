// Deploy correlation: onset, suspect and rollback target from revisions and signal series.

#include "oncall/ops/correlate.h"

#include "oncall/core/duration.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <set>

namespace oncall::ops {
namespace {

using std::chrono::milliseconds;

std::vector<double> values_between(const SignalSeries& series, TimePoint from, TimePoint to) {
    std::vector<double> out;
    for (const auto& p : series.points) {
        if (p.time >= from && p.time < to && !std::isnan(p.value)) {
            out.push_back(p.value);
        }
    }
    return out;
}

std::optional<double> median_of(std::vector<double> v) {
    if (v.empty()) {
        return std::nullopt;
    }
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

// Time covered by the points in [from, to).
milliseconds span_between(const SignalSeries& series, TimePoint from, TimePoint to) {
    std::optional<TimePoint> first;
    std::optional<TimePoint> last;
    for (const auto& p : series.points) {
        if (p.time >= from && p.time < to && !std::isnan(p.value)) {
            if (!first) {
                first = p.time;
            }
            last = p.time;
        }
    }
    return first ? *last - *first : milliseconds(0);
}

// Positive when `after` is worse than `before` (direction-adjusted difference).
double worsening(const SignalSeries& series, double before, double after) {
    switch (series.direction) {
    case Direction::higher_is_worse:
        return after - before;
    case Direction::lower_is_worse:
        return before - after;
    case Direction::neutral:
        return 0.0;
    }
    return 0.0;
}

std::string title_of(const SignalSeries& s) {
    return s.title.empty() ? s.name : s.title;
}

std::string with_slo(const SignalSeries& s, double value) {
    if (s.threshold) {
        return fmt::format("{} {} (SLO {})", title_of(s), format_signal_value(s.name, value),
                           format_signal_value(s.name, *s.threshold));
    }
    return fmt::format("{} {}", title_of(s), format_signal_value(s.name, value));
}

bool same_artifacts(const RevisionInfo& a, const RevisionInfo& b) {
    if (a.artifacts.empty() || b.artifacts.empty()) {
        return false;
    }
    return std::set<std::string>(a.artifacts.begin(), a.artifacts.end()) ==
           std::set<std::string>(b.artifacts.begin(), b.artifacts.end());
}

} // namespace

std::optional<double> median_between(const SignalSeries& series, TimePoint from, TimePoint to) {
    return median_of(values_between(series, from, to));
}

bool breaches(const SignalSeries& series, double value) {
    if (!series.threshold || std::isnan(value)) {
        return false;
    }
    switch (series.direction) {
    case Direction::higher_is_worse:
        return value > *series.threshold;
    case Direction::lower_is_worse:
        return value < *series.threshold;
    case Direction::neutral:
        return false;
    }
    return false;
}

bool has_baseline_rule(const std::string& signal) {
    return signal == "error_ratio" || signal == "latency_p99";
}

bool breaches_baseline(const std::string& signal, double baseline, double value) {
    if (std::isnan(baseline) || std::isnan(value) || baseline < 0.0) {
        return false;
    }
    if (signal == "error_ratio") {
        return value >= 3.0 * baseline && value - baseline >= 0.01;
    }
    if (signal == "latency_p99") {
        return value >= 2.0 * baseline && value - baseline >= 0.1;
    }
    return false;
}

bool is_worse(const SignalSeries& series, double before, double after,
              const CorrelationOptions& options) {
    if (series.direction == Direction::neutral || std::isnan(before) || std::isnan(after)) {
        return false;
    }
    if (series.threshold && !breaches(series, before) && breaches(series, after)) {
        return true;
    }
    const double floor = series.threshold ? std::abs(*series.threshold) * 0.1 : 1e-9;
    if (worsening(series, before, after) <= floor) {
        return false;
    }
    if (series.direction == Direction::higher_is_worse) {
        return before <= 0.0 ? after > floor : after >= before * options.min_ratio;
    }
    return after <= before / options.min_ratio;
}

std::optional<Onset> find_onset(const std::vector<SignalSeries>& signals,
                                const CorrelationOptions& options) {
    std::optional<Onset> best;
    const auto w = options.compare_window;
    for (const auto& s : signals) {
        if (s.direction == Direction::neutral || s.points.size() < 4) {
            continue;
        }
        double best_score = 0.0;
        std::optional<std::size_t> best_i;
        double best_before = 0.0;
        double best_after = 0.0;
        for (std::size_t i = 1; i < s.points.size(); ++i) {
            const auto t = s.points[i].time;
            if (span_between(s, t - w, t) + milliseconds(1) < options.min_side ||
                span_between(s, t, t + w) + milliseconds(1) < options.min_side) {
                continue;
            }
            const auto before = median_between(s, t - w, t);
            const auto after = median_between(s, t, t + w);
            if (!before || !after || !is_worse(s, *before, *after, options)) {
                continue;
            }
            const auto b = values_between(s, t - w, t);
            const auto a = values_between(s, t, t + w);
            double mb = 0.0;
            double ma = 0.0;
            for (double v : b) {
                mb += v;
            }
            for (double v : a) {
                ma += v;
            }
            const double score = worsening(s, mb / static_cast<double>(b.size()),
                                           ma / static_cast<double>(a.size()));
            if (!best_i || score >= best_score) {
                best_score = score;
                best_i = i;
                best_before = *before;
                best_after = *after;
            }
        }
        if (!best_i) {
            continue;
        }
        // Walk back from the steepest point to where the signal first left its earlier level.
        const double step = worsening(s, best_before, best_after);
        std::size_t i = *best_i;
        while (i > 0 && s.points[*best_i].time - s.points[i - 1].time <= w &&
               worsening(s, best_before, s.points[i - 1].value) > step * 0.1) {
            --i;
        }
        Onset onset{s.points[i].time, s.name, best_before, best_after,
                    fmt::format("{} went from {} to {}", title_of(s),
                                format_signal_value(s.name, best_before),
                                format_signal_value(s.name, best_after))};
        if (!best || onset.at < best->at) {
            best = std::move(onset);
        }
    }
    return best;
}

std::optional<Suspect> find_suspect(const std::vector<RevisionInfo>& revisions,
                                    const std::vector<SignalSeries>& signals,
                                    const std::optional<Onset>& onset,
                                    const CorrelationOptions& options) {
    std::vector<RevisionInfo> by_time = revisions;
    std::sort(by_time.begin(), by_time.end(), [](const RevisionInfo& a, const RevisionInfo& b) {
        return a.deployed_at > b.deployed_at;
    });
    for (std::size_t k = 0; k < by_time.size(); ++k) {
        const auto& rev = by_time[k];
        const auto d = rev.deployed_at;
        if (onset) {
            if (d > onset->at + options.min_side || onset->at - d > options.max_lag) {
                continue;
            }
        }
        auto after_end = d + options.compare_window;
        if (k > 0 && by_time[k - 1].deployed_at < after_end) {
            after_end = by_time[k - 1].deployed_at; // the next deploy starts a new regime
        }
        std::vector<std::string> changes;
        std::optional<Suspect> found;
        for (const auto& s : signals) {
            if (s.direction == Direction::neutral) {
                continue;
            }
            if (span_between(s, d - options.compare_window, d) + milliseconds(1) <
                    options.min_side ||
                span_between(s, d, after_end) + milliseconds(1) < options.min_side) {
                continue; // no baseline (or no aftermath) to compare
            }
            const auto before = median_between(s, d - options.compare_window, d);
            const auto after = median_between(s, d, after_end);
            if (!before || !after || !is_worse(s, *before, *after, options)) {
                continue;
            }
            changes.push_back(fmt::format("{} {} → {}", title_of(s),
                                          format_signal_value(s.name, *before),
                                          format_signal_value(s.name, *after)));
            if (!found) {
                found = Suspect{rev.number, d, s.name, *before, *after, {}};
            }
        }
        if (found) {
            std::string joined;
            for (const auto& c : changes) {
                joined += (joined.empty() ? "" : ", ") + c;
            }
            found->reason = fmt::format("{} after its deploy", joined);
            return found;
        }
    }
    return std::nullopt;
}

Result<RollbackTarget> pick_rollback_target(const std::vector<RevisionInfo>& revisions,
                                            int bad_revision,
                                            const std::vector<SignalSeries>& signals, TimePoint now,
                                            const CorrelationOptions& options) {
    std::vector<RevisionInfo> by_time = revisions;
    std::sort(by_time.begin(), by_time.end(), [](const RevisionInfo& a, const RevisionInfo& b) {
        return a.deployed_at < b.deployed_at;
    });
    const auto bad_it = std::find_if(by_time.begin(), by_time.end(), [&](const RevisionInfo& r) {
        return r.number == bad_revision;
    });
    std::vector<const RevisionInfo*> candidates;
    for (const auto& r : by_time) {
        if (r.number < bad_revision) {
            candidates.push_back(&r);
        }
    }
    std::sort(candidates.begin(), candidates.end(),
              [](const RevisionInfo* a, const RevisionInfo* b) { return a->number > b->number; });
    if (candidates.empty()) {
        return make_error(
            Errc::not_found,
            fmt::format("there is no revision older than {} to roll back to", bad_revision));
    }
    // When a revision ran: from its deploy until the next deploy (or now).
    const auto run_of = [&](const RevisionInfo& r) {
        TimePoint end = now;
        for (const auto& other : by_time) {
            if (other.deployed_at > r.deployed_at && other.deployed_at < end) {
                end = other.deployed_at;
            }
        }
        return std::pair{r.deployed_at, end};
    };
    std::optional<std::pair<TimePoint, TimePoint>> bad_run;
    if (bad_it != by_time.end()) {
        bad_run = run_of(*bad_it);
    }

    std::vector<std::string> skipped;
    const RevisionInfo* unknown = nullptr;
    for (const auto* c : candidates) {
        if (bad_it != by_time.end() && same_artifacts(*c, *bad_it)) {
            skipped.push_back(fmt::format("revision {} runs the same artifacts as revision {}",
                                          c->number, bad_revision));
            continue;
        }
        const auto [from, to] = run_of(*c);
        bool any_data = false;
        std::vector<std::string> good;
        std::string problem;
        for (const auto& s : signals) {
            if (s.direction == Direction::neutral) {
                continue;
            }
            const auto m = median_between(s, from, to);
            if (!m) {
                continue;
            }
            any_data = true;
            if (s.threshold) {
                if (breaches(s, *m)) {
                    problem = with_slo(s, *m);
                    break;
                }
            } else if (bad_run) {
                const auto bad_m = median_between(s, bad_run->first, bad_run->second);
                if (bad_m && is_worse(s, *bad_m, *m, options)) {
                    problem = fmt::format("{} {} was worse than revision {}'s {}", title_of(s),
                                          format_signal_value(s.name, *m), bad_revision,
                                          format_signal_value(s.name, *bad_m));
                    break;
                }
            }
            good.push_back(with_slo(s, *m));
        }
        if (!problem.empty()) {
            skipped.push_back(
                fmt::format("revision {} was unhealthy too ({})", c->number, problem));
            continue;
        }
        if (!any_data) {
            if (unknown == nullptr) {
                unknown = c;
            }
            continue;
        }
        std::string metrics;
        for (const auto& g : good) {
            metrics += (metrics.empty() ? "" : ", ") + g;
        }
        std::string reason = fmt::format("revision {} was healthy while it ran ({} until {}): {}",
                                         c->number, format_duration(to - from),
                                         to >= now ? "now" : format_age(to, now), metrics);
        for (const auto& sk : skipped) {
            reason += "; " + sk;
        }
        return RollbackTarget{c->number, std::move(reason)};
    }
    if (unknown != nullptr) {
        std::string reason =
            fmt::format("no metrics cover the time revision {} ran; it is the newest earlier "
                        "revision with different artifacts",
                        unknown->number);
        for (const auto& sk : skipped) {
            reason += "; " + sk;
        }
        return RollbackTarget{unknown->number, std::move(reason)};
    }
    std::string why;
    for (const auto& sk : skipped) {
        why += (why.empty() ? "" : "; ") + sk;
    }
    return make_error(
        Errc::not_found,
        fmt::format("no revision older than {} was healthy while it ran: {}", bad_revision, why));
}

std::string format_signal_value(const std::string& name, double value) {
    if (std::isnan(value)) {
        return "NaN";
    }
    if (std::isinf(value)) {
        return value > 0 ? "+Inf" : "-Inf";
    }
    if (name == "error_ratio" || name == "saturation") {
        const double pct = value * 100.0;
        if (pct == 0.0) {
            return "0%";
        }
        if (std::abs(pct) < 1.0) {
            return fmt::format("{:.2f}%", pct);
        }
        if (std::abs(pct) < 10.0) {
            auto text = fmt::format("{:.1f}", pct);
            if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) {
                text.resize(text.size() - 2);
            }
            return text + "%";
        }
        return fmt::format("{:.0f}%", pct);
    }
    if (name.rfind("latency", 0) == 0) {
        if (std::abs(value) < 1.0) {
            return fmt::format("{:.0f}ms", value * 1000.0);
        }
        return fmt::format("{:.2f}s", value);
    }
    if (name == "request_rate") {
        return std::abs(value) < 10.0 ? fmt::format("{:.2f}/s", value)
                                      : fmt::format("{:.0f}/s", value);
    }
    return fmt::format("{:.4g}", value);
}

} // namespace oncall::ops
