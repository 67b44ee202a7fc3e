// Rollout status (kubectl's rules), pod problems, and waiting for a rollout with watches.

#include "oncall/ops/rollout.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

namespace oncall::ops {
namespace {

const std::set<std::string, std::less<>> k_fatal_reasons = {
    "CrashLoopBackOff",  "ImagePullBackOff",           "ErrImagePull",         "InvalidImageName",
    "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
};

// Waiting reasons that are normal while a pod starts.
const std::set<std::string, std::less<>> k_starting_reasons = {"ContainerCreating",
                                                               "PodInitializing"};

long revision_of(const kube::Deployment& d) {
    const auto it = d.metadata.annotations.find(kube::k_revision_annotation);
    if (it == d.metadata.annotations.end()) {
        return 0;
    }
    try {
        return std::stol(it->second);
    } catch (const std::exception&) {
        return 0;
    }
}

} // namespace

const char* rollout_state_name(RolloutState state) noexcept {
    switch (state) {
    case RolloutState::complete:
        return "complete";
    case RolloutState::progressing:
        return "progressing";
    case RolloutState::failed:
        return "failed";
    case RolloutState::paused:
        return "paused";
    }
    return "progressing";
}

bool PodProblem::fatal() const {
    return k_fatal_reasons.count(reason) > 0;
}

RolloutStatus evaluate_rollout(const kube::Deployment& d) {
    RolloutStatus s;
    s.name = d.metadata.name;
    s.revision = revision_of(d);
    s.desired = d.replicas;
    s.updated = d.status.updated_replicas;
    s.ready = d.status.ready_replicas;
    s.available = d.status.available_replicas;
    s.total = d.status.replicas;
    s.resource_version = d.metadata.resource_version;
    s.observed = d.metadata.generation <= d.status.observed_generation;
    const std::string& n = d.metadata.name;
    if (d.paused) {
        s.state = RolloutState::paused;
        s.message = fmt::format("deployment \"{}\" is paused; resume it before it can roll out", n);
        s.reason = "the Deployment is paused";
        return s;
    }
    if (!s.observed) {
        s.state = RolloutState::progressing;
        s.message = "Waiting for deployment spec update to be observed...";
        return s;
    }
    const auto* progressing = d.status.condition("Progressing");
    if (progressing != nullptr && progressing->reason == "ProgressDeadlineExceeded") {
        s.state = RolloutState::failed;
        s.message = fmt::format("deployment \"{}\" exceeded its progress deadline", n);
        s.reason = progressing->message.empty()
                       ? std::string("progress deadline exceeded")
                       : fmt::format("progress deadline exceeded: {}", progressing->message);
        return s;
    }
    s.state = RolloutState::progressing;
    if (s.updated < s.desired) {
        s.message = fmt::format(
            "Waiting for deployment \"{}\" rollout to finish: {} out of {} new replicas have been "
            "updated...",
            n, s.updated, s.desired);
    } else if (s.total > s.updated) {
        s.message = fmt::format(
            "Waiting for deployment \"{}\" rollout to finish: {} old replicas are pending "
            "termination...",
            n, s.total - s.updated);
    } else if (s.available < s.updated) {
        s.message = fmt::format(
            "Waiting for deployment \"{}\" rollout to finish: {} of {} updated replicas are "
            "available...",
            n, s.available, s.updated);
    } else {
        s.state = RolloutState::complete;
        s.message = fmt::format("deployment \"{}\" successfully rolled out", n);
    }
    return s;
}

std::vector<PodProblem> pod_problems(const std::vector<kube::Pod>& pods,
                                     const std::string& new_replicaset_uid) {
    std::vector<PodProblem> out;
    for (const auto& pod : pods) {
        const auto* owner = pod.metadata.controller();
        const bool in_new =
            owner != nullptr && !new_replicaset_uid.empty() && owner->uid == new_replicaset_uid;
        if (pod.phase == "Failed") {
            out.push_back({pod.metadata.name, "", "Failed", "the pod failed", 0, in_new});
            continue;
        }
        for (const auto& c : pod.container_statuses) {
            PodProblem p{pod.metadata.name, c.name, "", "", c.restart_count, in_new};
            if (!c.waiting_reason.empty() && k_starting_reasons.count(c.waiting_reason) == 0) {
                p.reason = c.waiting_reason;
                p.message = c.waiting_message;
            } else if (!c.ready && pod.phase == "Running" && c.waiting_reason.empty()) {
                p.reason = c.restart_count > 0 ? "Restarting" : "NotReady";
                if (!c.last_terminated_reason.empty()) {
                    p.message = fmt::format("last terminated: {}", c.last_terminated_reason);
                }
            } else {
                continue;
            }
            out.push_back(std::move(p));
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const PodProblem& a, const PodProblem& b) {
        return std::make_tuple(!a.in_new_replicaset, !a.fatal()) <
               std::make_tuple(!b.in_new_replicaset, !b.fatal());
    });
    return out;
}

RolloutStatus assess_rollout(const kube::Deployment& deployment,
                             const std::vector<kube::ReplicaSet>& replicasets,
                             const std::vector<kube::Pod>& pods) {
    RolloutStatus s = evaluate_rollout(deployment);
    std::set<std::string> owned;
    for (const auto& rs : replicasets) {
        const auto* owner = rs.metadata.controller();
        if (owner != nullptr && owner->uid == deployment.metadata.uid) {
            owned.insert(rs.metadata.uid);
        }
    }
    std::vector<kube::Pod> mine;
    for (const auto& pod : pods) {
        const auto* owner = pod.metadata.controller();
        if (owner != nullptr && owned.count(owner->uid) > 0) {
            mine.push_back(pod);
        }
    }
    const auto* fresh = new_replicaset(deployment, replicasets);
    s.problems = pod_problems(mine, fresh != nullptr ? fresh->metadata.uid : std::string());
    if (s.state == RolloutState::paused) {
        return s;
    }
    const auto cause = std::find_if(s.problems.begin(), s.problems.end(), [](const PodProblem& p) {
        return p.in_new_replicaset && p.fatal();
    });
    if (cause == s.problems.end()) {
        return s;
    }
    if (s.state == RolloutState::failed) {
        // Past its progress deadline: say why the new pods never became available.
        s.reason += "; " + problem_sentence(*cause);
        return s;
    }
    s.state = RolloutState::failed;
    s.reason = problem_sentence(*cause);
    s.message =
        fmt::format("deployment \"{}\" cannot roll out: {}", deployment.metadata.name, s.reason);
    return s;
}

std::string problem_sentence(const PodProblem& p) {
    std::string s = p.container.empty()
                        ? fmt::format("pod {}: {}", p.pod, p.reason)
                        : fmt::format("pod {} container {}: {}", p.pod, p.container, p.reason);
    if (p.restarts > 0) {
        s += fmt::format(" ({} restart{})", p.restarts, p.restarts == 1 ? "" : "s");
    }
    return s;
}

const kube::ReplicaSet* new_replicaset(const kube::Deployment& deployment,
                                       const std::vector<kube::ReplicaSet>& replicasets) {
    const kube::ReplicaSet* best = nullptr;
    for (const auto& rs : replicasets) {
        const auto* owner = rs.metadata.controller();
        if (owner == nullptr || owner->uid != deployment.metadata.uid) {
            continue;
        }
        if (!kube::same_template(rs.pod_template.raw, deployment.pod_template.raw)) {
            continue;
        }
        if (best == nullptr || rs.revision.value_or(0) > best->revision.value_or(0)) {
            best = &rs;
        }
    }
    return best;
}

} // namespace oncall::ops
