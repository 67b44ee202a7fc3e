#pragma once
// The views of rollback and redeploy: the plan shown before confirming, the result as text and as
// the JSON document of DESIGN.md. Pure functions of the outcome (golden-tested).

#include "oncall/ops/change.h"
#include "oncall/views/view.h"

#include <nlohmann/json.hpp>
#include <string>

namespace oncall::views {

/// The plan: action, Deployment, from/to revisions with their artifacts, the rule, the
/// change-cause. Text that came from the cluster, the registry or a person is sanitised
/// (render::sanitize).
std::string change_plan_text(const ops::ChangePlan& plan, const ops::ChangeRequest& request);

/// The result for stdout: one line saying what happened (done, skipped, dry-run, failed), then
/// the rollout, the verification and any automatic rollback.
std::string change_text(const ops::ChangeOutcome& outcome, const TextOptions& options);

/// `rollback|redeploy -o json`: {"service", "action", "from", "to", "rule", "result",
/// "verification": {"status": "pass|breach|inconclusive", ...}|null, "rollout", "auto_rollback",
/// "error", "attempt", "grant", ...}.
nlohmann::json change_json(const ops::ChangeOutcome& outcome);

/// The one-line verification summary ("pass: error ratio 0.2% <= 1.0%, ... over 2m").
std::string verification_line(const ops::Verification& verification);

} // namespace oncall::views
