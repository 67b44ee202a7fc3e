#pragma once
// An in-memory Kubernetes API for the change use case: one Deployment with its ReplicaSets and
// pods, JSON patches with their `test` ops and merge patches with resourceVersion preconditions
// (409 when stale), a rollout controller that finishes a rollout at once (or crash-loops the images
// it is told to), Events, and a hook that runs before each PATCH to simulate someone else's write.

#include "oncall/backends/kubernetes.h"

#include <fmt/format.h>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace oncall::test {

class FakeKube final : public kube::Api {
public:
    /// A Deployment `name` in namespace shop with `images.size()` revisions (1-based, the last
    /// current).
    FakeKube(const std::string& name, const std::vector<std::string>& images) : m_name(name) {
        m_deployment = {{"apiVersion", "apps/v1"},
                        {"kind", "Deployment"},
                        {"metadata",
                         {{"name", name},
                          {"namespace", "shop"},
                          {"uid", "uid-" + name},
                          {"resourceVersion", "100"},
                          {"generation", 1},
                          {"labels", {{"app", name}}},
                          {"annotations", nlohmann::json::object()}}},
                        {"spec",
                         {{"replicas", 3},
                          {"selector", {{"matchLabels", {{"app", name}}}}},
                          {"template", template_for(images.back())}}},
                        {"status", nlohmann::json::object()}};
        for (std::size_t i = 0; i < images.size(); ++i) {
            add_replicaset(template_for(images[i]), static_cast<long>(i + 1));
        }
        settle();
    }

    // ---- what the tests look at and steer ----
    nlohmann::json deployment() const { return m_deployment; }
    std::string image() const {
        return m_deployment["spec"]["template"]["spec"]["containers"][0]["image"];
    }
    std::string resource_version() const { return m_deployment["metadata"]["resourceVersion"]; }
    int patches = 0; // PATCH requests that reached the server (dry runs included)
    int applied = 0; // PATCHes that changed the Deployment
    std::vector<std::optional<std::string>> tokens; // bearer token of each PATCH
    std::vector<nlohmann::json> events;
    std::function<bool(const nlohmann::json&)> crashes; // pods of templates it accepts crash-loop
    std::function<void(FakeKube&)> before_patch;        // someone else's write, just before ours

    /// Someone else's write: a new image in the template (spec, generation and resourceVersion
    /// move).
    void change_spec(const std::string& image) {
        m_deployment["spec"]["template"] = template_for(image);
        m_deployment["metadata"]["generation"] =
            m_deployment["metadata"]["generation"].get<int>() + 1;
        bump();
        settle();
    }
    /// The rollout controller's write: status only (resourceVersion moves, nothing else).
    void touch_status() {
        m_deployment["status"]["conditions"] = nlohmann::json::array(
            {{{"type", "Available"}, {"status", "True"}, {"reason", "MinimumReplicasAvailable"}}});
        bump();
    }

    // ---- kube::Api ----
    std::string server() const override { return "https://fake.invalid"; }

    Result<nlohmann::json> get(const std::string& path) const override {
        if (path == deployment_path("shop", m_name)) {
            return m_deployment;
        }
        return make_error(Errc::not_found, "not found: " + path);
    }
    Result<std::string> get_text(const std::string& path) const override {
        return make_error(Errc::not_found, "no logs: " + path);
    }
    Result<kube::List<nlohmann::json>> list(const std::string& path,
                                            const kube::ListOptions& /*options*/) const override {
        kube::List<nlohmann::json> out;
        out.resource_version = resource_version();
        if (path == "/apis/apps/v1/namespaces/shop/replicasets") {
            out.items = m_replicasets;
        } else if (path == "/api/v1/namespaces/shop/pods") {
            out.items = m_pods;
        }
        return out;
    }
    Result<nlohmann::json> post(const std::string& path, const nlohmann::json& /*body*/,
                                const kube::WriteOptions& /*options*/) const override {
        return make_error(Errc::internal, "unexpected POST " + path);
    }
    Result<nlohmann::json> patch(const std::string& path, kube::PatchType type,
                                 const std::string& body,
                                 const kube::WriteOptions& options) const override {
        auto* self = const_cast<FakeKube*>(this);
        return self->do_patch(path, type, body, options);
    }
    Result<void> del(const std::string& path,
                     const kube::WriteOptions& /*options*/) const override {
        return make_error(Errc::internal, "unexpected DELETE " + path);
    }
    Result<void>
    watch(const std::string& /*path*/, const kube::WatchOptions& /*options*/,
          const std::function<bool(const kube::WatchEvent&)>& on_event) const override {
        on_event(kube::WatchEvent{"MODIFIED", m_deployment});
        return ok_result();
    }
    Result<kube::Event> create_event(const kube::ObjectReference& object, const std::string& type,
                                     const std::string& reason, const std::string& message,
                                     const kube::WriteOptions& /*options*/) const override {
        auto body = kube::event_body(object, type, reason, message);
        const_cast<FakeKube*>(this)->events.push_back(body);
        return kube::decode_event(body);
    }

private:
    nlohmann::json template_for(const std::string& image) const {
        return {{"metadata", {{"labels", {{"app", m_name}}}}},
                {"spec",
                 {{"containers", nlohmann::json::array({{{"name", m_name}, {"image", image}}})}}}};
    }

    void bump() { m_deployment["metadata"]["resourceVersion"] = std::to_string(++m_version); }

    nlohmann::json& add_replicaset(nlohmann::json tmpl, long revision) {
        const std::string hash = fmt::format("h{}", revision);
        tmpl["metadata"]["labels"]["pod-template-hash"] = hash;
        m_replicasets.push_back(
            {{"metadata",
              {{"name", fmt::format("{}-{}", m_name, hash)},
               {"namespace", "shop"},
               {"uid", fmt::format("rs-{}-{}", m_name, revision)},
               {"labels", {{"app", m_name}, {"pod-template-hash", hash}}},
               {"annotations", {{"deployment.kubernetes.io/revision", std::to_string(revision)}}},
               {"creationTimestamp", fmt::format("2026-11-2{}T10:00:00Z", revision % 10)},
               {"ownerReferences", nlohmann::json::array({{{"apiVersion", "apps/v1"},
                                                           {"kind", "Deployment"},
                                                           {"name", m_name},
                                                           {"uid", "uid-" + m_name},
                                                           {"controller", true}}})}}},
             {"spec", {{"replicas", 0}, {"template", tmpl}}},
             {"status", {{"replicas", 0}}}});
        return m_replicasets.back();
    }

    // The rollout controller: the ReplicaSet of the template (new revision when none matches), then
    // either a finished rollout or one crash-looping pod of the new ReplicaSet.
    void settle() {
        const auto& tmpl = m_deployment["spec"]["template"];
        const nlohmann::json* match = nullptr;
        long newest = 0;
        for (auto& rs : m_replicasets) {
            const long revision =
                std::stol(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                              .get<std::string>());
            newest = std::max(newest, revision);
            if (kube::same_template(rs["spec"]["template"], tmpl)) {
                match = &rs;
            }
        }
        std::string rs_uid;
        long revision = newest;
        if (match == nullptr) {
            revision = newest + 1;
            rs_uid = add_replicaset(tmpl, revision)["metadata"]["uid"];
        } else {
            rs_uid = (*match)["metadata"]["uid"];
            revision =
                std::stol((*match)["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                              .get<std::string>());
            if (m_settled_once && revision != newest) {
                // Back to an old template: its ReplicaSet becomes the newest revision (as kubectl
                // shows it).
                revision = newest + 1;
                for (auto& rs : m_replicasets) {
                    if (rs["metadata"]["uid"] == rs_uid) {
                        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                            std::to_string(revision);
                    }
                }
            }
        }
        m_settled_once = true;
        m_deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
            std::to_string(revision);
        const int generation = m_deployment["metadata"]["generation"];
        m_pods = nlohmann::json::array();
        const std::string image = tmpl["spec"]["containers"][0]["image"];
        if (crashes && crashes(tmpl)) {
            m_pods.push_back(
                {{"metadata",
                  {{"name", m_name + "-crash-0"},
                   {"namespace", "shop"},
                   {"labels", {{"app", m_name}}},
                   {"ownerReferences", nlohmann::json::array({{{"apiVersion", "apps/v1"},
                                                               {"kind", "ReplicaSet"},
                                                               {"name", "rs"},
                                                               {"uid", rs_uid},
                                                               {"controller", true}}})}}},
                 {"spec",
                  {{"containers", nlohmann::json::array({{{"name", m_name}, {"image", image}}})}}},
                 {"status",
                  {{"phase", "Running"},
                   {"containerStatuses",
                    nlohmann::json::array(
                        {{{"name", m_name},
                          {"image", image},
                          {"ready", false},
                          {"restartCount", 4},
                          {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}}}})}}}});
            m_deployment["status"] = {{"observedGeneration", generation},
                                      {"replicas", 4},
                                      {"updatedReplicas", 1},
                                      {"readyReplicas", 3},
                                      {"availableReplicas", 3}};
        } else {
            m_deployment["status"] = {{"observedGeneration", generation},
                                      {"replicas", 3},
                                      {"updatedReplicas", 3},
                                      {"readyReplicas", 3},
                                      {"availableReplicas", 3}};
        }
    }

    Result<nlohmann::json> do_patch(const std::string& path, kube::PatchType type,
                                    const std::string& body, const kube::WriteOptions& options) {
        ++patches;
        tokens.push_back(options.bearer_token);
        if (before_patch) {
            auto hook = before_patch;
            hook(*this);
        }
        if (path != deployment_path("shop", m_name)) {
            return make_error(Errc::not_found, "not found: " + path);
        }
        nlohmann::json next;
        const auto patch = nlohmann::json::parse(body);
        if (type == kube::PatchType::json_patch) {
            try {
                next = m_deployment.patch(patch);
            } catch (const nlohmann::json::exception& e) {
                Error conflict = make_error(Errc::conflict,
                                            std::string("the json patch test failed: ") + e.what());
                conflict.http_status = 422;
                return conflict;
            }
        } else {
            const auto rv = patch.value("metadata", nlohmann::json::object())
                                .value("resourceVersion", std::string());
            if (!rv.empty() && rv != resource_version()) {
                Error conflict = make_error(Errc::conflict, "the object has been modified");
                conflict.http_status = 409;
                return conflict;
            }
            next = m_deployment;
            next.merge_patch(patch);
        }
        if (options.dry_run) {
            return next;
        }
        const bool spec_changed = next["spec"] != m_deployment["spec"];
        m_deployment = std::move(next);
        ++applied;
        if (spec_changed) {
            m_deployment["metadata"]["generation"] =
                m_deployment["metadata"]["generation"].get<int>() + 1;
        }
        bump();
        settle();
        return m_deployment;
    }

    std::string m_name;
    nlohmann::json m_deployment;
    std::vector<nlohmann::json> m_replicasets;
    nlohmann::json m_pods = nlohmann::json::array();
    int m_version = 100;
    bool m_settled_once = false;
};

} // namespace oncall::test
