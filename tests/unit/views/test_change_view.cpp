// Golden files of the rollback/redeploy views: one outcome per result, text and JSON, fixed clock.
// A changed view fails here until its golden file is rewritten on purpose (scripts/update-goldens).

#include "golden.h"
#include "oncall/views/change.h"

#include <catch2/catch.hpp>

using namespace oncall;
using namespace std::chrono_literals;
using oncall::test::check_golden;

namespace {

const TimePoint k_done = TimePoint(std::chrono::milliseconds(1764400000000));
const std::string k_good = "127.0.0.1:5001/shop/checkout@sha256:" + std::string(64, 'b');
const std::string k_bad = "127.0.0.1:5001/shop/checkout@sha256:" + std::string(64, 'c');

ops::ChangeOutcome outcome(ops::DeployAction action) {
    ops::ChangeOutcome o;
    o.request.action = action;
    o.request.service.name = "checkout";
    o.request.reason = "12% errors since 1.2.2";
    o.plan.action = action;
    o.plan.deployment.metadata.name = "checkout";
    o.plan.deployment.metadata.namespace_name = "shop";
    o.plan.from = {3, {k_bad}};
    o.plan.to = {2, {k_good}};
    o.plan.rule = "newest earlier revision that was healthy while it ran";
    o.plan.cause = "rollback by alice: 12% errors since 1.2.2";
    o.attempt = "0123456789abcdef";
    o.grant = "g-7f3a";
    return o;
}

ops::WaitResult complete_rollout() {
    ops::WaitResult w;
    w.end = ops::WaitEnd::complete;
    w.status.state = ops::RolloutState::complete;
    w.status.desired = w.status.updated = w.status.ready = w.status.available = 3;
    w.reason = "deployment \"checkout\" successfully rolled out";
    w.elapsed = 8200ms;
    return w;
}

ops::Verification verification(ops::VerificationStatus status,
                               std::vector<std::optional<double>> values) {
    ops::Verification v;
    v.status = status;
    v.from = k_done;
    v.to = k_done + 120s;
    v.window = 120s;
    v.scrape = {30s, "prometheus targets"};
    const char* names[] = {"request_rate", "error_ratio", "latency_p99"};
    const char* titles[] = {"request rate", "error ratio", "p99 latency"};
    const std::optional<double> thresholds[] = {std::nullopt, 0.01, 0.5};
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < 3; ++i) {
        std::string state = !values[i]                                     ? "unknown"
                            : thresholds[i] && *values[i] > *thresholds[i] ? "breach"
                                                                           : "ok";
        v.checks.push_back({names[i], titles[i], values[i], thresholds[i], state});
    }
    v.summary = status == ops::VerificationStatus::breach
                    ? "request rate 60.0/s, error ratio 15.0% > 1.0%, p99 "
                      "latency 1.80s > 500ms"
                : status == ops::VerificationStatus::pass
                    ? "request rate 60.0/s, error ratio 0.2% <= 1.0%, p99 "
                      "latency 200ms <= 500ms"
                    : "request rate 0.0/s, error ratio no data, p99 latency no "
                      "data";
    if (status == ops::VerificationStatus::inconclusive) {
        v.reason = "the service served no requests in the window";
    }
    return v;
}

void check_both(const std::string& name, const ops::ChangeOutcome& o) {
    views::TextOptions options;
    options.now = k_done;
    check_golden("change_" + name + ".txt", views::change_text(o, options));
    check_golden("change_" + name + ".json", views::change_json(o).dump(2) + "\n");
}

} // namespace

TEST_CASE("golden: rollback done and verified", "[views][golden]") {
    auto o = outcome(ops::DeployAction::rollback);
    o.result = ops::ChangeResult::done;
    o.rollout = complete_rollout();
    o.verification = verification(ops::VerificationStatus::pass, {60.0, 0.002, 0.2});
    check_both("rollback_done", o);
    check_golden("change_rollback_plan.txt", views::change_plan_text(o.plan, o.request));
}

TEST_CASE("golden: rollback skipped", "[views][golden]") {
    auto o = outcome(ops::DeployAction::rollback);
    o.result = ops::ChangeResult::skipped;
    o.plan.skip = true;
    o.plan.skip_reason =
        "deployment checkout already runs revision 2's template; nothing to roll back";
    o.attempt.clear();
    check_both("rollback_skipped", o);
}

TEST_CASE("golden: rollback dry run", "[views][golden]") {
    auto o = outcome(ops::DeployAction::rollback);
    o.result = ops::ChangeResult::dry_run;
    o.request.dry_run = true;
    o.attempt.clear();
    check_both("rollback_dry_run", o);
}

TEST_CASE("golden: rollback failed on a conflict", "[views][golden]") {
    auto o = outcome(ops::DeployAction::rollback);
    o.result = ops::ChangeResult::failed;
    o.error = make_error(
        Errc::conflict, "deployment shop/checkout changed after it was read (resourceVersion 48213 "
                        "is no longer current): someone else changed it; nothing was overwritten");
    check_both("rollback_failed_conflict", o);
}

TEST_CASE("golden: redeploy breached its SLO and was rolled back", "[views][golden]") {
    auto o = outcome(ops::DeployAction::redeploy);
    o.plan.from = {2, {k_good}};
    o.plan.to = {0, {k_bad}};
    o.plan.rule = "new artifacts, pinned by digest";
    o.plan.cause = "redeploy by alice: release 1.3.0";
    o.result = ops::ChangeResult::failed;
    o.rollout = complete_rollout();
    o.verification = verification(ops::VerificationStatus::breach, {60.0, 0.15, 1.8});
    ops::AutoRollback back;
    back.trigger = "breach";
    back.to_revision = 2;
    back.result = ops::ChangeResult::done;
    back.artifacts = {k_good};
    back.rollout = complete_rollout();
    back.attempt = "fedcba9876543210";
    o.auto_rollback = back;
    o.error = make_error(
        Errc::verification_failed,
        "verification of checkout failed: error ratio 15.0% > 1.0% (over 2m after the rollout); "
        "auto-rollback to revision 2: done");
    check_both("redeploy_breach_rolled_back", o);
}

TEST_CASE("golden: redeploy with an inconclusive verification", "[views][golden]") {
    auto o = outcome(ops::DeployAction::redeploy);
    o.plan.from = {2, {k_good}};
    o.plan.to = {0, {k_good}};
    o.plan.rule =
        "restart: fresh instances of the same artifacts (kubectl.kubernetes.io/restartedAt)";
    o.plan.cause = "redeploy by alice: fresh instances";
    o.result = ops::ChangeResult::done;
    o.rollout = complete_rollout();
    o.verification =
        verification(ops::VerificationStatus::inconclusive, {0.0, std::nullopt, std::nullopt});
    check_both("redeploy_inconclusive", o);
}

TEST_CASE("golden: redeploy whose rollout failed", "[views][golden]") {
    auto o = outcome(ops::DeployAction::redeploy);
    o.plan.from = {2, {k_good}};
    o.plan.to = {0, {k_bad}};
    o.plan.rule = "new artifacts, pinned by digest";
    o.result = ops::ChangeResult::failed;
    ops::WaitResult w;
    w.end = ops::WaitEnd::failed;
    w.status.state = ops::RolloutState::failed;
    w.status.desired = 3;
    w.status.updated = 1;
    w.status.ready = 3;
    w.status.available = 3;
    w.reason = "pod checkout-5d8-x container checkout: CrashLoopBackOff (3 restarts)";
    w.elapsed = 14s;
    o.rollout = w;
    o.error =
        make_error(Errc::rollout_failed, "the rollout of checkout failed after 14s: " + w.reason);
    check_both("redeploy_rollout_failed", o);
}
