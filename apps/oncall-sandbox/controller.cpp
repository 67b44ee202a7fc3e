#include "controller.h"

#include "oncall/core/duration.h"
#include "selector.h"
#include "world.h"

#include <algorithm>
#include <fmt/format.h>
#include <httplib.h>

namespace sandbox {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr auto k_tick = 200ms;         // how often the controller looks at the world
constexpr auto k_step = 1s;            // one scaling step per Deployment per step
constexpr auto k_container_start = 1s; // ContainerCreating before Running
constexpr auto k_crash_backoff =
    5s; // first back-off of a crashing container; doubles up to the cap
constexpr auto k_crash_backoff_cap = 40s;
constexpr auto k_pull_backoff = 2s; // ErrImagePull before ImagePullBackOff
constexpr auto k_negative_image_cache = 5s;

const char* const k_revision = "deployment.kubernetes.io/revision";
const char* const k_revision_history = "deployment.kubernetes.io/revision-history";
const char* const k_desired_replicas = "deployment.kubernetes.io/desired-replicas";
const char* const k_max_replicas = "deployment.kubernetes.io/max-replicas";

std::string key_of(const std::string& ns, const std::string& name) {
    return ns + "/" + name;
}

int revision_of(const json& rs) {
    const std::string r = str_at(rs, "metadata", "annotations", k_revision);
    try {
        return r.empty() ? 0 : std::stoi(r);
    } catch (...) {
        return 0;
    }
}

bool owned_by(const json& object, const std::string& uid) {
    const auto& md = object["metadata"];
    if (!md.contains("ownerReferences") || !md["ownerReferences"].is_array())
        return false;
    for (const auto& ref : md["ownerReferences"]) {
        if (ref.value("uid", "") == uid && ref.value("controller", false))
            return true;
    }
    return false;
}

bool skipped_annotation(const std::string& key) {
    return key == "kubectl.kubernetes.io/last-applied-configuration" || key == k_revision ||
           key == k_revision_history || key == k_desired_replicas || key == k_max_replicas ||
           key == "deprecated.deployment.rollback.to";
}

// Copies the Deployment's annotations onto a ReplicaSet as kube does; true when anything changed.
bool copy_annotations(const json& deployment, json& rs) {
    bool changed = false;
    auto& ann = rs["metadata"]["annotations"];
    if (!ann.is_object())
        ann = json::object();
    if (deployment["metadata"].contains("annotations") &&
        deployment["metadata"]["annotations"].is_object()) {
        for (const auto& [k, v] : deployment["metadata"]["annotations"].items()) {
            if (skipped_annotation(k))
                continue;
            if (!ann.contains(k) || ann[k] != v) {
                ann[k] = v;
                changed = true;
            }
        }
    }
    return changed;
}

json find_condition(const json& status, const std::string& type) {
    if (status.contains("conditions") && status["conditions"].is_array()) {
        for (const auto& c : status["conditions"]) {
            if (c.value("type", "") == type)
                return c;
        }
    }
    return nullptr;
}

// kube's SetDeploymentCondition: no change when status and reason are the same, unless forced.
void set_condition(json& status, const std::string& type, const std::string& cstatus,
                   const std::string& reason, const std::string& message, const std::string& stamp,
                   bool force_update = false) {
    json existing = find_condition(status, type);
    if (!force_update && existing.is_object() && existing.value("status", "") == cstatus &&
        existing.value("reason", "") == reason) {
        return;
    }
    json cond = {{"type", type},
                 {"status", cstatus},
                 {"lastUpdateTime", stamp},
                 {"lastTransitionTime", stamp},
                 {"reason", reason},
                 {"message", message}};
    if (existing.is_object() && existing.value("status", "") == cstatus) {
        cond["lastTransitionTime"] = existing["lastTransitionTime"];
    }
    json conditions = json::array();
    bool placed = false;
    if (status.contains("conditions") && status["conditions"].is_array()) {
        for (const auto& c : status["conditions"]) {
            if (c.value("type", "") == type) {
                conditions.push_back(cond);
                placed = true;
            } else {
                conditions.push_back(c);
            }
        }
    }
    if (!placed)
        conditions.push_back(cond);
    status["conditions"] = conditions;
}

void put_count(json& status, const char* field, int value) {
    if (value != 0) {
        status[field] = value;
    } else {
        status.erase(field);
    }
}

// Splits "host/repo/path:tag" or "host/repo@sha256:..." into repository path and reference.
struct ImageRef {
    std::string host;
    std::string repository;
    std::string tag;
    std::string digest;
};

ImageRef parse_image(const std::string& image) {
    ImageRef r;
    std::string rest = image;
    const auto at = rest.find('@');
    if (at != std::string::npos) {
        r.digest = rest.substr(at + 1);
        rest = rest.substr(0, at);
    }
    const auto slash = rest.find('/');
    if (slash != std::string::npos) {
        const std::string first = rest.substr(0, slash);
        if (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
            first == "localhost") {
            r.host = first;
            rest = rest.substr(slash + 1);
        }
    }
    const auto last_slash = rest.rfind('/');
    const auto colon = rest.find(':', last_slash == std::string::npos ? 0 : last_slash);
    if (colon != std::string::npos) {
        r.tag = rest.substr(colon + 1);
        rest = rest.substr(0, colon);
    }
    r.repository = rest;
    return r;
}

} // namespace

Controller::Controller(Store& store, const Scenario& scenario, Workload& workload,
                       const SandboxClock& clock, std::string registry_url)
    : m_store(store), m_scenario(scenario), m_workload(workload), m_clock(clock),
      m_registry_url(std::move(registry_url)), m_registry_host(registry_host(m_registry_url)) {}

Controller::~Controller() {
    stop();
}

std::string Controller::template_image(const std::string& image_key, bool pin_by_digest) const {
    auto it = m_scenario.images.find(image_key);
    if (it == m_scenario.images.end())
        return m_registry_host + "/" + image_key;
    const Image& img = it->second;
    if (pin_by_digest && !img.digest.empty())
        return m_registry_host + "/" + img.repository + "@" + img.digest;
    return m_registry_host + "/" + img.repository + ":" + img.tag;
}

std::optional<std::string> Controller::registry_digest(const std::string& repository,
                                                       const std::string& reference) {
    try {
        httplib::Client client(m_registry_url);
        client.set_connection_timeout(2, 0);
        client.set_read_timeout(2, 0);
        httplib::Headers headers = {
            {"Accept",
             "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
             "application/vnd.docker.distribution.manifest.list.v2+json, "
             "application/vnd.docker.distribution.manifest.v2+json"}};
        auto res = client.Head(("/v2/" + repository + "/manifests/" + reference).c_str(), headers);
        if (!res || res->status != 200)
            return std::nullopt;
        const std::string digest = res->get_header_value("Docker-Content-Digest");
        return digest.empty() ? reference : digest;
    } catch (...) {
        return std::nullopt;
    }
}

Controller::ImageInfo Controller::resolve_image(const std::string& image) {
    const SysTime now = m_clock.now();
    auto cached = m_images.find(image);
    if (cached != m_images.end() &&
        (cached->second.pullable || now - cached->second.checked < k_negative_image_cache)) {
        return cached->second;
    }
    ImageInfo info;
    info.checked = now;
    const ImageRef ref = parse_image(image);
    const std::string host = ref.host.empty() ? m_registry_host : ref.host;
    const Image* known = nullptr;
    for (const auto& [key, img] : m_scenario.images) {
        if (img.repository != ref.repository)
            continue;
        if ((!ref.digest.empty() && img.digest == ref.digest) ||
            (ref.digest.empty() && img.tag == ref.tag)) {
            known = &img;
            break;
        }
    }
    if (host == m_registry_host) {
        if (known != nullptr && known->in_registry && !known->digest.empty()) {
            info.pullable = true;
            info.running_ref = host + "/" + known->repository + "@" + known->digest;
        } else if (known == nullptr || known->in_registry) {
            auto digest =
                registry_digest(ref.repository, ref.digest.empty() ? ref.tag : ref.digest);
            if (digest) {
                info.pullable = true;
                info.running_ref = host + "/" + ref.repository + "@" + *digest;
            }
        }
    }
    if (info.pullable) {
        const std::string digest = info.running_ref.substr(info.running_ref.find('@') + 1);
        info.behavior = behavior_for_image(m_scenario, digest);
        if (info.behavior == nullptr && known != nullptr) {
            info.behavior = behavior_for_image(m_scenario, known->repository + ":" + known->tag);
        }
    }
    m_images[image] = info;
    return info;
}

void Controller::bootstrap() {
    std::unique_lock lock(m_store.mutex());
    const SysTime epoch = m_clock.epoch();
    const std::string ns = m_scenario.namespace_name;
    const std::string epoch_text = k8s_time(epoch - std::chrono::hours(24 * 30));
    for (const std::string& name : {std::string("default"), std::string("kube-system"), ns}) {
        if (m_store.contains("namespaces", "", name))
            continue;
        m_store.create("namespaces",
                       json{{"apiVersion", "v1"},
                            {"kind", "Namespace"},
                            {"metadata",
                             {{"name", name}, {"labels", {{"kubernetes.io/metadata.name", name}}}}},
                            {"spec", {{"finalizers", json::array({"kubernetes"})}}},
                            {"status", {{"phase", "Active"}}}},
                       epoch_text);
    }
    std::vector<ServiceAccount> accounts = m_scenario.service_accounts;
    accounts.insert(accounts.begin(), ServiceAccount{"default", std::nullopt});
    for (const auto& sa : accounts) {
        json object = {{"apiVersion", "v1"},
                       {"kind", "ServiceAccount"},
                       {"metadata", {{"name", sa.name}, {"namespace", ns}}}};
        if (sa.max_duration) {
            object["metadata"]["annotations"] = {
                {"oncall.dev/max-duration",
                 oncall::format_duration(
                     std::chrono::duration_cast<std::chrono::milliseconds>(*sa.max_duration))}};
        }
        m_store.create("serviceaccounts", object, epoch_text);
    }

    SysTime newest_deploy = epoch - std::chrono::hours(24 * 365);
    for (const auto& service : m_scenario.services) {
        if (service.revisions.empty())
            continue;
        const json labels = {{"app", service.name}};
        json dep_labels = labels;
        for (const auto& [k, v] : service.labels)
            dep_labels[k] = v;
        json annotations = json::object();
        for (const auto& [k, v] : service.annotations)
            annotations[k] = v;
        const Revision& last = service.revisions.back();
        annotations[k_revision] = std::to_string(last.number);
        if (!last.change_cause.empty())
            annotations["kubernetes.io/change-cause"] = last.change_cause;

        const auto make_template = [&](const Revision& rev) {
            json containers = json::array();
            for (const auto& c : rev.containers) {
                containers.push_back(
                    {{"name", c.name}, {"image", template_image(c.image, c.pin_by_digest)}});
            }
            json tmpl = {{"metadata", {{"labels", labels}}},
                         {"spec", {{"containers", containers}}}};
            default_pod_template(tmpl);
            return tmpl;
        };
        json spec = {{"replicas", service.replicas},
                     {"selector", {{"matchLabels", labels}}},
                     {"template", make_template(last)},
                     {"progressDeadlineSeconds", service.progress_deadline.count()}};
        default_deployment_spec(spec);
        const SysTime created = epoch - service.revisions.front().deployed_ago;
        json deployment = {{"apiVersion", "apps/v1"},
                           {"kind", "Deployment"},
                           {"metadata",
                            {{"name", service.name},
                             {"namespace", ns},
                             {"labels", dep_labels},
                             {"annotations", annotations},
                             {"generation", static_cast<int>(service.revisions.size())}}},
                           {"spec", spec},
                           {"status", json::object()}};
        deployment = m_store.create("deployments", deployment, k8s_time(created));
        const std::string uid = deployment["metadata"]["uid"];

        for (const auto& rev : service.revisions) {
            const SysTime deployed = epoch - rev.deployed_ago;
            newest_deploy = std::max(newest_deploy, deployed);
            json tmpl = make_template(rev);
            const std::string hash = pod_template_hash(tmpl);
            tmpl["metadata"]["labels"]["pod-template-hash"] = hash;
            json rs_labels = tmpl["metadata"]["labels"];
            json rs_annotations = json::object();
            for (const auto& [k, v] : service.annotations)
                rs_annotations[k] = v;
            rs_annotations[k_revision] = std::to_string(rev.number);
            rs_annotations[k_desired_replicas] = std::to_string(service.replicas);
            rs_annotations[k_max_replicas] =
                std::to_string(service.replicas +
                               resolve_int_or_percent(spec["strategy"]["rollingUpdate"]["maxSurge"],
                                                      service.replicas, true, 1));
            if (!rev.change_cause.empty())
                rs_annotations["kubernetes.io/change-cause"] = rev.change_cause;
            json selector = {{"matchLabels", labels}};
            selector["matchLabels"]["pod-template-hash"] = hash;
            json rs = {{"apiVersion", "apps/v1"},
                       {"kind", "ReplicaSet"},
                       {"metadata",
                        {{"name", service.name + "-" + hash},
                         {"namespace", ns},
                         {"labels", rs_labels},
                         {"annotations", rs_annotations},
                         {"generation", 1},
                         {"ownerReferences", json::array({{{"apiVersion", "apps/v1"},
                                                           {"kind", "Deployment"},
                                                           {"name", service.name},
                                                           {"uid", uid},
                                                           {"controller", true},
                                                           {"blockOwnerDeletion", true}}})}}},
                       {"spec", {{"replicas", 0}, {"selector", selector}, {"template", tmpl}}},
                       {"status", {{"replicas", 0}}}};
            // The revision before the newest ran at full size when the newest was rolled out.
            const bool previous =
                &rev ==
                    &service.revisions[service.revisions.size() >= 2 ? service.revisions.size() - 2
                                                                     : 0] &&
                service.revisions.size() >= 2;
            if (previous)
                rs["spec"]["replicas"] = service.replicas;
            if (m_store.contains("replicasets", ns, service.name + "-" + hash))
                continue;
            rs = m_store.create("replicasets", rs, k8s_time(deployed));
            if (&rev == &service.revisions.back() && !service.drifted_pods.empty()) {
                m_pending_drift[key_of(ns, rs["metadata"]["name"])] = service.drifted_pods;
            }
        }
    }
    // Roll every Deployment forward to where it stood at start-up, stamping times at each
    // Deployment's newest revision.
    const SysTime now = m_clock.now();
    for (int i = 0; i < 50; ++i) {
        const auto before = m_store.resource_version();
        reconcile(now, newest_deploy);
        if (m_store.resource_version() == before)
            break;
    }
    for (const auto& service : m_scenario.services) {
        if (!service.paused)
            continue;
        auto d = m_store.get("deployments", ns, service.name);
        if (!d)
            continue;
        (*d)["spec"]["paused"] = true;
        (*d)["metadata"]["generation"] = (*d)["metadata"].value("generation", 1) + 1;
        m_store.update("deployments", *d);
    }
    reconcile(now, newest_deploy);
    record_recent_rollouts();
    publish_workload(now);
}

void Controller::record_recent_rollouts() {
    // Events of roll-outs from the last hour, as a cluster still holds them (kube keeps events 1h).
    const SysTime epoch = m_clock.epoch();
    const std::string ns = m_scenario.namespace_name;
    for (const auto& service : m_scenario.services) {
        auto deployment = m_store.get("deployments", ns, service.name);
        if (!deployment)
            continue;
        std::vector<json> owned;
        for (auto& rs : m_store.list("replicasets", ns)) {
            if (owned_by(rs, str_at(*deployment, "metadata", "uid")))
                owned.push_back(std::move(rs));
        }
        for (std::size_t i = 0; i < service.revisions.size(); ++i) {
            const Revision& rev = service.revisions[i];
            if (rev.deployed_ago > std::chrono::hours(1))
                continue;
            const SysTime at = epoch - rev.deployed_ago;
            for (const auto& rs : owned) {
                const int n = revision_of(rs);
                const int replicas = rs["spec"].value("replicas", 0);
                const std::string name = str_at(rs, "metadata", "name");
                if (n == rev.number && replicas > 0) {
                    record_event(*deployment, "ScalingReplicaSet",
                                 fmt::format("Scaled up replica set {} to {}", name, replicas), at);
                } else if (i > 0 && n == service.revisions[i - 1].number && replicas == 0) {
                    record_event(*deployment, "ScalingReplicaSet",
                                 fmt::format("Scaled down replica set {} to 0 from {}", name,
                                             service.replicas),
                                 at + std::chrono::seconds(service.replicas * 2));
                }
            }
        }
    }
}

void Controller::start() {
    m_thread = std::thread([this] { run(); });
}

void Controller::stop() {
    m_stop = true;
    if (m_thread.joinable())
        m_thread.join();
}

void Controller::run() {
    while (!m_stop) {
        {
            std::unique_lock lock(m_store.mutex());
            const SysTime now = m_clock.now();
            try {
                reconcile(now, std::nullopt);
                publish_workload(now);
            } catch (const std::exception& e) {
                fmt::print(stderr, "oncall-sandbox: controller error: {}\n", e.what());
            }
        }
        std::this_thread::sleep_for(k_tick);
    }
}

void Controller::reconcile(SysTime now, std::optional<SysTime> bootstrap_stamp) {
    for (auto& d : m_store.list("deployments", "")) {
        const std::string name =
            str_at(d, "metadata", "namespace") + "/" + str_at(d, "metadata", "name");
        try {
            reconcile_deployment(std::move(d), now, bootstrap_stamp);
        } catch (const std::exception& e) {
            // One Deployment the controller cannot handle must not stop the others.
            if (m_reported_failures.insert(name).second) {
                fmt::print(stderr, "oncall-sandbox: cannot reconcile deployment {}: {}\n", name,
                           e.what());
            }
        }
    }
    // Forget normalized templates of ReplicaSets that are gone.
    for (auto it = m_normalized_templates.begin(); it != m_normalized_templates.end();) {
        bool alive = false;
        for (const json* rs : m_store.view("replicasets", ""))
            alive = alive || str_at(*rs, "metadata", "uid") == it->first;
        it = alive ? std::next(it) : m_normalized_templates.erase(it);
    }
    // Pods of ReplicaSets that no longer exist go away.
    for (auto it = m_pods.begin(); it != m_pods.end();) {
        if (!m_store.contains("replicasets", it->second.namespace_name, it->second.replica_set)) {
            m_store.remove("pods", it->second.namespace_name, it->second.name);
            it = m_pods.erase(it);
        } else {
            ++it;
        }
    }
    update_pod_statuses(now);
}

bool Controller::pod_ready(const PodSim& pod, SysTime now) const {
    if (now - pod.created < k_container_start)
        return false;
    return std::all_of(pod.containers.begin(), pod.containers.end(),
                       [](const ContainerSim& c) { return c.mode == ContainerMode::runs; });
}

void Controller::reconcile_deployment(json d, SysTime now, std::optional<SysTime> bootstrap_stamp) {
    const bool bootstrapping = bootstrap_stamp.has_value();
    std::string stamp = k8s_time(bootstrapping ? *bootstrap_stamp : now);
    const std::string ns = str_at(d, "metadata", "namespace");
    const std::string name = str_at(d, "metadata", "name");
    const std::string uid = str_at(d, "metadata", "uid");
    const std::string dkey = key_of(ns, name);
    json& spec = d["spec"];
    if (!spec.is_object())
        return;
    const int desired = spec.value("replicas", 1);
    const bool paused = spec.value("paused", false);
    const json& tmpl = spec["template"];

    std::vector<json> owned;
    for (const json* rs : m_store.view("replicasets", ns)) {
        if (owned_by(*rs, uid))
            owned.push_back(*rs);
    }
    int max_revision = 0;
    for (const auto& rs : owned)
        max_revision = std::max(max_revision, revision_of(rs));
    const json wanted = normalized_template(tmpl);
    auto new_it = std::find_if(owned.begin(), owned.end(), [&](const json& rs) {
        // Normalizing is costly; a ReplicaSet's template never changes, so it is done once per uid.
        const std::string rs_uid = str_at(rs, "metadata", "uid");
        auto cached = m_normalized_templates.find(rs_uid);
        if (cached == m_normalized_templates.end()) {
            cached =
                m_normalized_templates.emplace(rs_uid, normalized_template(rs["spec"]["template"]))
                    .first;
        }
        return cached->second == wanted;
    });
    std::optional<json> new_rs;
    if (new_it != owned.end())
        new_rs = *new_it;
    bool rollout_started = false;
    std::string rollout_reason;
    const auto& ru = spec["strategy"].contains("rollingUpdate") ? spec["strategy"]["rollingUpdate"]
                                                                : json::object();
    const bool recreate = spec["strategy"].value("type", "RollingUpdate") == "Recreate";
    int surge =
        recreate ? 0 : resolve_int_or_percent(ru.value("maxSurge", json("25%")), desired, true, 1);
    int unavailable = recreate ? desired
                               : resolve_int_or_percent(ru.value("maxUnavailable", json("25%")),
                                                        desired, false, 0);
    if (surge == 0 && unavailable == 0)
        unavailable = 1;

    if (!new_rs && !paused && tmpl.is_object()) {
        json t = tmpl;
        const std::string hash = pod_template_hash(t);
        t["metadata"]["labels"]["pod-template-hash"] = hash;
        json selector = spec["selector"];
        if (!selector.contains("matchLabels") || !selector["matchLabels"].is_object())
            selector["matchLabels"] = json::object();
        selector["matchLabels"]["pod-template-hash"] = hash;
        json rs = {{"apiVersion", "apps/v1"},
                   {"kind", "ReplicaSet"},
                   {"metadata",
                    {{"name", name + "-" + hash},
                     {"namespace", ns},
                     {"labels", t["metadata"]["labels"]},
                     {"annotations", json::object()},
                     {"generation", 1},
                     {"ownerReferences", json::array({{{"apiVersion", "apps/v1"},
                                                       {"kind", "Deployment"},
                                                       {"name", name},
                                                       {"uid", uid},
                                                       {"controller", true},
                                                       {"blockOwnerDeletion", true}}})}}},
                   {"spec", {{"replicas", 0}, {"selector", selector}, {"template", t}}},
                   {"status", {{"replicas", 0}}}};
        copy_annotations(d, rs);
        rs["metadata"]["annotations"][k_revision] = std::to_string(max_revision + 1);
        rs["metadata"]["annotations"][k_desired_replicas] = std::to_string(desired);
        rs["metadata"]["annotations"][k_max_replicas] = std::to_string(desired + surge);
        if (m_store.contains("replicasets", ns, name + "-" + hash)) {
            rs["metadata"]["name"] = name + "-" + hash + random_suffix(2); // hash collision
        }
        new_rs = m_store.create("replicasets", rs, stamp);
        owned.push_back(*new_rs);
        rollout_started = true;
        rollout_reason = "NewReplicaSetCreated";
    } else if (new_rs) {
        json rs = *new_rs;
        bool changed = copy_annotations(d, rs);
        const int rev = revision_of(rs);
        if (rev < max_revision) {
            // An old template came back (rollout undo): the ReplicaSet gets the next revision.
            auto& ann = rs["metadata"]["annotations"];
            std::string history = ann.value(k_revision_history, "");
            history = history.empty() ? std::to_string(rev) : history + "," + std::to_string(rev);
            ann[k_revision_history] = history;
            ann[k_revision] = std::to_string(max_revision + 1);
            changed = true;
            rollout_started = true;
            rollout_reason = "FoundNewReplicaSet";
        }
        auto& ann = rs["metadata"]["annotations"];
        if (ann.value(k_desired_replicas, "") != std::to_string(desired)) {
            ann[k_desired_replicas] = std::to_string(desired);
            ann[k_max_replicas] = std::to_string(desired + surge);
            changed = true;
        }
        if (changed) {
            new_rs = m_store.update("replicasets", rs);
            for (auto& o : owned) {
                if (str_at(o, "metadata", "name") == str_at(rs, "metadata", "name"))
                    o = *new_rs;
            }
        }
    }
    if (bootstrapping && new_rs) {
        // At start-up, times are those of the newest revision's roll-out.
        stamp = k8s_time(parse_k8s_time(str_at(*new_rs, "metadata", "creationTimestamp")) + 5s);
    }
    bool deployment_meta_changed = false;
    if (new_rs) {
        const std::string rev = str_at(*new_rs, "metadata", "annotations", k_revision);
        if (str_at(d, "metadata", "annotations", k_revision) != rev) {
            if (!d["metadata"].contains("annotations") ||
                !d["metadata"]["annotations"].is_object()) {
                d["metadata"]["annotations"] = json::object();
            }
            d["metadata"]["annotations"][k_revision] = rev;
            deployment_meta_changed = true;
        }
    }

    // Counts per ReplicaSet from the pods that exist now.
    const auto count_pods = [&](const json& rs, int& total, int& ready) {
        total = ready = 0;
        const std::string rs_name = str_at(rs, "metadata", "name");
        for (const auto& [k, pod] : m_pods) {
            if (pod.namespace_name == ns && pod.replica_set == rs_name) {
                ++total;
                if (pod_ready(pod, now))
                    ++ready;
            }
        }
    };

    // Rolling update: at most one step up and one step down per k_step.
    if (!paused && new_rs && (bootstrapping || now >= m_next_step[dkey])) {
        bool acted = false;
        const auto scale = [&](json rs, int to, bool up) {
            const int from = rs["spec"].value("replicas", 0);
            rs["spec"]["replicas"] = to;
            rs["metadata"]["generation"] = rs["metadata"].value("generation", 1) + 1;
            json stored = m_store.update("replicasets", rs);
            for (auto& o : owned) {
                if (str_at(o, "metadata", "name") == str_at(rs, "metadata", "name"))
                    o = stored;
            }
            if (new_rs && str_at(*new_rs, "metadata", "name") == str_at(rs, "metadata", "name"))
                new_rs = stored;
            if (!bootstrapping) {
                record_event(d, "ScalingReplicaSet",
                             up ? fmt::format("Scaled up replica set {} to {}",
                                              str_at(rs, "metadata", "name"), to)
                                : fmt::format("Scaled down replica set {} to {} from {}",
                                              str_at(rs, "metadata", "name"), to, from),
                             now);
            }
            acted = true;
        };
        int total_spec = 0;
        for (const auto& rs : owned)
            total_spec += rs["spec"].value("replicas", 0);
        const int new_spec = (*new_rs)["spec"].value("replicas", 0);
        int old_pods = 0;
        for (const auto& rs : owned) {
            if (&rs != &*new_rs &&
                str_at(rs, "metadata", "name") != str_at(*new_rs, "metadata", "name")) {
                int t = 0, r = 0;
                count_pods(rs, t, r);
                old_pods += t;
            }
        }
        if (new_spec > desired) {
            scale(*new_rs, desired, false);
        } else if (new_spec < desired && total_spec < desired + surge &&
                   (!recreate || old_pods == 0)) {
            scale(*new_rs, new_spec + 1, true);
        }
        // Scale down old ReplicaSets while enough pods stay available.
        total_spec = 0;
        int available = 0;
        for (const auto& rs : owned) {
            total_spec += rs["spec"].value("replicas", 0);
            int t = 0, r = 0;
            count_pods(rs, t, r);
            available += r;
        }
        int new_total = 0, new_ready = 0;
        count_pods(*new_rs, new_total, new_ready);
        const int new_unavailable = (*new_rs)["spec"].value("replicas", 0) - new_ready;
        const int min_available = desired - unavailable;
        const int max_scaled_down = total_spec - min_available - new_unavailable;
        std::vector<json*> olds;
        for (auto& rs : owned) {
            if (str_at(rs, "metadata", "name") != str_at(*new_rs, "metadata", "name") &&
                rs["spec"].value("replicas", 0) > 0) {
                olds.push_back(&rs);
            }
        }
        std::sort(olds.begin(), olds.end(),
                  [](const json* a, const json* b) { return revision_of(*a) < revision_of(*b); });
        bool scaled_down = false;
        if (max_scaled_down > 0 || recreate) {
            for (json* rs : olds) {
                int t = 0, r = 0;
                count_pods(*rs, t, r);
                const int spec_replicas = (*rs)["spec"].value("replicas", 0);
                if (recreate || spec_replicas - r > 0) { // unhealthy pods go first
                    scale(*rs, recreate ? 0 : spec_replicas - 1, false);
                    scaled_down = true;
                    break;
                }
            }
            if (!scaled_down && available - min_available > 0) {
                for (json* rs : olds) {
                    scale(*rs, (*rs)["spec"].value("replicas", 0) - 1, false);
                    break;
                }
            }
        }
        if (acted)
            m_next_step[dkey] = now + k_step;
    }

    // Old ReplicaSets beyond revisionHistoryLimit are deleted.
    const int history_limit = spec.value("revisionHistoryLimit", 10);
    std::vector<json> idle;
    for (const auto& rs : owned) {
        if (new_rs && str_at(rs, "metadata", "name") == str_at(*new_rs, "metadata", "name"))
            continue;
        int t = 0, r = 0;
        count_pods(rs, t, r);
        if (rs["spec"].value("replicas", 0) == 0 && t == 0)
            idle.push_back(rs);
    }
    if (static_cast<int>(idle.size()) > history_limit) {
        std::sort(idle.begin(), idle.end(),
                  [](const json& a, const json& b) { return revision_of(a) < revision_of(b); });
        for (std::size_t i = 0; i < idle.size() - static_cast<std::size_t>(history_limit); ++i) {
            const std::string rs_name = str_at(idle[i], "metadata", "name");
            m_store.remove("replicasets", ns, rs_name);
            owned.erase(std::remove_if(owned.begin(), owned.end(),
                                       [&](const json& o) {
                                           return str_at(o, "metadata", "name") == rs_name;
                                       }),
                        owned.end());
        }
    }

    for (const auto& rs : owned) {
        const json* current = m_store.find("replicasets", ns, str_at(rs, "metadata", "name"));
        if (current == nullptr)
            continue;
        const json snapshot = *current; // pod sync changes the store
        sync_replica_set_pods(snapshot, now, bootstrap_stamp);
        update_replica_set_status(snapshot, now);
    }

    // Deployment status, as kube's calculateStatus + syncRolloutStatus.
    int replicas = 0, updated = 0, ready = 0, total_spec = 0;
    for (const auto& rs : owned) {
        int t = 0, r = 0;
        count_pods(rs, t, r);
        replicas += t;
        ready += r;
        total_spec += rs["spec"].value("replicas", 0);
        if (new_rs && str_at(rs, "metadata", "name") == str_at(*new_rs, "metadata", "name"))
            updated = t;
    }
    // ReplicaSets changed above: recount spec from the store.
    total_spec = 0;
    for (const auto& rs : owned) {
        const json* current = m_store.find("replicasets", ns, str_at(rs, "metadata", "name"));
        if (current != nullptr)
            total_spec += (*current)["spec"].value("replicas", 0);
    }
    const int available = ready;
    const json old_status =
        d.contains("status") && d["status"].is_object() ? d["status"] : json::object();
    json status = old_status;
    status["observedGeneration"] = d["metadata"].value("generation", 1);
    put_count(status, "replicas", replicas);
    put_count(status, "updatedReplicas", updated);
    put_count(status, "readyReplicas", ready);
    put_count(status, "availableReplicas", available);
    put_count(status, "unavailableReplicas", std::max(total_spec - available, 0));
    if (available >= desired - unavailable) {
        set_condition(status, "Available", "True", "MinimumReplicasAvailable",
                      "Deployment has minimum availability.", stamp);
    } else {
        set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                      "Deployment does not have minimum availability.", stamp);
    }
    const std::string rs_name = new_rs ? str_at(*new_rs, "metadata", "name") : "";
    json progressing = find_condition(status, "Progressing");
    if (paused) {
        set_condition(status, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused",
                      stamp);
    } else {
        if (progressing.is_object() && progressing.value("reason", "") == "DeploymentPaused") {
            set_condition(status, "Progressing", "Unknown", "DeploymentResumed",
                          "Deployment is resumed", stamp);
        }
        if (rollout_started) {
            set_condition(status, "Progressing", "True", rollout_reason,
                          rollout_reason == "NewReplicaSetCreated"
                              ? fmt::format("Created new replica set \"{}\"", rs_name)
                              : fmt::format("Found new replica set \"{}\"", rs_name),
                          stamp, true);
        }
        progressing = find_condition(status, "Progressing");
        const bool already_complete = replicas == updated && progressing.is_object() &&
                                      progressing.value("reason", "") == "NewReplicaSetAvailable";
        const bool complete = updated == desired && replicas == desired && available == desired;
        const auto old_count = [&](const char* f) { return old_status.value(f, 0); };
        const bool progressed =
            updated > old_count("updatedReplicas") || ready > old_count("readyReplicas") ||
            available > old_count("availableReplicas") ||
            (old_count("replicas") - old_count("updatedReplicas")) > (replicas - updated);
        if (!already_complete && new_rs) {
            const int deadline = spec.value("progressDeadlineSeconds", 600);
            if (complete) {
                set_condition(
                    status, "Progressing", "True", "NewReplicaSetAvailable",
                    fmt::format("ReplicaSet \"{}\" has successfully progressed.", rs_name), stamp,
                    true);
            } else if (progressed) {
                json cond = {
                    {"type", "Progressing"},
                    {"status", "True"},
                    {"lastUpdateTime", stamp},
                    {"lastTransitionTime", stamp},
                    {"reason", "ReplicaSetUpdated"},
                    {"message", fmt::format("ReplicaSet \"{}\" is progressing.", rs_name)}};
                if (progressing.is_object() && progressing.value("status", "") == "True") {
                    cond["lastTransitionTime"] = progressing["lastTransitionTime"];
                }
                set_condition(status, "Progressing", "True", "ReplicaSetUpdated", cond["message"],
                              stamp, true);
                for (auto& c : status["conditions"]) {
                    if (c["type"] == "Progressing")
                        c = cond;
                }
            } else if (!bootstrapping && progressing.is_object() &&
                       progressing.value("reason", "") != "ProgressDeadlineExceeded" &&
                       progressing.value("status", "") != "Unknown" &&
                       now > parse_k8s_time(progressing.value("lastUpdateTime", "")) +
                                 std::chrono::seconds(deadline)) {
                set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded",
                              fmt::format("ReplicaSet \"{}\" has timed out progressing.", rs_name),
                              stamp);
            }
        }
    }
    // Keep Available before Progressing, as most clusters show them.
    if (status.contains("conditions") && status["conditions"].is_array()) {
        auto& conds = status["conditions"];
        std::stable_sort(conds.begin(), conds.end(), [](const json& a, const json& b) {
            return a.value("type", "") == "Available" && b.value("type", "") != "Available";
        });
    }
    if (status != old_status || deployment_meta_changed) {
        d["status"] = status;
        m_store.update("deployments", d);
    }
}

void Controller::sync_replica_set_pods(const json& rs, SysTime now,
                                       std::optional<SysTime> bootstrap_stamp) {
    const std::string ns = str_at(rs, "metadata", "namespace");
    const std::string rs_name = str_at(rs, "metadata", "name");
    const std::string rs_key = key_of(ns, rs_name);
    const int want = rs["spec"].value("replicas", 0);
    std::vector<std::string> pods;
    for (const auto& [k, pod] : m_pods) {
        if (pod.namespace_name == ns && pod.replica_set == rs_name)
            pods.push_back(k);
    }
    const std::string deployment = [&] {
        for (const auto& ref : rs["metadata"].value("ownerReferences", json::array())) {
            if (ref.value("controller", false))
                return ref.value("name", std::string());
        }
        return std::string();
    }();
    while (static_cast<int>(pods.size()) < want) {
        PodSim pod;
        pod.namespace_name = ns;
        pod.replica_set = rs_name;
        pod.deployment = deployment;
        pod.name = rs_name + "-" + random_suffix(5);
        while (m_pods.count(key_of(ns, pod.name)) > 0)
            pod.name = rs_name + "-" + random_suffix(5);
        pod.uid = new_uid();
        pod.created =
            bootstrap_stamp ? parse_k8s_time(str_at(rs, "metadata", "creationTimestamp")) : now;
        pod.ip = fmt::format("10.244.{}.{}", (m_next_ip / 250) % 250, m_next_ip % 250 + 2);
        ++m_next_ip;
        const int index = m_created_count[rs_key]++;
        const json& containers = rs["spec"]["template"]["spec"]["containers"];
        for (const auto& c : containers) {
            ContainerSim cs;
            cs.name = c.value("name", "");
            cs.image = c.value("image", "");
            cs.container_id = "containerd://" + random_hex(64);
            ImageInfo info = resolve_image(cs.image);
            auto drift = m_pending_drift.find(rs_key);
            if (drift != m_pending_drift.end() && &c == &containers[0]) {
                auto di = drift->second.find(index);
                if (di != drift->second.end()) {
                    info = resolve_image(template_image(di->second, true));
                }
            }
            if (!info.pullable) {
                cs.mode = ContainerMode::cannot_pull;
            } else {
                cs.running_ref = info.running_ref;
                cs.mode = info.behavior != nullptr && info.behavior->crash ? ContainerMode::crashes
                                                                           : ContainerMode::runs;
            }
            pod.containers.push_back(std::move(cs));
        }
        json tmpl = rs["spec"]["template"];
        json metadata = tmpl.value("metadata", json::object());
        metadata.erase("creationTimestamp");
        metadata["name"] = pod.name;
        metadata["generateName"] = rs_name + "-";
        metadata["namespace"] = ns;
        metadata["uid"] = pod.uid;
        metadata["ownerReferences"] = json::array({{{"apiVersion", "apps/v1"},
                                                    {"kind", "ReplicaSet"},
                                                    {"name", rs_name},
                                                    {"uid", str_at(rs, "metadata", "uid")},
                                                    {"controller", true},
                                                    {"blockOwnerDeletion", true}}});
        json pod_spec = tmpl.value("spec", json::object());
        pod_spec["nodeName"] = "sandbox-node-1";
        if (!pod_spec.contains("serviceAccountName"))
            pod_spec["serviceAccountName"] = "default";
        pod_spec["serviceAccount"] = pod_spec["serviceAccountName"];
        json object = {{"apiVersion", "v1"},
                       {"kind", "Pod"},
                       {"metadata", metadata},
                       {"spec", pod_spec},
                       {"status", pod_status(pod, now)}};
        m_store.create("pods", object, k8s_time(pod.created));
        pods.push_back(key_of(ns, pod.name));
        m_pods[key_of(ns, pod.name)] = std::move(pod);
    }
    if (static_cast<int>(pods.size()) > want) {
        // Not-ready pods go first, then the newest.
        std::sort(pods.begin(), pods.end(), [&](const std::string& a, const std::string& b) {
            const bool ra = pod_ready(m_pods[a], now);
            const bool rb = pod_ready(m_pods[b], now);
            if (ra != rb)
                return !ra;
            return m_pods[a].created > m_pods[b].created;
        });
        const std::size_t excess = pods.size() - static_cast<std::size_t>(want);
        for (std::size_t i = 0; i < excess; ++i) {
            const PodSim& pod = m_pods[pods[i]];
            m_store.remove("pods", pod.namespace_name, pod.name);
            m_pods.erase(pods[i]);
        }
    }
}

void Controller::update_replica_set_status(const json& rs, SysTime now) {
    const std::string ns = str_at(rs, "metadata", "namespace");
    const std::string rs_name = str_at(rs, "metadata", "name");
    int total = 0, ready = 0;
    for (const auto& [k, pod] : m_pods) {
        if (pod.namespace_name == ns && pod.replica_set == rs_name) {
            ++total;
            if (pod_ready(pod, now))
                ++ready;
        }
    }
    json status = {{"replicas", total},
                   {"observedGeneration", rs["metadata"].value("generation", 1)}};
    put_count(status, "fullyLabeledReplicas", total);
    put_count(status, "readyReplicas", ready);
    put_count(status, "availableReplicas", ready);
    if (rs.value("status", json::object()) != status) {
        json updated = rs;
        updated["status"] = status;
        m_store.update("replicasets", updated);
    }
}

json Controller::pod_status(const PodSim& pod, SysTime now) const {
    const auto elapsed = now - pod.created;
    const std::string created = k8s_time(pod.created);
    const std::string started_at = k8s_time(pod.created + k_container_start);
    json statuses = json::array();
    bool all_ready = true;
    bool any_started = false;
    for (const auto& c : pod.containers) {
        json s = {
            {"name", c.name}, {"image", c.image},  {"imageID", ""},   {"lastState", json::object()},
            {"ready", false}, {"restartCount", 0}, {"started", false}};
        if (c.mode == ContainerMode::cannot_pull) {
            const bool backoff = elapsed >= k_pull_backoff;
            s["state"] = {
                {"waiting",
                 {{"reason", backoff ? "ImagePullBackOff" : "ErrImagePull"},
                  {"message",
                   backoff
                       ? fmt::format("Back-off pulling image \"{}\"", c.image)
                       : fmt::format("rpc error: code = NotFound desc = failed to pull and unpack "
                                     "image \"{}\": {}: not found",
                                     c.image, c.image)}}}};
            all_ready = false;
        } else if (elapsed < k_container_start) {
            s["state"] = {{"waiting", {{"reason", "ContainerCreating"}}}};
            all_ready = false;
        } else if (c.mode == ContainerMode::crashes) {
            // Restarts after back-offs of 5s, 10s, 20s, 40s, 40s, ... (kube's doubling, with a
            // lower cap).
            int restarts = 0;
            using Dur = std::chrono::system_clock::duration;
            Dur next_restart = k_container_start;
            Dur backoff = k_crash_backoff;
            Dur last_restart_at = k_container_start;
            while (next_restart + backoff <= elapsed) {
                next_restart += backoff;
                last_restart_at = next_restart;
                ++restarts;
                backoff = std::min<Dur>(backoff * 2, k_crash_backoff_cap);
            }
            s["imageID"] = c.running_ref;
            s["containerID"] = c.container_id;
            s["restartCount"] = restarts;
            if (restarts == 0) {
                s["state"] = {{"running", {{"startedAt", started_at}}}};
                s["started"] = true;
                any_started = true;
            } else {
                const auto last_start = pod.created + last_restart_at - 2s;
                s["state"] = {
                    {"waiting",
                     {{"reason", "CrashLoopBackOff"},
                      {"message",
                       fmt::format("back-off {}s restarting failed container={} pod={}_{}({})",
                                   std::min(10 << std::min(restarts - 1, 5), 300), c.name, pod.name,
                                   pod.namespace_name, pod.uid)}}}};
                s["lastState"] = {{"terminated",
                                   {{"exitCode", 1},
                                    {"reason", "Error"},
                                    {"startedAt", k8s_time(last_start)},
                                    {"finishedAt", k8s_time(last_start + 2s)},
                                    {"containerID", c.container_id}}}};
                any_started = true;
            }
            all_ready = false;
        } else {
            s["imageID"] = c.running_ref;
            s["containerID"] = c.container_id;
            s["state"] = {{"running", {{"startedAt", started_at}}}};
            s["ready"] = true;
            s["started"] = true;
            any_started = true;
        }
        statuses.push_back(s);
    }
    const std::string ready_time = all_ready ? started_at : created;
    const auto cond = [&](const char* type, bool ok, const std::string& at) {
        json c = {{"type", type},
                  {"status", ok ? "True" : "False"},
                  {"lastProbeTime", nullptr},
                  {"lastTransitionTime", at}};
        if (!ok) {
            c["reason"] = "ContainersNotReady";
            std::vector<std::string> names;
            for (const auto& cs : pod.containers)
                names.push_back(cs.name);
            c["message"] =
                fmt::format("containers with unready status: [{}]", fmt::join(names, " "));
        }
        return c;
    };
    json conditions = json::array({{{"type", "PodReadyToStartContainers"},
                                    {"status", elapsed >= k_container_start ? "True" : "False"},
                                    {"lastProbeTime", nullptr},
                                    {"lastTransitionTime", started_at}},
                                   {{"type", "Initialized"},
                                    {"status", "True"},
                                    {"lastProbeTime", nullptr},
                                    {"lastTransitionTime", created}},
                                   cond("Ready", all_ready, ready_time),
                                   cond("ContainersReady", all_ready, ready_time),
                                   {{"type", "PodScheduled"},
                                    {"status", "True"},
                                    {"lastProbeTime", nullptr},
                                    {"lastTransitionTime", created}}});
    return json{{"phase", any_started ? "Running" : "Pending"},
                {"conditions", conditions},
                {"hostIP", "10.0.0.10"},
                {"hostIPs", json::array({{{"ip", "10.0.0.10"}}})},
                {"podIP", pod.ip},
                {"podIPs", json::array({{{"ip", pod.ip}}})},
                {"startTime", created},
                {"containerStatuses", statuses},
                {"qosClass", "BestEffort"}};
}

SysTime Controller::next_status_change(const PodSim& pod, SysTime now) const {
    const auto elapsed = now - pod.created;
    std::chrono::system_clock::duration next = std::chrono::hours(24 * 365 * 10);
    for (const auto& c : pod.containers) {
        if (c.mode == ContainerMode::cannot_pull) {
            if (elapsed < k_pull_backoff)
                next = std::min<std::chrono::system_clock::duration>(next, k_pull_backoff);
        } else if (elapsed < k_container_start) {
            next = std::min<std::chrono::system_clock::duration>(next, k_container_start);
        } else if (c.mode == ContainerMode::crashes) {
            std::chrono::system_clock::duration at = k_container_start;
            std::chrono::system_clock::duration backoff = k_crash_backoff;
            while (at <= elapsed) {
                at += backoff;
                backoff =
                    std::min<std::chrono::system_clock::duration>(backoff * 2, k_crash_backoff_cap);
            }
            next = std::min(next, at);
        }
    }
    return pod.created + next;
}

void Controller::update_pod_statuses(SysTime now) {
    for (auto& [k, pod] : m_pods) {
        if (now < pod.status_until)
            continue;
        pod.status_until = next_status_change(pod, now);
        const json* stored = m_store.find("pods", pod.namespace_name, pod.name);
        if (stored == nullptr)
            continue;
        json status = pod_status(pod, now);
        const auto current = stored->find("status");
        if (current == stored->end() || *current != status) {
            json updated = *stored;
            updated["status"] = std::move(status);
            m_store.update("pods", std::move(updated));
        }
    }
}

void Controller::publish_workload(SysTime now) {
    std::vector<PodRuntime> pods;
    std::string signature;
    for (const auto& [k, pod] : m_pods) {
        if (pod.containers.empty())
            continue;
        PodRuntime p;
        p.namespace_name = pod.namespace_name;
        p.service = pod.deployment;
        p.pod = pod.name;
        const auto& c = pod.containers.front();
        p.image_ref = c.running_ref.empty() ? c.image : c.running_ref;
        p.serving = pod_ready(pod, now);
        signature += k + "|" + p.image_ref + "|" + (p.serving ? "1" : "0") + ";";
        pods.push_back(std::move(p));
    }
    if (signature != m_last_workload) {
        m_last_workload = signature;
        m_workload.set_pods(std::move(pods));
    }
}

void Controller::record_event(const json& deployment, const std::string& reason,
                              const std::string& message, SysTime now) {
    const std::string ns = str_at(deployment, "metadata", "namespace");
    const std::string name = str_at(deployment, "metadata", "name");
    const std::string t = k8s_time(now);
    json event = {{"apiVersion", "v1"},
                  {"kind", "Event"},
                  {"metadata", {{"name", name + "." + random_hex(16)}, {"namespace", ns}}},
                  {"involvedObject",
                   {{"kind", "Deployment"},
                    {"namespace", ns},
                    {"name", name},
                    {"uid", str_at(deployment, "metadata", "uid")},
                    {"apiVersion", "apps/v1"},
                    {"resourceVersion", str_at(deployment, "metadata", "resourceVersion")}}},
                  {"reason", reason},
                  {"message", message},
                  {"source", {{"component", "deployment-controller"}}},
                  {"firstTimestamp", t},
                  {"lastTimestamp", t},
                  {"count", 1},
                  {"type", "Normal"},
                  {"eventTime", nullptr},
                  {"reportingComponent", "deployment-controller"},
                  {"reportingInstance", ""}};
    m_store.create("events", event, t);
}

std::optional<std::string> Controller::log_unavailable_reason(const std::string& namespace_name,
                                                              const std::string& pod,
                                                              const std::string& container) const {
    auto it = m_pods.find(key_of(namespace_name, pod));
    if (it == m_pods.end())
        return std::nullopt;
    const SysTime now = m_clock.now();
    for (const auto& c : it->second.containers) {
        if (!container.empty() && c.name != container)
            continue;
        if (c.mode == ContainerMode::cannot_pull) {
            return fmt::format("container \"{}\" in pod \"{}\" is waiting to start: trying and "
                               "failing to pull image",
                               c.name, pod);
        }
        if (now - it->second.created < k_container_start) {
            return fmt::format(
                "container \"{}\" in pod \"{}\" is waiting to start: ContainerCreating", c.name,
                pod);
        }
        return std::nullopt;
    }
    if (!container.empty()) {
        return fmt::format("container {} is not valid for pod {}", container, pod);
    }
    return std::nullopt;
}

} // namespace sandbox
