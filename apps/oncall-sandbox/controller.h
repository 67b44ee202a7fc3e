#pragma once
// The rollout controller: builds the scenario's initial objects (namespace, Deployments with one
// ReplicaSet per revision, pods, service accounts) and then, on a background thread, does what
// kube's deployment and replica-set controllers and the kubelet would: a template change creates
// (or reuses) a ReplicaSet with the next revision, replicas move over one pod per step honouring
// maxSurge/maxUnavailable, pods start, crash-loop or fail to pull according to their image, and
// Deployment/ReplicaSet status and conditions follow. The workload is told which pods serve.

#include "objects.h"
#include "scenario.h"
#include "store.h"
#include "workload.h"

#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sandbox {

/// How a container in a pod fares.
enum class ContainerMode { runs, crashes, cannot_pull };

class Controller {
public:
    Controller(Store& store, const Scenario& scenario, Workload& workload,
               const SandboxClock& clock, std::string registry_url);
    ~Controller();
    Controller(const Controller&) = delete;
    Controller& operator=(const Controller&) = delete;

    /// Creates the scenario's objects as if each revision had been deployed at its time.
    void bootstrap();
    /// Starts the reconcile thread.
    void start();
    /// Stops the reconcile thread (idempotent).
    void stop();

    /// Why a pod's container has no logs (waiting for its image), or nullopt. Caller holds the
    /// lock.
    std::optional<std::string> log_unavailable_reason(const std::string& namespace_name,
                                                      const std::string& pod,
                                                      const std::string& container) const;

    /// The image a template container names, as a template image string for the scenario's image
    /// key.
    std::string template_image(const std::string& image_key, bool pin_by_digest) const;

private:
    struct ContainerSim {
        std::string name;
        std::string image;       // what the template names
        std::string running_ref; // repo@digest actually running ("" when the pull fails)
        ContainerMode mode = ContainerMode::runs;
        std::string container_id;
    };
    struct PodSim {
        std::string namespace_name;
        std::string name;
        std::string replica_set;
        std::string deployment;
        std::string uid;
        SysTime created;
        std::string ip;
        std::vector<ContainerSim> containers;
        SysTime
            status_until{}; // the stored status holds until then (next start, back-off or restart)
    };
    struct ImageInfo {
        bool pullable = false;
        std::string running_ref;
        const Behavior* behavior = nullptr;
        SysTime checked;
    };

    void run();
    void reconcile(SysTime now, std::optional<SysTime> bootstrap_stamp);
    void reconcile_deployment(nlohmann::json deployment, SysTime now,
                              std::optional<SysTime> bootstrap_stamp);
    void sync_replica_set_pods(const nlohmann::json& rs, SysTime now,
                               std::optional<SysTime> bootstrap_stamp);
    void update_replica_set_status(const nlohmann::json& rs, SysTime now);
    void update_pod_statuses(SysTime now);
    void publish_workload(SysTime now);
    void record_recent_rollouts();
    void record_event(const nlohmann::json& deployment, const std::string& reason,
                      const std::string& message, SysTime now);

    nlohmann::json pod_status(const PodSim& pod, SysTime now) const;
    SysTime next_status_change(const PodSim& pod, SysTime now) const;
    bool pod_ready(const PodSim& pod, SysTime now) const;
    ImageInfo resolve_image(const std::string& image);
    std::optional<std::string> registry_digest(const std::string& repository,
                                               const std::string& reference);

    Store& m_store;
    const Scenario& m_scenario;
    Workload& m_workload;
    const SandboxClock& m_clock;
    std::string m_registry_url;
    std::string m_registry_host;

    std::map<std::string, PodSim> m_pods;       // key namespace/name
    std::map<std::string, SysTime> m_next_step; // per deployment key
    std::map<std::string, std::map<int, std::string>>
        m_pending_drift;                        // replica set key -> index -> image key
    std::map<std::string, int> m_created_count; // replica set key -> pods created so far
    std::map<std::string, ImageInfo> m_images;
    std::map<std::string, nlohmann::json>
        m_normalized_templates; // replica set uid -> normalized template
    std::string m_last_workload;
    std::set<std::string> m_reported_failures;
    int m_next_ip = 10;

    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

} // namespace sandbox
