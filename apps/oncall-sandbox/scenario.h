#pragma once
// The scenario: what the practice cluster holds at start-up (namespace, services and their
// revisions, the images and how each behaves, service accounts). Loaded from YAML
// (examples/sandbox/scenarios/*.yaml; format documented in examples/sandbox/README.md).

#include "oncall/core/result.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sandbox {

/// How a running image behaves: the traffic it serves and the logs it writes.
struct Behavior {
    std::string name;
    double requests_per_second_per_pod = 20.0;
    double error_ratio = 0.001;         // fraction of requests answered 5xx
    double latency_p50 = 0.05;          // seconds
    double latency_p99 = 0.2;           // seconds
    bool crash = false;                 // containers exit shortly after start: CrashLoopBackOff
    std::vector<std::string> log_lines; // templates of log lines this image writes
};

/// An image the scenario knows. `digest` is filled in when the registry is seeded
/// (sha256 of the manifest pushed); `in_registry = false` leaves it out so pulls fail.
struct Image {
    std::string repository; // path in the registry, e.g. "shop/checkout"
    std::string tag;        // e.g. "1.2.0"
    std::string behavior;   // key into Scenario::behaviors
    bool in_registry = true;
    std::string digest; // "sha256:<64 hex>" once seeded
};

struct Container {
    std::string name;
    std::string image;         // "repository:tag", a key into Scenario::images
    bool pin_by_digest = true; // false: the template names the mutable tag (drift scenario)
};

struct Revision {
    int number = 1;
    std::vector<Container> containers;
    std::chrono::seconds deployed_ago{
        0}; // how long before sandbox start this revision was deployed
    std::string change_cause;
};

struct Service {
    std::string name; // also the Deployment name and the `service` metric label
    int replicas = 3;
    std::vector<Revision> revisions; // ascending; the last one is current
    bool paused = false;
    std::map<std::string, std::string> labels;      // extra Deployment labels (e.g. GitOps owner)
    std::map<std::string, std::string> annotations; // extra Deployment annotations
    std::chrono::seconds progress_deadline{600};
    /// Pods whose running image differs from the template (drift): pod index -> image key.
    std::map<int, std::string> drifted_pods;
};

struct ServiceAccount {
    std::string name;
    std::optional<std::chrono::seconds> max_duration; // annotation oncall.dev/max-duration
};

struct Scenario {
    std::string name;
    std::string namespace_name = "shop";
    std::map<std::string, Behavior> behaviors;
    std::map<std::string, Image> images; // key "repository:tag"
    std::vector<Service> services;
    std::vector<ServiceAccount> service_accounts;
};

/// Loads and validates a scenario file; errors name the file and key.
oncall::Result<Scenario> load_scenario(const std::string& path);

/// The behavior of the image with this digest (or "repository:tag" key); nullptr when unknown.
const Behavior* behavior_for_image(const Scenario& scenario, const std::string& image_ref);

} // namespace sandbox
