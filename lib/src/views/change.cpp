// The views of rollback and redeploy.

#include "oncall/views/change.h"

#include "oncall/core/duration.h"
#include "oncall/core/time.h"
#include "oncall/render/sanitize.h"

#include <fmt/format.h>

namespace oncall::views {
namespace {

using nlohmann::json;
using render::sanitize;

std::string artifacts_text(const std::vector<std::string>& artifacts) {
    return artifacts.empty() ? std::string("(none)")
                             : sanitize(fmt::format("{}", fmt::join(artifacts, ", ")));
}

std::string revision_text(long revision) {
    return revision == 0 ? std::string("a new revision") : fmt::format("revision {}", revision);
}

json rollout_json(const ops::WaitResult& w) {
    const bool failed = w.end == ops::WaitEnd::failed;
    return {{"state", failed ? "failed" : ops::rollout_state_name(w.status.state)},
            {"desired", w.status.desired},
            {"updated", w.status.updated},
            {"ready", w.status.ready},
            {"available", w.status.available},
            {"elapsed_ms", w.elapsed.count()},
            {"timed_out", w.end == ops::WaitEnd::timed_out},
            {"message", w.reason}};
}

std::string rollout_line(const ops::WaitResult& w) {
    const std::string took = format_duration(w.elapsed);
    switch (w.end) {
    case ops::WaitEnd::complete:
        return fmt::format("rollout: complete in {} ({}/{} available)", took, w.status.available,
                           w.status.desired);
    case ops::WaitEnd::failed:
        return fmt::format("rollout: failed after {}: {}", took, sanitize(w.reason));
    case ops::WaitEnd::paused:
        return "rollout: the deployment was paused";
    case ops::WaitEnd::timed_out:
        return fmt::format("rollout: not done after {}: {}", took, sanitize(w.status.message));
    }
    return "rollout: unknown";
}

} // namespace

std::string verification_line(const ops::Verification& v) {
    std::string line = fmt::format("verification: {}", ops::verification_status_name(v.status));
    if (v.status == ops::VerificationStatus::inconclusive && !v.reason.empty()) {
        line += fmt::format(" ({})", sanitize(v.reason));
    }
    if (!v.checks.empty()) {
        line += fmt::format(": {}", sanitize(v.summary));
    }
    if (v.window.count() > 0) {
        line += fmt::format(" over {} (scrape interval {}, from {})", format_duration(v.window),
                            format_duration(v.scrape.interval), v.scrape.source);
    }
    return line;
}

std::string change_plan_text(const ops::ChangePlan& plan, const ops::ChangeRequest& request) {
    const auto& d = plan.deployment;
    std::string out =
        fmt::format("{} {} (deployment {}/{}){}\n", ops::deploy_action_name(plan.action),
                    sanitize(request.service.name), sanitize(d.metadata.namespace_name),
                    sanitize(d.metadata.name), request.dry_run ? " [dry run]" : "");
    out += fmt::format("  from: {}  {}\n", revision_text(plan.from.revision),
                       artifacts_text(plan.from.artifacts));
    out += fmt::format("  to:   {}  {}\n", revision_text(plan.to.revision),
                       artifacts_text(plan.to.artifacts));
    out += fmt::format("  rule: {}\n", sanitize(plan.rule));
    out += fmt::format("  change-cause: {}\n", sanitize(plan.cause));
    if (plan.gitops) {
        out += fmt::format("  warning: managed by {}; writing anyway because of --force\n",
                           sanitize(*plan.gitops));
    }
    return out;
}

std::string change_text(const ops::ChangeOutcome& o, const TextOptions& options) {
    const auto& style = options.style;
    const std::string action = ops::deploy_action_name(o.request.action);
    const std::string service = sanitize(o.request.service.name);
    std::string out;
    switch (o.result) {
    case ops::ChangeResult::skipped:
        return fmt::format("skipped: {}\n", sanitize(o.plan.skip_reason));
    case ops::ChangeResult::dry_run:
        return "dry run: the API server accepted the change; nothing was written\n";
    case ops::ChangeResult::done:
        out = fmt::format("{}: {} {} ({})\n", action, service,
                          o.rollout ? "now runs" : "now rolling out",
                          artifacts_text(o.plan.to.artifacts));
        break;
    case ops::ChangeResult::failed:
        out = fmt::format("{}: {} {}\n", action, service,
                          render::paint("FAILED", render::Color::red, style));
        break;
    }
    if (o.rollout) {
        out += "  " + rollout_line(*o.rollout) + "\n";
    }
    if (o.verification) {
        const auto color =
            o.verification->status == ops::VerificationStatus::pass     ? render::Color::green
            : o.verification->status == ops::VerificationStatus::breach ? render::Color::red
                                                                        : render::Color::yellow;
        const std::string line = verification_line(*o.verification);
        const auto colon = line.find(": ") + 2;
        const auto end = line.find_first_of(" :", colon);
        out += "  " + line.substr(0, colon) +
               render::paint(line.substr(colon, end - colon), color, style) + line.substr(end) +
               "\n";
    }
    if (o.auto_rollback) {
        const auto& b = *o.auto_rollback;
        const std::string after = b.trigger == "breach"              ? "the SLO breach"
                                  : b.trigger == "rollout_timed_out" ? "the rollout timed out"
                                                                     : "the failed rollout";
        out += fmt::format("  auto-rollback to revision {} after {}: {}{}\n", b.to_revision, after,
                           ops::change_result_name(b.result),
                           b.error.empty() ? std::string() : " (" + sanitize(b.error) + ")");
    }
    return out;
}

json change_json(const ops::ChangeOutcome& o) {
    json j = {
        {"service", o.request.service.name},
        {"action", ops::deploy_action_name(o.request.action)},
        {"from", ops::revision_ref_json(o.plan.from)},
        {"to", ops::revision_ref_json(o.plan.to)},
        {"rule", o.plan.rule},
        {"result", ops::change_result_name(o.result)},
        {"verification", o.verification ? ops::verification_json(*o.verification) : json(nullptr)},
        {"rollout", o.rollout ? rollout_json(*o.rollout) : json(nullptr)},
        {"change_cause", o.plan.cause},
        {"dry_run", o.request.dry_run},
        {"attempt", o.attempt.empty() ? json(nullptr) : json(o.attempt)},
        {"grant", o.grant ? json(*o.grant) : json(nullptr)}};
    if (o.plan.skip) {
        j["skip_reason"] = o.plan.skip_reason;
    }
    if (o.auto_rollback) {
        const auto& b = *o.auto_rollback;
        j["auto_rollback"] = {{"to", b.to_revision},
                              {"trigger", b.trigger},
                              {"result", ops::change_result_name(b.result)},
                              {"artifacts", b.artifacts},
                              {"rollout", b.rollout ? rollout_json(*b.rollout) : json(nullptr)},
                              {"error", b.error.empty() ? json(nullptr) : json(b.error)}};
    }
    if (o.error) {
        j["error"] = {{"code", errc_name(o.error->code)}, {"message", o.error->message}};
    }
    return j;
}

} // namespace oncall::views
