#pragma once
// Deploy correlation, pure: when did a signal change (the onset), which revision was deployed
// shortly before it (the suspect), and which earlier revision was healthy while it ran (the
// rollback target). No I/O; inputs are revisions and signal series over a window.

#include "oncall/core/result.h"
#include "oncall/core/time.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace oncall::ops {

/// Which way a signal gets worse.
enum class Direction { higher_is_worse, lower_is_worse, neutral };

/// One point of a signal.
struct Point {
    TimePoint time;
    double value = 0.0;
};

/// A signal over time, with its SLO threshold when it has one.
struct SignalSeries {
    std::string name;          // "error_ratio"
    std::string title;         // "error ratio"
    std::vector<Point> points; // ascending by time; gaps allowed
    std::optional<double> threshold;
    Direction direction = Direction::higher_is_worse;
};

/// A revision of a service as correlation needs it.
struct RevisionInfo {
    int number = 0;
    TimePoint deployed_at;
    std::vector<std::string> artifacts; // image references, when known
};

/// Tuning of the comparisons.
struct CorrelationOptions {
    std::chrono::milliseconds compare_window{std::chrono::minutes(10)}; // before/after each deploy
    std::chrono::milliseconds max_lag{std::chrono::minutes(15)};        // deploy -> onset
    std::chrono::milliseconds min_side{std::chrono::minutes(2)};        // data needed on each side
    double min_ratio = 2.0; // "changed": after >= before * ratio (for higher_is_worse)
};

/// When and how a signal changed.
struct Onset {
    TimePoint at;
    std::string signal;
    double before = 0.0;
    double after = 0.0;
    std::string reason;
};

/// The revision that most likely caused the change.
struct Suspect {
    int revision = 0;
    TimePoint deployed_at;
    std::string signal;
    double before = 0.0;
    double after = 0.0;
    std::string reason;
};

/// The revision to roll back to and why.
struct RollbackTarget {
    int revision = 0;
    std::string reason;
};

/// Median of the values in [from, to); nullopt when fewer than one point falls inside.
std::optional<double> median_between(const SignalSeries& series, TimePoint from, TimePoint to);

/// True when `after` is worse than `before` by the options' standard for this signal: it crosses
/// the threshold, or grows by min_ratio (with an absolute floor of a tenth of the threshold).
bool is_worse(const SignalSeries& series, double before, double after,
              const CorrelationOptions& options);

/// True when `value` breaches the signal's threshold (false without a threshold).
bool breaches(const SignalSeries& series, double value);

/// For a signal without an SLO threshold: true when `value` is far enough above its own baseline —
/// error ratio at least 3x the baseline and at least 1 percentage point higher; p99 latency at
/// least 2x the baseline and at least 100 ms higher. Other signals never breach this way.
bool breaches_baseline(const std::string& signal, double baseline, double value);

/// True for the signals breaches_baseline() has a rule for (the error ratio and p99 latency).
bool has_baseline_rule(const std::string& signal);

/// The moment a signal changed for the worse: the latest significant change point of any signal
/// (the earliest among signals when several changed). nullopt when nothing changed.
std::optional<Onset> find_onset(const std::vector<SignalSeries>& signals,
                                const CorrelationOptions& options = {});

/// The newest revision deployed at most max_lag before the onset (or anywhere in the series when
/// onset is unknown) after which some signal is worse than before it. nullopt when no deploy
/// explains the change.
std::optional<Suspect> find_suspect(const std::vector<RevisionInfo>& revisions,
                                    const std::vector<SignalSeries>& signals,
                                    const std::optional<Onset>& onset,
                                    const CorrelationOptions& options = {});

/// The newest revision older than `bad_revision` that was healthy while it ran (no signal over its
/// threshold, none markedly worse than the revision before it) and whose artifacts differ from the
/// bad one's; when no metrics cover a candidate's time it is taken only if no candidate is known
/// healthy, and the reason says so. Errc::not_found when there is no earlier revision.
Result<RollbackTarget> pick_rollback_target(const std::vector<RevisionInfo>& revisions,
                                            int bad_revision,
                                            const std::vector<SignalSeries>& signals, TimePoint now,
                                            const CorrelationOptions& options = {});

/// A value for people: ratios as percentages, seconds with a unit, rates per second.
std::string format_signal_value(const std::string& signal_name, double value);

} // namespace oncall::ops
