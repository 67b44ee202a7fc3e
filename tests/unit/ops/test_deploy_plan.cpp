#include "../read_fixture.h"
#include "oncall/ops/deploy_plan.h"
#include "oncall/ops/rollout.h"

#include <catch2/catch.hpp>

using namespace oncall;
using nlohmann::json;

namespace {

json load(const std::string& name) {
    return json::parse(test::read_fixture("kubernetes/" + name));
}

kube::Deployment checkout() {
    auto d = kube::decode_deployment(load("deployment_checkout.json"));
    REQUIRE(d.ok());
    return *d;
}

std::vector<kube::Revision> checkout_revisions(const kube::Deployment& d) {
    std::vector<kube::ReplicaSet> rs;
    for (const char* page :
         {"replicasets_checkout_page1.json", "replicasets_checkout_page2.json"}) {
        const json list = load(page);
        for (const auto& item : list["items"]) {
            rs.push_back(kube::decode_replicaset(item).value());
        }
    }
    return kube::revisions_of(d, rs);
}

const std::string k_digest2 = "sha256:" + std::string(64, '2');
const std::string k_digest3 = "sha256:" + std::string(64, '3');
const std::string k_new = "sha256:" + std::string(64, 'b');

} // namespace

TEST_CASE("rollback target: previous revision with different artifacts, or --to-revision",
          "[deploy]") {
    const auto d = checkout();
    const auto revisions = checkout_revisions(d);
    auto previous = ops::choose_rollback_target(revisions, std::nullopt);
    REQUIRE(previous.ok());
    CHECK(previous->revision->number == 2);
    CHECK(previous->rule.find("previous revision") != std::string::npos);

    auto one = ops::choose_rollback_target(revisions, 1);
    REQUIRE(one.ok());
    CHECK(one->revision->number == 1);
    CHECK(one->rule == "requested with --to-revision 1");

    auto missing = ops::choose_rollback_target(revisions, 7);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == Errc::not_found);
    CHECK(missing.error().message.find("known revisions: 3, 2, 1") != std::string::npos);
}

TEST_CASE("rollback target skips older revisions running the same artifacts", "[deploy]") {
    const auto d = checkout();
    auto revisions = checkout_revisions(d);
    revisions[1].artifacts = revisions[0].artifacts; // revision 2 ran what 3 runs (a restart)
    auto t = ops::choose_rollback_target(revisions, std::nullopt);
    REQUIRE(t.ok());
    CHECK(t->revision->number == 1);
    revisions[2].artifacts = revisions[0].artifacts;
    CHECK(ops::choose_rollback_target(revisions, std::nullopt).error().code == Errc::not_found);
    CHECK(ops::choose_rollback_target({}, std::nullopt).error().code == Errc::not_found);
}

TEST_CASE(
    "the rollback patch tests resourceVersion first and restores the template without the hash",
    "[deploy]") {
    const auto d = checkout();
    const auto revisions = checkout_revisions(d);
    const auto patch =
        ops::build_rollback_patch(d, revisions[1], "oncall rollback by alice: errors at 12%");
    REQUIRE(patch.is_array());
    REQUIRE(patch.size() == 3);
    CHECK(patch[0] ==
          json({{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", "48213"}}));
    CHECK(patch[1]["op"] == "replace");
    CHECK(patch[1]["path"] == "/spec/template");
    const auto& tmpl = patch[1]["value"];
    CHECK_FALSE(tmpl["metadata"]["labels"].contains("pod-template-hash"));
    CHECK(tmpl["metadata"]["labels"]["app"] == "checkout");
    CHECK(tmpl["spec"]["containers"][0]["image"] == "127.0.0.1:5001/shop/checkout@" + k_digest2);
    CHECK(patch[2]["path"] == "/metadata/annotations");
    const auto& ann = patch[2]["value"];
    CHECK(ann["kubernetes.io/change-cause"] == "oncall rollback by alice: errors at 12%");
    // The Deployment's own revision bookkeeping is kept, the ReplicaSet's replica counts are not
    // copied.
    CHECK(ann["deployment.kubernetes.io/revision"] == "3");
    CHECK_FALSE(ann.contains("deployment.kubernetes.io/desired-replicas"));
}

TEST_CASE(
    "the restart patch carries restartedAt, change-cause and the resourceVersion precondition",
    "[deploy]") {
    const auto d = checkout();
    const auto p =
        ops::build_restart_patch(d, "2026-11-26T02:30:00Z", "oncall redeploy by bob: stuck pool");
    CHECK(p["metadata"]["resourceVersion"] == "48213");
    CHECK(p["metadata"]["annotations"]["kubernetes.io/change-cause"] ==
          "oncall redeploy by bob: stuck pool");
    CHECK(p["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] ==
          "2026-11-26T02:30:00Z");
}

TEST_CASE("GitOps owners are detected from labels and annotations", "[deploy]") {
    auto d = checkout();
    CHECK_FALSE(ops::gitops_owner(d).has_value());
    SECTION("Argo CD tracking annotation") {
        d.metadata.annotations["argocd.argoproj.io/tracking-id"] =
            "shop:apps/Deployment:shop/checkout";
        auto o = ops::gitops_owner(d);
        REQUIRE(o.has_value());
        CHECK(o->find("Argo CD") == 0);
    }
    SECTION("Argo CD instance label") {
        d.metadata.labels["argocd.argoproj.io/instance"] = "shop";
        CHECK(ops::gitops_owner(d).value().find("Argo CD") == 0);
    }
    SECTION("Flux kustomize label") {
        d.metadata.labels["kustomize.toolkit.fluxcd.io/name"] = "apps";
        CHECK(ops::gitops_owner(d).value().find("Flux") == 0);
    }
    SECTION("Flux helm label") {
        d.metadata.labels["helm.toolkit.fluxcd.io/name"] = "checkout";
        CHECK(ops::gitops_owner(d).value().find("Flux") == 0);
    }
    SECTION("plain Helm is not GitOps") {
        d.metadata.labels["app.kubernetes.io/managed-by"] = "Helm";
        d.metadata.labels["app.kubernetes.io/instance"] = "checkout";
        CHECK_FALSE(ops::gitops_owner(d).has_value());
    }
}

TEST_CASE("image arguments: container names, references, assignment", "[deploy]") {
    const auto d = checkout();
    auto plain = ops::parse_image_change("127.0.0.1:5001/shop/checkout:1.2.0");
    REQUIRE(plain.ok());
    CHECK(plain->container.empty());
    CHECK(plain->reference.tag == "1.2.0");
    auto named = ops::parse_image_change("checkout=127.0.0.1:5001/shop/checkout@" + k_new);
    REQUIRE(named.ok());
    CHECK(named->container == "checkout");
    CHECK_FALSE(ops::parse_image_change("Bad_Name=reg.example/a:1").ok());
    CHECK_FALSE(ops::parse_image_change("checkout=").ok());

    auto assigned = ops::assign_containers(d, {*plain});
    REQUIRE(assigned.ok());
    CHECK((*assigned)[0].container == "checkout");
    auto unknown = ops::parse_image_change("sidecar=reg.example/a:1");
    CHECK(ops::assign_containers(d, {*unknown}).error().message.find("no container 'sidecar'") !=
          std::string::npos);
    CHECK_FALSE(ops::assign_containers(d, {*plain, *named}).ok());
}

TEST_CASE("only the service's repositories may run", "[deploy]") {
    const auto d = checkout();
    auto defaults = ops::allowed_repositories({}, d);
    REQUIRE(defaults.ok());
    CHECK(*defaults == std::vector<std::string>{"127.0.0.1:5001/shop/checkout"});
    auto ours = registry::parse_image_reference("127.0.0.1:5001/shop/checkout:1.2.0").value();
    auto theirs = registry::parse_image_reference("127.0.0.1:5001/shop/payments:1.0.0").value();
    auto elsewhere = registry::parse_image_reference("evil.example/shop/checkout:1.2.0").value();
    CHECK(ops::check_reference_allowed(ours, *defaults, "checkout").ok());
    auto refused = ops::check_reference_allowed(theirs, *defaults, "checkout");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::access_denied);
    CHECK(refused.error().message.find("127.0.0.1:5001/shop/checkout") != std::string::npos);
    CHECK_FALSE(ops::check_reference_allowed(elsewhere, *defaults, "checkout").ok());

    auto configured = ops::allowed_repositories({"registry.example/shop/checkout", "nginx"}, d);
    REQUIRE(configured.ok());
    CHECK(*configured ==
          std::vector<std::string>{"registry.example/shop/checkout", "docker.io/library/nginx"});
    CHECK_FALSE(ops::allowed_repositories({"registry.example/shop/checkout:1"}, d).ok());
}

TEST_CASE("the image patch pins digests and tests each container's name", "[deploy]") {
    const auto d = checkout();
    auto change = ops::parse_image_change("127.0.0.1:5001/shop/checkout:1.4.0").value();
    auto assigned = ops::assign_containers(d, {change}).value();
    CHECK_FALSE(ops::build_image_patch(d, assigned, "c").ok()); // not resolved yet
    assigned[0].reference.digest = k_new;
    auto patch =
        ops::build_image_patch(d, assigned, "oncall redeploy by bob: 1.4.0 fixes the pool");
    REQUIRE(patch.ok());
    CHECK((*patch)[0] ==
          json({{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", "48213"}}));
    CHECK((*patch)[1] == json({{"op", "test"},
                               {"path", "/spec/template/spec/containers/0/name"},
                               {"value", "checkout"}}));
    CHECK((*patch)[2] == json({{"op", "replace"},
                               {"path", "/spec/template/spec/containers/0/image"},
                               {"value", "127.0.0.1:5001/shop/checkout@" + k_new}}));
    CHECK((*patch)[3]["path"] == "/metadata/annotations/kubernetes.io~1change-cause");
    CHECK(ops::images_after(d, assigned) ==
          std::vector<std::string>{"127.0.0.1:5001/shop/checkout@" + k_new});
}

TEST_CASE("rollout status follows kubectl's rules", "[deploy]") {
    auto d = checkout();
    auto s = ops::evaluate_rollout(d);
    CHECK(s.state == ops::RolloutState::complete);
    CHECK(s.message == "deployment \"checkout\" successfully rolled out");
    CHECK(s.revision == 3);

    d.metadata.generation = 4;
    s = ops::evaluate_rollout(d);
    CHECK(s.state == ops::RolloutState::progressing);
    CHECK(s.message == "Waiting for deployment spec update to be observed...");

    d.status.observed_generation = 4;
    d.status.updated_replicas = 1;
    d.status.replicas = 4;
    s = ops::evaluate_rollout(d);
    CHECK(s.message == "Waiting for deployment \"checkout\" rollout to finish: 1 out of 3 new "
                       "replicas have been updated...");

    d.status.updated_replicas = 3;
    s = ops::evaluate_rollout(d);
    CHECK(s.message == "Waiting for deployment \"checkout\" rollout to finish: 1 old replicas are "
                       "pending termination...");

    d.status.replicas = 3;
    d.status.available_replicas = 2;
    s = ops::evaluate_rollout(d);
    CHECK(s.message == "Waiting for deployment \"checkout\" rollout to finish: 2 of 3 updated "
                       "replicas are available...");

    d.status.conditions.push_back({"Progressing", "False", "ProgressDeadlineExceeded", "", {}, {}});
    d.status.conditions.erase(d.status.conditions.begin(), d.status.conditions.begin() + 2);
    s = ops::evaluate_rollout(d);
    CHECK(s.state == ops::RolloutState::failed);
    CHECK(s.message == "deployment \"checkout\" exceeded its progress deadline");

    d.paused = true;
    CHECK(ops::evaluate_rollout(d).state == ops::RolloutState::paused);
}

TEST_CASE("pod problems: crash loops in the new ReplicaSet are fatal and listed first",
          "[deploy]") {
    auto crashing = kube::decode_pod(load("pod_crashloop.json")).value();
    auto healthy = crashing;
    healthy.metadata.name = "search-old-1";
    healthy.metadata.owner_references[0].uid = "old-rs";
    healthy.container_statuses[0].waiting_reason.clear();
    healthy.container_statuses[0].ready = true;
    auto problems = ops::pod_problems({healthy, crashing}, "0b7a3c1e-9d1f-4f6b-8a3e-2c1d0e9f8a7b");
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].pod == "search-84c6b7d9f-x7k2p");
    CHECK(problems[0].reason == "CrashLoopBackOff");
    CHECK(problems[0].restarts == 5);
    CHECK(problems[0].in_new_replicaset);
    CHECK(problems[0].fatal());

    auto pulling = crashing;
    pulling.container_statuses[0].waiting_reason = "ContainerCreating";
    CHECK(ops::pod_problems({pulling}, "x").empty());
    pulling.container_statuses[0].waiting_reason = "ImagePullBackOff";
    auto p = ops::pod_problems({pulling}, "other");
    REQUIRE(p.size() == 1);
    CHECK(p[0].fatal());
    CHECK_FALSE(p[0].in_new_replicaset);
}

TEST_CASE("one judgement: a crash loop or image pull failure in the new ReplicaSet fails the "
          "rollout at once",
          "[deploy][rollout]") {
    auto d = checkout();
    d.status.updated_replicas = 1;
    d.status.replicas = 4;
    kube::ReplicaSet fresh;
    fresh.metadata.name = "checkout-new";
    fresh.metadata.uid = "0b7a3c1e-9d1f-4f6b-8a3e-2c1d0e9f8a7b"; // the crash-looping pod's owner
    fresh.metadata.owner_references.push_back(
        {"apps/v1", "Deployment", "checkout", d.metadata.uid, true});
    fresh.pod_template = d.pod_template;
    fresh.revision = 3;
    kube::ReplicaSet old = fresh;
    old.metadata.uid = "old-rs";
    old.pod_template.raw["spec"]["containers"][0]["image"] = "elsewhere/checkout@sha256:0";
    old.revision = 2;
    auto crashing = kube::decode_pod(load("pod_crashloop.json")).value();

    // Progressing by kubectl's counts, failed by its new pods.
    CHECK(ops::evaluate_rollout(d).state == ops::RolloutState::progressing);
    auto s = ops::assess_rollout(d, {old, fresh}, {crashing});
    CHECK(s.state == ops::RolloutState::failed);
    CHECK_THAT(s.reason, Catch::Contains("CrashLoopBackOff") && Catch::Contains("5 restarts"));
    CHECK_THAT(s.message, Catch::Contains("CrashLoopBackOff"));

    // The same pod in an old ReplicaSet is listed, and does not fail the rollout.
    auto old_pod = crashing;
    old_pod.metadata.owner_references[0].uid = "old-rs";
    s = ops::assess_rollout(d, {old, fresh}, {old_pod});
    CHECK(s.state == ops::RolloutState::progressing);
    REQUIRE(s.problems.size() == 1);
    CHECK_FALSE(s.problems[0].in_new_replicaset);

    // Pods of other Deployments are ignored.
    auto stranger = crashing;
    stranger.metadata.owner_references[0].uid = "someone-else";
    CHECK(ops::assess_rollout(d, {old, fresh}, {stranger}).problems.empty());

    // Past the progress deadline, the reason still names the crash loop behind it.
    auto late = d;
    late.status.conditions.clear();
    late.status.conditions.push_back({"Progressing",
                                      "False",
                                      "ProgressDeadlineExceeded",
                                      "ReplicaSet \"checkout-new\" has timed out progressing.",
                                      {},
                                      {}});
    s = ops::assess_rollout(late, {old, fresh}, {crashing});
    CHECK(s.state == ops::RolloutState::failed);
    CHECK_THAT(s.reason, Catch::StartsWith("progress deadline exceeded: ReplicaSet") &&
                             Catch::Contains("CrashLoopBackOff"));
    CHECK(ops::assess_rollout(late, {old, fresh}, {old_pod}).reason ==
          "progress deadline exceeded: ReplicaSet \"checkout-new\" has timed out progressing.");

    // Image pull back-off fails it too; paused wins over everything.
    auto pulling = crashing;
    pulling.container_statuses[0].waiting_reason = "ImagePullBackOff";
    CHECK(ops::assess_rollout(d, {fresh}, {pulling}).state == ops::RolloutState::failed);
    d.paused = true;
    CHECK(ops::assess_rollout(d, {fresh}, {pulling}).state == ops::RolloutState::paused);

    // A healthy rollout in progress stays progressing.
    d.paused = false;
    auto ready = crashing;
    ready.container_statuses[0].waiting_reason.clear();
    ready.container_statuses[0].ready = true;
    ready.phase = "Running";
    CHECK(ops::assess_rollout(d, {old, fresh}, {ready}).state == ops::RolloutState::progressing);
}
