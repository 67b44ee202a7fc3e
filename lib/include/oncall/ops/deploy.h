#pragma once
// Rollback and redeploy as use cases: plan (read, decide, refuse; writes nothing), apply (the one
// PATCH with its precondition, then a core/v1 Event), and the audit record of what was done.

#include "oncall/backends/kubernetes.h"
#include "oncall/backends/registry.h"
#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/ops/deploy_plan.h"

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace oncall::ops {

enum class DeployAction { rollback, redeploy };

/// "rollback" or "redeploy".
const char* deploy_action_name(DeployAction action) noexcept;

/// A rollback or redeploy as asked for on the command line.
struct ChangeRequest {
    DeployAction action = DeployAction::rollback;
    config::Service service;
    std::optional<long> to_revision; // rollback --to-revision
    std::vector<std::string> images; // redeploy --image [CONTAINER=]REF
    std::string reason;              // --reason
    std::string actor;               // who, for change-cause, the Event and the audit line
    bool dry_run = false;
    bool force = false; // write even when a GitOps controller owns the Deployment
    /// Bearer token for the writes (an access grant's); nullopt: the context's own credentials.
    std::optional<std::string> write_token;
};

/// Picks a rollback target from signals (newest earlier revision that was healthy while it ran);
/// nullopt when no metrics are available, so the "previous revision" rule applies.
using SignalTargetRule = std::function<Result<std::optional<TargetChoice>>(
    const std::vector<kube::Revision>& revisions, const kube::Revision& current)>;

/// What a change will do, decided before anything is written.
struct ChangePlan {
    DeployAction action = DeployAction::rollback;
    kube::Deployment deployment;
    std::vector<kube::Revision> revisions;
    RevisionRef from;
    RevisionRef to;    // for redeploy: revision 0 (a new one) and the artifacts it will run
    std::string rule;  // why this target
    bool skip = false; // nothing to do (already running the target)
    std::string skip_reason;
    std::optional<std::string> gitops; // owner overridden with --force
    kube::PatchType patch_type = kube::PatchType::json_patch;
    std::string patch; // body
    std::string cause; // change-cause text
};

/// Plans a rollback: refuses a paused Deployment and (without force) a GitOps-owned one
/// (Errc::conflict), picks the target (--to-revision, else `signal_rule` when it answers, else the
/// previous revision), skips when the template already matches, builds the JSON patch.
Result<ChangePlan> plan_rollback(const kube::Api& client, const ChangeRequest& request,
                                 const SignalTargetRule& signal_rule = {});

/// Plans a redeploy: without images a restart; with images each reference is checked against the
/// allowed repositories (Errc::access_denied listing them) and resolved to a digest through the
/// registry (unresolvable: refused before any write). Paused / GitOps refused as for rollback.
Result<ChangePlan> plan_redeploy(const kube::Api& client, const registry::RegistryClient& registry,
                                 const ChangeRequest& request);

/// What apply_plan did.
struct Applied {
    std::string resource_version_before;
    std::string resource_version_after;
    long generation_after = 0;
    std::optional<std::string> event_warning; // the Event could not be posted (the change stands)
};

/// Sends the patch (with ?dryRun=All when asked) using the request's write token; a concurrent
/// change is Errc::conflict and nothing is overwritten. Without dry-run, then posts a core/v1
/// Event on the Deployment.
Result<Applied> apply_plan(const kube::Api& client, const ChangePlan& plan,
                           const ChangeRequest& request);

/// The audit record of a change (no credentials): who, where, what, from/to revision and digests,
/// why, the result and the exit code.
nlohmann::json change_audit_record(const std::string& context, const ChangeRequest& request,
                                   const ChangePlan& plan, const std::string& result,
                                   int exit_code);

/// The JSON of a revision reference: {"revision", "artifacts"}.
nlohmann::json revision_ref_json(const RevisionRef& ref);

/// The login name of the local user ($USER, else the password database), or "unknown".
std::string local_user();

} // namespace oncall::ops
