#pragma once
// After a change: the service's signals re-checked against its SLO over a short window that starts
// when the rollout finished; and the signal-based rollback rule (the newest earlier revision that
// was healthy while it ran), both on Prometheus.

#include "oncall/backends/prometheus.h"
#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/core/time.h"
#include "oncall/ops/deploy.h"
#include "oncall/ops/signals.h"

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oncall::ops {

/// One signal checked after a change.
struct SignalCheck {
    std::string name;  // error_ratio
    std::string title; // error ratio
    std::optional<double> value;
    std::optional<double> threshold;
    std::string status; // ok | breach | unknown
    /// The same signal over an equally long window just before the change: what a signal without
    /// an SLO threshold is judged against.
    std::optional<double> baseline;
};

/// What a verification concluded: every signal within its SLO, or without one within reach of its
/// baseline (pass), one over it (breach), or no evidence either way (inconclusive: no samples, no
/// traffic, no Prometheus).
enum class VerificationStatus { pass, breach, inconclusive };

/// "pass", "breach", "inconclusive".
const char* verification_status_name(VerificationStatus status) noexcept;

/// How often the service's series are scraped, and where that came from.
struct ScrapeInterval {
    std::chrono::milliseconds interval{std::chrono::minutes(1)};
    std::string source; // "prometheus targets", "scrape-interval", "default"
};

/// The verdict of a verification.
struct Verification {
    VerificationStatus status = VerificationStatus::inconclusive;
    TimePoint from; // window start (the rollout finished)
    TimePoint to;   // window end (query time)
    std::chrono::seconds window{0};
    ScrapeInterval scrape;
    std::vector<SignalCheck> checks;
    std::string summary; // "error ratio 0.1% <= 1.0%, p99 latency 180ms <= 500ms"
    std::string reason;  // why it is inconclusive ("" otherwise)
};

/// Rewrites every range selector duration in PromQL ("[5m]") to `window`, so that rates look only
/// at the time after the change. Subqueries ("[1h:1m]") are left alone.
std::string with_range(std::string_view query, std::chrono::seconds window);

/// The verification window: at least four scrape intervals (so that rate() has samples to work
/// with) and at least `requested` (--verify-window), in whole seconds.
std::chrono::seconds verification_window(std::chrono::milliseconds scrape_interval,
                                         std::chrono::seconds requested);

/// The scrape interval of `targets` that scrape the service's series: those whose job (and, when
/// it matches, instance) is among `series_labels`, else those whose labels carry the selector's
/// equality matchers. The longest such interval; nullopt when none matches or none says. Pure.
std::optional<std::chrono::milliseconds>
scrape_interval_of(const std::vector<prometheus::Target>& targets,
                   const std::vector<std::map<std::string, std::string>>& series_labels,
                   std::string_view selector);

/// Asks Prometheus (/api/v1/targets, and which job/instance the service's series come from);
/// else the service's or context's `scrape-interval:`; else 1m. `note` receives why it fell back.
ScrapeInterval find_scrape_interval(const prometheus::Client& client,
                                    const config::Service& service,
                                    const std::function<void(std::string_view)>& note);

/// Judges instant values (pure). A signal with an SLO threshold breaches above it; the error ratio
/// and p99 latency without one are judged against `baselines` (same index; see
/// breaches_baseline(): 3x and one point more errors, 2x and 100 ms more latency). Breach when one
/// breaches; pass when at least one signal could be judged and none breaches (and the request
/// rate, when known, is not zero); inconclusive otherwise.
Verification judge_signals(const std::vector<SignalSpec>& specs,
                           const std::vector<std::optional<double>>& values,
                           const std::vector<std::optional<double>>& baselines = {});

/// When a change happened: it started (the first write) and its rollout finished.
struct ChangeTimes {
    TimePoint started;
    TimePoint rollout_done;
};

/// Waits until `window` has passed since the rollout finished (plus a few seconds for the last
/// scrape to be ingested), then queries each signal with its range selectors set to the window and
/// judges it. Signals without an SLO threshold are also queried over the window that ended when the
/// change started, their baseline. `sleep_until` replaces the real wait (tests); empty:
/// std::this_thread::sleep_until.
Result<Verification> verify_signals(const prometheus::Client& client,
                                    const config::Service& service, const ChangeTimes& change,
                                    std::chrono::seconds window, const ScrapeInterval& scrape,
                                    const std::function<void(TimePoint)>& sleep_until = {});

/// JSON of a verification: {"status", "window": {"from", "to", "seconds"}, "scrape_interval",
/// "summary", "reason", "signals": [...]}.
nlohmann::json verification_json(const Verification& v);

/// The signal-based rollback rule over Prometheus history (revisions' run times from their deploy
/// times). Returns nullopt (so the previous-revision rule applies) when Prometheus cannot answer;
/// `note` receives why.
SignalTargetRule signal_target_rule(const prometheus::Client& client,
                                    const config::Service& service,
                                    std::function<void(std::string_view)> note);

} // namespace oncall::ops
