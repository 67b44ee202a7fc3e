#pragma once
// Triage: what is broken, since when, what changed, what to type next.
// build_report() is the pure engine (facts in, report out); collect() gathers the facts from
// Prometheus, Alertmanager and Kubernetes at once, each source with its own deadline.

#include "oncall/backends/alertmanager.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/config/config.h"
#include "oncall/core/exit_code.h"
#include "oncall/core/result.h"
#include "oncall/core/time.h"
#include "oncall/core/untrusted.h"
#include "oncall/ops/correlate.h"
#include "oncall/ops/rollout.h"
#include "oncall/ops/signals.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace oncall::ops {

/// The verdict of a triage.
enum class Verdict { healthy, degraded, unknown };
/// "healthy", "degraded", "unknown".
const char* verdict_name(Verdict verdict) noexcept;

/// A signal's value now against its SLO.
enum class SignalStatus { ok, breach, unknown };
/// "ok", "breach", "unknown".
const char* signal_status_name(SignalStatus status) noexcept;

/// What kind of drift between the revision's artifact and what runs.
enum class DriftKind { mutable_tag, image_mismatch };
/// "mutable_tag", "image_mismatch".
const char* drift_kind_name(DriftKind kind) noexcept;

/// How one backend fared.
struct SourceStatus {
    std::string name; // prometheus, alertmanager, kubernetes
    std::string url;  // redacted
    bool ok = false;
    bool skipped = false; // not configured in this context
    std::chrono::milliseconds elapsed{0};
    std::optional<Error> error;
    std::vector<std::string> warnings; // shown, never dropped
    int requests = 0;
};

/// What Kubernetes told us about the service.
struct KubeFacts {
    kube::Deployment deployment;
    std::vector<kube::Revision> revisions;     // newest first
    std::vector<kube::ReplicaSet> replicasets; // the Deployment's (revisions are made from them)
    std::vector<kube::Pod> pods;               // pods of the newest ReplicaSet
    std::vector<std::string> log_lines;        // recent lines of the newest pods
    bool live = true; // false for --at in the past: pods and rollout not read
};

/// Everything the engine needs; absent facts come with their source's failure in `sources`.
struct TriageFacts {
    std::string service;
    std::string context;
    TimePoint at; // the moment the report describes
    std::chrono::milliseconds window{std::chrono::hours(1)};
    std::vector<SignalSpec> specs;
    std::vector<std::optional<SignalSeries>> series; // per spec; nullopt when its query failed
    std::optional<std::vector<alertmanager::Alert>> alerts;
    std::optional<std::vector<alertmanager::Silence>> silences; // every silence the HA set holds
    std::optional<KubeFacts> kube;
    bool deployer_grant_active = false;
    std::chrono::seconds deployer_role_max{0};
    std::vector<SourceStatus> sources;
};

/// One signal's line in the report.
struct SignalReport {
    std::string name;
    std::string title;
    std::optional<double> now;
    std::optional<double> baseline;
    std::optional<double> threshold;
    SignalStatus status = SignalStatus::unknown;
    std::vector<Point> points;
};

/// One revision in the deploy timeline.
struct DeployReport {
    int revision = 0;
    std::vector<std::string> artifacts;
    std::optional<TimePoint> deployed_at;
    Untrusted change_cause; // written by whoever made the change
    bool current = false;
    bool suspect = false;
    bool target = false;
};

/// Rollout health of the Deployment.
struct RolloutReport {
    int desired = 0;
    int updated = 0;
    int ready = 0;
    int available = 0;
    RolloutState state = RolloutState::progressing;
    std::vector<Untrusted> problems; // pod names and reasons as the cluster reports them
};

struct SuspectReport {
    int revision = 0;
    std::string reason;
};

struct Recommendation {
    std::string command;
    std::string why;
};

/// A group of log lines of the same shape.
struct LogPattern {
    Untrusted pattern;
    int count = 0;
    Untrusted example;
};

/// An instance or template that does not run exactly the artifact its revision names.
struct DriftReport {
    DriftKind kind = DriftKind::mutable_tag;
    std::string pod; // "" for the Deployment's template
    std::string container;
    std::string expected;
    std::string running;
};

/// The triage report (the JSON document of DESIGN.md, and the text screen).
struct TriageReport {
    std::string service;
    std::string context;
    Verdict verdict = Verdict::unknown;
    std::vector<std::string> verdict_reasons;
    TimePoint at;
    std::chrono::milliseconds window{0};
    std::optional<TimePoint> since;
    std::string since_reason;
    std::vector<alertmanager::Alert> alerts;
    std::vector<alertmanager::Silence>
        silences; // active ones of the service, or silencing its alerts
    std::vector<SignalReport> signals;
    std::vector<DeployReport> deploys;
    std::optional<SuspectReport> suspect;
    std::optional<RollbackTarget> rollback_target;
    std::optional<RolloutReport> rollout;
    std::vector<Recommendation> recommendations;
    std::vector<LogPattern> logs;
    std::vector<DriftReport> drift;
    std::vector<SourceStatus> sources;
    ExitCode exit_code = ExitCode::success;
};

struct OverviewLine;

/// The engine: signals now vs baseline, SLO breaches, onset, suspect, rollout health, drift,
/// log patterns, verdict, exit code and the commands to type next. Pure.
TriageReport build_report(const TriageFacts& facts, const CorrelationOptions& options = {});

/// Rollout health as ops::assess_rollout judges it (the judgement `status` shows), with its
/// problems as sentences.
RolloutReport rollout_health(const KubeFacts& kube);

/// Groups log lines by message shape (timestamps, numbers, ids, hex, durations and non-message
/// quoted values normalised); most frequent first, at most `top` groups, each with an example.
std::vector<LogPattern> group_log_lines(const std::vector<std::string>& lines, std::size_t top = 5);

/// The shape of one log line (what group_log_lines groups by).
std::string log_shape(const std::string& line);

/// Mutable tags in the Deployment's template and pods whose running image (imageID) differs
/// from the digest their ReplicaSet names (or from their siblings' when the template is a tag).
std::vector<DriftReport> find_drift(const KubeFacts& kube);

// ---- collecting the facts ----

/// What to triage and how long each source may take.
struct TriageRequest {
    std::string service;
    std::optional<TimePoint> at; // default: now
    std::chrono::milliseconds window{std::chrono::hours(1)};
    std::chrono::milliseconds lookback{
        std::chrono::hours(3)}; // history for onset and suspect (>= window)
    std::chrono::milliseconds source_timeout{std::chrono::seconds(5)};
    std::chrono::milliseconds step{0}; // 0: max(window, lookback) / 240, at least 15s
    std::size_t log_tail_lines = 200;
    bool sequential = false; // one request after another (for benchmarks)
    std::function<void(std::string_view)> log;
};

/// Gathers the facts of one service from every configured source at once (one task per source,
/// Prometheus' queries on one multi handle); a failed source is recorded in `sources`.
/// Errc::invalid for a service name or selector that is not acceptable (nothing is sent then).
Result<TriageFacts> collect(const config::Context& context, const config::Service& service,
                            const TriageRequest& request);

/// collect() then build_report().
Result<TriageReport> triage(const config::Context& context, const config::Service& service,
                            const TriageRequest& request);

/// One line of the overview of all services.
struct OverviewLine {
    std::string service;
    Verdict verdict = Verdict::unknown;
    ExitCode exit_code = ExitCode::success;
    std::optional<TimePoint> since;
    std::optional<SuspectReport> suspect;
    std::string summary; // the most important finding
    std::vector<std::string> failed_sources;
    std::optional<RolloutState>
        rollout;              // assess_rollout's state, as `status` says it; nullopt when not read
    Untrusted rollout_reason; // why a failed rollout failed (pod names and reasons)
};

/// The services to list: the configured ones plus the Deployments of the context's namespace
/// (when Kubernetes answers; its failure is returned beside the names).
std::pair<std::vector<std::string>, std::optional<Error>>
overview_services(const config::Config& config, const config::Context& context);

/// Triage of every named service, at most `parallel` at a time, worst first.
std::vector<OverviewLine> overview(const config::Config& config, const config::Context& context,
                                   const std::vector<std::string>& services,
                                   const TriageRequest& request, std::size_t parallel = 4);

} // namespace oncall::ops
