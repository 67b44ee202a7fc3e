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

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
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
};

/// The verdict of a verification.
struct Verification {
    bool passed = true;            // no signal breached its threshold
    bool conclusive = false;       // at least one thresholded signal had data
    TimePoint from;                // window start (the rollout finished)
    TimePoint to;                  // window end (query time)
    std::vector<SignalCheck> checks;
    std::string summary;           // "error ratio 0.1% <= 1.0%, p99 latency 180ms <= 500ms"
};

/// Rewrites every range selector duration in PromQL ("[5m]") to `window`, so that rates look only
/// at the time after the change. Subqueries ("[1h:1m]") are left alone.
std::string with_range(std::string_view query, std::chrono::seconds window);

/// Judges instant values against their thresholds (pure).
Verification judge_signals(const std::vector<SignalSpec>& specs, const std::vector<std::optional<double>>& values);

/// Waits until `window` has passed since `rollout_done` (plus a scrape's grace), then queries each
/// signal over exactly that window and judges it. `sleep_until` is injectable for benchmarks.
Result<Verification> verify_signals(const prometheus::Client& client, const config::Service& service,
                                    TimePoint rollout_done, std::chrono::seconds window);

/// JSON of a verification: {"passed", "conclusive", "window": {"from", "to"}, "signals": [...]}.
nlohmann::json verification_json(const Verification& v);

/// The signal-based rollback rule over Prometheus history (revisions' run times from their deploy
/// times). Returns nullopt (so the previous-revision rule applies) when Prometheus cannot answer;
/// `note` receives why.
SignalTargetRule signal_target_rule(const prometheus::Client& client, const config::Service& service,
                                    std::function<void(std::string_view)> note);

} // namespace oncall::ops
