#pragma once
// The rollout state of a Deployment as `kubectl rollout status` judges it, the problems of its
// pods, and waiting for a rollout with watches (fail fast on crash-looping or unpullable pods).

#include "oncall/backends/kubernetes.h"
#include "oncall/core/result.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace oncall::ops {

enum class RolloutState { complete, progressing, failed, paused };

/// "complete", "progressing", "failed", "paused".
const char* rollout_state_name(RolloutState state) noexcept;

/// Something wrong with one container of one pod.
struct PodProblem {
    std::string pod;
    std::string container;
    std::string
        reason; // CrashLoopBackOff, ImagePullBackOff, ErrImagePull, NotReady, Restarting, ...
    std::string message;
    int restarts = 0;
    bool in_new_replicaset = false; // belongs to the ReplicaSet of the current template
    /// True for problems that doom a rollout (crash loop, image that cannot be pulled).
    bool fatal() const;
};

/// The rollout state with kubectl's counts and message.
struct RolloutStatus {
    std::string name;
    long revision = 0; // the Deployment's revision annotation
    RolloutState state = RolloutState::progressing;
    bool observed = false; // status.observedGeneration >= metadata.generation
    int desired = 0;
    int updated = 0;
    int ready = 0;
    int available = 0;
    int total = 0;       // status.replicas (old + new)
    std::string message; // kubectl's sentence ("Waiting for deployment ... 1 of 3 updated replicas
                         // are available...")
    std::vector<PodProblem> problems;
    std::string resource_version;
    std::string reason; // why it failed or is paused (the pod problem, the deadline); "" otherwise
};

/// Judges a Deployment exactly as `kubectl rollout status` does (observedGeneration, updated /
/// replicas / available, ProgressDeadlineExceeded); a paused Deployment is `paused`. Blind to pods:
/// use assess_rollout for the judgement that commands show.
RolloutStatus evaluate_rollout(const kube::Deployment& deployment);

/// The one judgement of rollout health that triage, the overview, `status`, `status --watch` and
/// the rollback/redeploy wait share: kubectl's rules on the Deployment, then the pods of the new
/// ReplicaSet (the one whose template is the Deployment's): a crash loop or an image that cannot be
/// pulled there is `failed` at once, with the pod's problem as the reason. `pods` may hold pods of
/// any of the Deployment's ReplicaSets; problems of old ones are listed but never fail it.
RolloutStatus assess_rollout(const kube::Deployment& deployment,
                             const std::vector<kube::ReplicaSet>& replicasets,
                             const std::vector<kube::Pod>& pods);

/// "pod P container C: REASON (N restarts)".
std::string problem_sentence(const PodProblem& problem);

/// The problems of `pods`; `new_replicaset_uid` marks those of the current template's ReplicaSet.
std::vector<PodProblem> pod_problems(const std::vector<kube::Pod>& pods,
                                     const std::string& new_replicaset_uid);

/// The ReplicaSet of the Deployment's current template among `replicasets` (nullptr when none yet).
const kube::ReplicaSet* new_replicaset(const kube::Deployment& deployment,
                                       const std::vector<kube::ReplicaSet>& replicasets);

/// Reads the Deployment, its ReplicaSets and pods, and returns the rollout status with pod
/// problems.
Result<RolloutStatus> read_rollout_status(const kube::Api& client, const std::string& ns,
                                          const std::string& name);

/// How a wait ended.
enum class WaitEnd { complete, failed, timed_out, paused };

struct WaitOptions {
    std::chrono::milliseconds timeout{std::chrono::minutes(5)};
    /// Called with every new status (from the watch events), for the progress line.
    std::function<void(const RolloutStatus&)> on_update;
};

struct WaitResult {
    WaitEnd end = WaitEnd::complete;
    RolloutStatus status;
    std::string reason; // why it failed ("pod checkout-x: CrashLoopBackOff (5 restarts)")
    std::chrono::milliseconds elapsed{0};
};

/// Follows the rollout with watches on the Deployment and its pods (not polling) until it is
/// assess_rollout calls it complete, failed (progress deadline, a fatal pod problem), paused, or
/// the timeout passes. Errors are transport/API failures only.
Result<WaitResult> wait_for_rollout(const kube::Api& client, const std::string& ns,
                                    const std::string& name, const WaitOptions& options);

} // namespace oncall::ops
