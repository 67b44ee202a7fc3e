#pragma once
// Rollback and redeploy as one use case: plan, confirm, write-ahead audit, write (retried when only
// the status moved), wait (one judgement of rollout health), verify, auto-rollback, audit result.
// Progress goes to an observer; the caller renders the outcome.

#include "oncall/backends/kubernetes.h"
#include "oncall/backends/prometheus.h"
#include "oncall/backends/registry.h"
#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/ops/access.h"
#include "oncall/ops/deploy.h"
#include "oncall/ops/rollout.h"
#include "oncall/ops/verify.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oncall::ops {

/// How a change ended.
enum class ChangeResult { done, skipped, dry_run, failed };

/// "done", "skipped", "dry-run", "failed".
const char* change_result_name(ChangeResult result) noexcept;

/// What the command asked for beyond the target (the flags of rollback and redeploy).
struct ChangeOptions {
    bool yes = false;   // do not ask
    bool wait = true;   // follow the rollout (and verify)
    bool verify = true; // re-check the signals after the rollout
    bool auto_rollback =
        false; // redeploy: back to the previous revision on a breach or failed rollout
    bool require_verification = false; // inconclusive verification is a failure (exit 7)
    std::chrono::milliseconds timeout{std::chrono::minutes(5)};
    std::chrono::seconds verify_window{30}; // at least; four scrape intervals when longer
};

/// Checks the request and options before anything is read: the reason by request-access' rule
/// (when one is given), --to-revision > 0, --auto-rollback only for redeploy and only when waiting
/// and verifying (Errc::usage).
Result<void> validate_change(const ChangeRequest& request, const ChangeOptions& options);

/// What the use case talks to. `registry` may be null for rollbacks, `prometheus` when the context
/// has none (verification is then inconclusive).
struct ChangeBackends {
    const kube::Api& kube;
    const registry::RegistryClient* registry = nullptr;
    const prometheus::Client* prometheus = nullptr;
    const config::Context& context; // its name goes in the audit line
    std::string audit_path;         // where intent and result lines go
    WriteAccess access;             // the write credential (a grant's token, or the context's own)
    std::function<void(TimePoint)>
        sleep_until; // waits for the verification window; empty: the real clock
};

/// The automatic rollback after a failed redeploy.
struct AutoRollback {
    std::string trigger; // what it acted on: "breach", "rollout_failed" or "rollout_timed_out"
    long to_revision = 0;
    ChangeResult result = ChangeResult::failed;
    std::vector<std::string> artifacts;
    std::optional<WaitResult> rollout;
    std::string error; // "" when it worked
    std::string attempt;
};

/// Everything a change did, for the views and the exit code.
struct ChangeOutcome {
    ChangeRequest request;
    ChangePlan plan;
    ChangeResult result = ChangeResult::failed;
    std::optional<WaitResult> rollout;
    std::optional<Verification> verification;
    std::optional<AutoRollback> auto_rollback;
    std::optional<Error> error;       // why it failed; its code gives the exit code
    std::string attempt;              // the audit attempt id ("" when nothing was written)
    std::optional<std::string> grant; // the grant whose token made the write
};

/// Hears what happens while a change runs (progress lines, prompts). Every method has a default.
class ChangeObserver {
public:
    virtual ~ChangeObserver() = default;
    /// The plan is made and about to be confirmed and written.
    virtual void planned(const ChangePlan& plan, const ChangeRequest& request);
    /// Asked before writing (not with --yes or --dry-run); an error refuses and nothing is written.
    virtual Result<void> confirm(const ChangePlan& plan, const ChangeRequest& request);
    /// A new rollout status while waiting.
    virtual void rollout_progress(const RolloutStatus& status);
    /// The wait ended.
    virtual void rollout_finished(const WaitResult& result);
    /// Verification started: it ends `window` after the rollout finished.
    virtual void verifying(std::chrono::seconds window, const ScrapeInterval& scrape);
    /// Verification concluded.
    virtual void verified(const Verification& verification);
    /// The redeploy failed and the previous revision is being restored.
    virtual void rolling_back(long revision, std::string_view why);
    /// A warning or note for stderr (starts with "warning:" or "note:").
    virtual void note(std::string_view text);
};

/// Runs a rollback or redeploy. Errors before anything was written (bad request, refused plan,
/// not confirmed, the intent line could not be written) are returned as errors; once a write was
/// attempted the outcome is returned, with `error` set when it failed (conflict, failed rollout,
/// breach, inconclusive under --require-verification or --auto-rollback, no audit result line).
/// Each attempt (the change, and an automatic rollback) writes one `intent` line before its first
/// write and one `result` line after, both naming the grant when one was used.
Result<ChangeOutcome> run_change(const ChangeBackends& backends, const ChangeRequest& request,
                                 const ChangeOptions& options, ChangeObserver& observer);

/// Builds the backends of `context` (Kubernetes, registry, Prometheus), picks the write credential
/// for the service (an active grant when required) and runs the change.
Result<ChangeOutcome> run_change_in_context(const config::Context& context, ChangeRequest request,
                                            const ChangeOptions& options, ChangeObserver& observer,
                                            const std::function<void(std::string_view)>& log = {});

} // namespace oncall::ops
