#pragma once
// Simulated workload: per-pod request counters and latency histograms that follow the behavior of
// the image each pod runs, rendered as Prometheus text; and simulated log lines per pod.
// The rollout controller tells the workload which pods run which image (set_pods) whenever pods
// change; metrics accumulate in real time between calls.

#include "scenario.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sandbox {

/// A pod as the workload sees it.
struct PodRuntime {
    std::string namespace_name;
    std::string service;
    std::string pod;
    std::string image_ref; // what the container runs (digest-pinned ref or tag ref)
    bool serving = false;  // ready and running: receives traffic
};

class Workload {
public:
    /// A workload whose scenario timeline ends now (see the epoch overload). The scenario is
    /// copied: construct it after seed_registry() so image digests resolve to their behaviors.
    explicit Workload(const Scenario& scenario);

    /// A workload whose scenario timeline ends at `epoch` (the start-up instant the backfill used):
    /// pods present at start-up continue the backfilled series, so rate() sees no reset. Pod
    /// changes are timed by the workload's clock: `epoch` plus the time elapsed since construction.
    Workload(const Scenario& scenario, std::chrono::system_clock::time_point epoch);

    /// Replaces the set of pods (called by the controller on every change), as of the workload's
    /// clock.
    void set_pods(std::vector<PodRuntime> pods);

    /// Prometheus text exposition of http_requests_total{service,code,pod} and
    /// http_request_duration_seconds histogram{service,pod}, advanced to `now`.
    std::string render_metrics(std::chrono::system_clock::time_point now);

    /// The last `tail_lines` log lines of a pod (optionally only from the last `since`),
    /// generated from its image's behavior.
    std::vector<std::string> pod_logs(const std::string& namespace_name, const std::string& pod,
                                      std::optional<int> tail_lines,
                                      std::optional<std::chrono::seconds> since,
                                      std::chrono::system_clock::time_point now);

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

} // namespace sandbox
