// Rollback and redeploy: planning, applying, audit records.

#include "oncall/ops/deploy.h"

#include "oncall/core/time.h"

#include <cstdlib>
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

namespace oncall::ops {
namespace {

RevisionRef ref_of(const kube::Revision& r) {
    return RevisionRef{r.number, r.artifacts};
}

std::vector<std::string> images_of(const kube::Deployment& d) {
    std::vector<std::string> out;
    for (const auto& c : d.pod_template.containers) {
        out.push_back(c.image);
    }
    return out;
}

// Reads the Deployment and its revisions, refusing paused and GitOps-owned ones.
Result<ChangePlan> read_target(const kube::Api& client, const ChangeRequest& request) {
    const auto& service = request.service;
    auto deployment = client.get_deployment(service.namespace_name, service.deployment);
    if (!deployment) {
        return std::move(deployment).error();
    }
    ChangePlan plan;
    plan.action = request.action;
    plan.deployment = std::move(*deployment);
    const std::string id =
        fmt::format("deployment {}/{}", service.namespace_name, service.deployment);
    if (plan.deployment.paused) {
        return make_error(
            Errc::conflict,
            fmt::format(
                "{} is paused: someone is holding its rollouts; nothing was changed (resume it "
                "with 'kubectl rollout resume -n {} deployment/{}' once that is agreed)",
                id, service.namespace_name, service.deployment));
    }
    if (auto owner = gitops_owner(plan.deployment)) {
        if (!request.force) {
            return make_error(
                Errc::conflict,
                fmt::format(
                    "{} is managed by {}: a change made here would be reverted by its next "
                    "sync or fight with it; change it in Git, or pass --force to write anyway "
                    "(nothing was changed)",
                    id, *owner));
        }
        plan.gitops = owner;
    }
    auto revisions = client.deployment_revisions(plan.deployment);
    if (!revisions) {
        return std::move(revisions).error();
    }
    plan.revisions = std::move(*revisions);
    plan.cause = change_cause(deploy_action_name(request.action), request.actor, request.reason);
    return plan;
}

} // namespace

const char* deploy_action_name(DeployAction action) noexcept {
    return action == DeployAction::rollback ? "rollback" : "redeploy";
}

Result<ChangePlan> plan_rollback(const kube::Api& client, const ChangeRequest& request,
                                 const SignalTargetRule& signal_rule) {
    auto read = read_target(client, request);
    if (!read) {
        return read;
    }
    ChangePlan plan = std::move(*read);
    const auto* current = current_revision(plan.revisions);
    if (current != nullptr) {
        plan.from = ref_of(*current);
    } else {
        plan.from = RevisionRef{0, images_of(plan.deployment)};
    }
    std::optional<TargetChoice> choice;
    if (!request.to_revision && signal_rule && current != nullptr) {
        auto by_signals = signal_rule(plan.revisions, *current);
        if (!by_signals) {
            return std::move(by_signals).error();
        }
        choice = *by_signals;
    }
    if (!choice) {
        auto fallback = choose_rollback_target(plan.revisions, request.to_revision);
        if (!fallback) {
            return std::move(fallback).error();
        }
        choice = *fallback;
        if (!request.to_revision && signal_rule) {
            choice->rule += " (no metrics to judge the revisions by)";
        }
    }
    const kube::Revision& target = *choice->revision;
    plan.to = ref_of(target);
    plan.rule = choice->rule;
    if (kube::same_template(target.pod_template.raw, plan.deployment.pod_template.raw)) {
        plan.skip = true;
        plan.skip_reason =
            fmt::format("deployment {} already runs revision {}'s template; nothing to roll back",
                        plan.deployment.metadata.name, target.number);
        return plan;
    }
    plan.patch_type = kube::PatchType::json_patch;
    plan.patch = build_rollback_patch(plan.deployment, target, plan.cause).dump();
    return plan;
}

Result<ChangePlan> plan_redeploy(const kube::Api& client, const registry::RegistryClient& registry,
                                 const ChangeRequest& request) {
    // Check the image arguments before talking to anyone.
    std::vector<ImageChange> changes;
    for (const auto& text : request.images) {
        auto change = parse_image_change(text);
        if (!change) {
            return std::move(change).error();
        }
        changes.push_back(std::move(*change));
    }
    auto read = read_target(client, request);
    if (!read) {
        return read;
    }
    ChangePlan plan = std::move(*read);
    const auto* current = current_revision(plan.revisions);
    plan.from = current != nullptr ? ref_of(*current) : RevisionRef{0, images_of(plan.deployment)};
    plan.to.revision = 0;
    if (changes.empty()) {
        plan.to.artifacts = images_of(plan.deployment);
        plan.rule =
            "restart: fresh instances of the same artifacts (kubectl.kubernetes.io/restartedAt)";
        plan.patch_type = kube::PatchType::strategic_merge_patch;
        plan.patch = build_restart_patch(
                         plan.deployment,
                         format_rfc3339(std::chrono::time_point_cast<std::chrono::seconds>(now())),
                         plan.cause)
                         .dump();
        return plan;
    }
    auto assigned = assign_containers(plan.deployment, std::move(changes));
    if (!assigned) {
        return std::move(assigned).error();
    }
    auto allowed = allowed_repositories(request.service.repositories, plan.deployment);
    if (!allowed) {
        return std::move(allowed).error();
    }
    for (auto& change : *assigned) {
        if (auto ok = check_reference_allowed(change.reference, *allowed, request.service.name);
            !ok) {
            return std::move(ok).error();
        }
    }
    std::vector<std::string> resolved_notes;
    for (auto& change : *assigned) {
        auto resolved = registry.resolve(change.reference);
        if (!resolved) {
            auto e = std::move(resolved).error();
            e.message = fmt::format(
                "{}; refusing to redeploy {} with an image that does not resolve to a digest "
                "(nothing was changed)",
                e.message, request.service.name);
            return e;
        }
        if (!change.reference.tag.empty()) {
            resolved_notes.push_back(fmt::format("{}:{} -> {}", change.reference.name(),
                                                 change.reference.tag, resolved->reference.digest));
        }
        change.reference.digest = resolved->reference.digest;
    }
    plan.to.artifacts = images_after(plan.deployment, *assigned);
    plan.rule = resolved_notes.empty()
                    ? std::string("new artifacts, pinned by digest")
                    : fmt::format("new artifacts, tags resolved through the registry: {}",
                                  fmt::join(resolved_notes, ", "));
    if (plan.to.artifacts == images_of(plan.deployment)) {
        plan.skip = true;
        plan.skip_reason =
            fmt::format("deployment {} already runs {}; use redeploy without --image for fresh "
                        "instances",
                        plan.deployment.metadata.name, fmt::join(plan.to.artifacts, ", "));
        return plan;
    }
    auto patch = build_image_patch(plan.deployment, *assigned, plan.cause);
    if (!patch) {
        return std::move(patch).error();
    }
    plan.patch_type = kube::PatchType::json_patch;
    plan.patch = patch->dump();
    return plan;
}

Result<Applied> apply_plan(const kube::Api& client, const ChangePlan& plan,
                           const ChangeRequest& request) {
    const auto& d = plan.deployment;
    kube::WriteOptions options;
    options.dry_run = request.dry_run;
    options.bearer_token = request.write_token;
    auto patched =
        client.patch(kube::KubeClient::deployment_path(d.metadata.namespace_name, d.metadata.name),
                     plan.patch_type, plan.patch, options);
    if (!patched) {
        auto e = std::move(patched).error();
        if (e.code == Errc::conflict) {
            e.message = fmt::format(
                "deployment {}/{} changed after it was read (resourceVersion {} is no longer "
                "current): someone else changed it; nothing was overwritten. Look at 'oncall "
                "status {}' and 'oncall history {}' and decide again",
                d.metadata.namespace_name, d.metadata.name, d.metadata.resource_version,
                request.service.name, request.service.name);
        }
        return e;
    }
    Applied applied;
    applied.resource_version_before = d.metadata.resource_version;
    if (auto md = kube::decode_metadata(*patched)) {
        applied.resource_version_after = md->resource_version;
        applied.generation_after = md->generation;
    }
    if (request.dry_run) {
        return applied;
    }
    kube::ObjectReference ref{"apps/v1",       "Deployment",
                              d.metadata.name, d.metadata.namespace_name,
                              d.metadata.uid,  applied.resource_version_after};
    const std::string message =
        fmt::format("{}: revision {} [{}] -> {} [{}] ({})", plan.cause, plan.from.revision,
                    fmt::join(plan.from.artifacts, ", "),
                    plan.to.revision == 0 ? std::string("new revision")
                                          : fmt::format("revision {}", plan.to.revision),
                    fmt::join(plan.to.artifacts, ", "), plan.rule);
    kube::WriteOptions event_options;
    event_options.bearer_token = request.write_token;
    auto event = client.create_event(ref, "Normal",
                                     request.action == DeployAction::rollback ? "OncallRollback"
                                                                              : "OncallRedeploy",
                                     message, event_options);
    if (!event) {
        applied.event_warning = fmt::format(
            "the change was made but its Event could not be recorded: {}", event.error().message);
    }
    return applied;
}

nlohmann::json revision_ref_json(const RevisionRef& ref) {
    return {
        {"revision", ref.revision == 0 ? nlohmann::json(nullptr) : nlohmann::json(ref.revision)},
        {"artifacts", ref.artifacts}};
}

nlohmann::json change_audit_record(const std::string& context, const ChangeRequest& request,
                                   const ChangePlan& plan, const std::string& result,
                                   int exit_code) {
    nlohmann::json record = {
        {"user", request.actor},
        {"context", context},
        {"service", request.service.name},
        {"namespace", plan.deployment.metadata.namespace_name},
        {"deployment", plan.deployment.metadata.name},
        {"action", deploy_action_name(request.action)},
        {"from", revision_ref_json(plan.from)},
        {"to", revision_ref_json(plan.to)},
        {"rule", plan.rule},
        {"reason", request.reason},
        {"dry_run", request.dry_run},
        {"result", result},
        {"exit_code", exit_code},
        {"credential", request.write_token ? "grant" : "context"},
    };
    if (plan.gitops) {
        record["forced_over"] = *plan.gitops;
    }
    return record;
}

std::string local_user() {
    const char* user = std::getenv("USER");
    if (user != nullptr && *user != '\0') {
        return user;
    }
    if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name != nullptr) {
        return pw->pw_name;
    }
    return "unknown";
}

} // namespace oncall::ops
