#include "../read_fixture.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/core/exit_code.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

using namespace oncall;
using nlohmann::json;

namespace {

json load(const std::string& name) {
    return json::parse(test::read_fixture("kubernetes/" + name));
}

std::vector<kube::ReplicaSet> checkout_replicasets() {
    std::vector<kube::ReplicaSet> out;
    for (const char* page :
         {"replicasets_checkout_page1.json", "replicasets_checkout_page2.json"}) {
        const json list = load(page);
        for (const auto& item : list["items"]) {
            auto rs = kube::decode_replicaset(item);
            REQUIRE(rs.ok());
            out.push_back(*rs);
        }
    }
    return out;
}

http::Response response(long status, std::string body) {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    r.url = "https://127.0.0.1:6443/apis/apps/v1/namespaces/shop/deployments/checkout";
    return r;
}

} // namespace

TEST_CASE("a recorded Deployment decodes with its spec, template and status", "[kubernetes]") {
    auto d = kube::decode_deployment(load("deployment_checkout.json"));
    REQUIRE(d.ok());
    CHECK(d->metadata.name == "checkout");
    CHECK(d->metadata.namespace_name == "shop");
    CHECK(d->metadata.uid == "6f0c1b52-7f1e-4a51-9d59-1c0e2f6f9a01");
    CHECK(d->metadata.resource_version == "48213");
    CHECK(d->metadata.generation == 3);
    CHECK(d->replicas == 3);
    CHECK_FALSE(d->paused);
    CHECK(d->progress_deadline_seconds == 600);
    CHECK(d->selector_string() == "app=checkout");
    REQUIRE(d->pod_template.containers.size() == 1);
    CHECK(d->pod_template.containers[0].name == "checkout");
    CHECK(d->pod_template.containers[0].image.find("@sha256:3333") != std::string::npos);
    CHECK(d->status.observed_generation == 3);
    CHECK(d->status.updated_replicas == 3);
    CHECK(d->status.available_replicas == 3);
    REQUIRE(d->status.condition("Progressing") != nullptr);
    CHECK(d->status.condition("Progressing")->reason == "NewReplicaSetAvailable");
    CHECK(d->status.condition("ReplicaFailure") == nullptr);
    CHECK(d->metadata.annotations.at("kubernetes.io/change-cause") ==
          "deploy 1.3.0 (ci pipeline 8812)");
}

TEST_CASE("decoders tolerate missing fields and use Kubernetes defaults", "[kubernetes]") {
    auto d = kube::decode_deployment(json::parse(R"({"metadata":{"name":"x"}})"));
    REQUIRE(d.ok());
    CHECK(d->replicas == 1);
    CHECK(d->pod_template.containers.empty());
    CHECK(d->status.conditions.empty());
    auto p = kube::decode_pod(json::object());
    REQUIRE(p.ok());
    CHECK_FALSE(p->ready());
    auto e = kube::decode_event(json::parse(R"({"metadata":null,"count":null})"));
    REQUIRE(e.ok());
    CHECK(e->count == 0);
}

TEST_CASE("decoders reject wrong types with bad_response naming the field", "[kubernetes]") {
    auto doc = load("deployment_checkout.json");
    SECTION("replicas as a string") {
        doc["spec"]["replicas"] = "3";
        auto d = kube::decode_deployment(doc);
        REQUIRE_FALSE(d.ok());
        CHECK(d.error().code == Errc::bad_response);
        CHECK(d.error().message.find("spec.replicas") != std::string::npos);
        CHECK(d.error().message.find("shop/checkout") != std::string::npos);
    }
    SECTION("containers not an array") {
        doc["spec"]["template"]["spec"]["containers"] = json::object();
        auto d = kube::decode_deployment(doc);
        REQUIRE_FALSE(d.ok());
        CHECK(d.error().message.find("spec.template.spec.containers") != std::string::npos);
    }
    SECTION("a label value that is a number") {
        doc["metadata"]["labels"]["app"] = 5;
        auto d = kube::decode_deployment(doc);
        REQUIRE_FALSE(d.ok());
        CHECK(d.error().message.find("metadata.labels.app") != std::string::npos);
    }
    SECTION("a malformed timestamp") {
        doc["metadata"]["creationTimestamp"] = "yesterday";
        CHECK_FALSE(kube::decode_deployment(doc).ok());
    }
    SECTION("not an object at all") {
        CHECK(kube::decode_deployment(json::array()).error().code == Errc::bad_response);
        CHECK(kube::decode_replicaset(json("text")).error().code == Errc::bad_response);
        CHECK(kube::decode_pod(json(3)).error().code == Errc::bad_response);
    }
    SECTION("condition entries that are not objects") {
        doc["status"]["conditions"] = json::array({1, 2});
        CHECK_FALSE(kube::decode_deployment(doc).ok());
    }
}

TEST_CASE("matchExpressions render as label selector text", "[kubernetes]") {
    auto doc = load("deployment_checkout.json");
    doc["spec"]["selector"]["matchExpressions"] = json::parse(
        R"([{"key":"tier","operator":"In","values":["web","api"]},{"key":"canary","operator":"DoesNotExist"}])");
    auto d = kube::decode_deployment(doc);
    REQUIRE(d.ok());
    CHECK(d->selector_string() == "app=checkout,tier in (web,api),!canary");
    doc["spec"]["selector"]["matchExpressions"][0]["operator"] = "Near";
    CHECK_FALSE(kube::decode_deployment(doc).ok());
}

TEST_CASE("a crash-looping pod decodes its container state", "[kubernetes]") {
    auto p = kube::decode_pod(load("pod_crashloop.json"));
    REQUIRE(p.ok());
    CHECK(p->phase == "Running");
    CHECK_FALSE(p->ready());
    REQUIRE(p->container_statuses.size() == 1);
    const auto& c = p->container_statuses[0];
    CHECK(c.waiting_reason == "CrashLoopBackOff");
    CHECK(c.restart_count == 5);
    CHECK(c.last_terminated_reason == "Error");
    CHECK(c.image_id.find("@sha256:4444") != std::string::npos);
    REQUIRE(p->metadata.controller() != nullptr);
    CHECK(p->metadata.controller()->kind == "ReplicaSet");
    CHECK(p->metadata.controller()->name == "search-84c6b7d9f");
}

TEST_CASE("events decode with their involved object", "[kubernetes]") {
    const auto list = load("events_checkout.json");
    auto e = kube::decode_event(list["items"][0]);
    REQUIRE(e.ok());
    CHECK(e->involved_object.kind == "Deployment");
    CHECK(e->involved_object.name == "checkout");
    CHECK(e->reason == "ScalingReplicaSet");
    CHECK(e->source_component == "deployment-controller");
    CHECK(e->count == 1);
    REQUIRE(e->last_timestamp.has_value());
    CHECK(format_rfc3339(*e->last_timestamp) == "2026-11-26T01:54:02Z");
}

TEST_CASE("revisions: only ReplicaSets controlled by the Deployment, newest first, current marked",
          "[kubernetes]") {
    auto d = kube::decode_deployment(load("deployment_checkout.json"));
    REQUIRE(d.ok());
    const auto revisions = kube::revisions_of(*d, checkout_replicasets());
    REQUIRE(revisions.size() == 3);
    CHECK(revisions[0].number == 3);
    CHECK(revisions[1].number == 2);
    CHECK(revisions[2].number == 1);
    CHECK(revisions[0].current);
    CHECK_FALSE(revisions[1].current);
    CHECK_FALSE(revisions[2].current);
    CHECK(revisions[1].artifacts ==
          std::vector<std::string>{"127.0.0.1:5001/shop/checkout@sha256:" + std::string(64, '2')});
    CHECK(revisions[1].change_cause == "deploy 1.2.0");
    REQUIRE(revisions[1].deployed_at.has_value());
    CHECK(format_rfc3339(*revisions[1].deployed_at) == "2026-11-24T14:03:10Z");
    CHECK(revisions[0].replicaset == "checkout-7d9f8b6c5d");
}

TEST_CASE("revisions: the current one follows the Deployment's template, not the highest number",
          "[kubernetes]") {
    auto d = kube::decode_deployment(load("deployment_checkout.json"));
    REQUIRE(d.ok());
    auto replicasets = checkout_replicasets();
    // The Deployment was just rolled back to revision 2's template; the controller has not
    // renumbered yet.
    d->pod_template.raw = replicasets[1].pod_template.raw;
    d->pod_template.raw["metadata"]["labels"].erase("pod-template-hash");
    const auto revisions = kube::revisions_of(*d, replicasets);
    REQUIRE(revisions.size() == 3);
    CHECK_FALSE(revisions[0].current);
    CHECK(revisions[1].current);
    CHECK(kube::same_template(replicasets[1].pod_template.raw, d->pod_template.raw));
    CHECK_FALSE(kube::same_template(replicasets[0].pod_template.raw, d->pod_template.raw));
}

TEST_CASE("a Deployment without a uid owns nothing", "[kubernetes]") {
    auto d = kube::decode_deployment(load("deployment_checkout.json"));
    REQUIRE(d.ok());
    d->metadata.uid.clear();
    CHECK(kube::revisions_of(*d, checkout_replicasets()).empty());
}

TEST_CASE("Status objects become classified errors", "[kubernetes]") {
    SECTION("404") {
        const auto e = kube::api_error(
            response(404, test::read_fixture("kubernetes/status_not_found.json")), "get x");
        CHECK(e.code == Errc::not_found);
        CHECK(e.http_status == 404);
        CHECK(e.message.find("deployments.apps \"nope\" not found") != std::string::npos);
    }
    SECTION("403 keeps the server's message") {
        const auto e = kube::api_error(
            response(403, test::read_fixture("kubernetes/status_forbidden.json")), "patch");
        CHECK(e.code == Errc::access_denied);
        CHECK(e.message.find("cannot patch resource \"deployments\"") != std::string::npos);
    }
    SECTION("401") {
        const auto e = kube::api_error(
            response(401, test::read_fixture("kubernetes/status_unauthorized.json")), "get");
        CHECK(e.code == Errc::access_denied);
    }
    SECTION("409") {
        const auto e = kube::api_error(
            response(409, test::read_fixture("kubernetes/status_conflict.json")), "patch");
        CHECK(e.code == Errc::conflict);
        CHECK(exit_code_for(e) == ExitCode::conflict);
    }
    SECTION("a failed json-patch test op is a conflict, not invalid input") {
        const auto e = kube::api_error(
            response(422, test::read_fixture("kubernetes/status_test_failed.json")), "patch");
        CHECK(e.code == Errc::conflict);
        CHECK(e.message.find("/metadata/resourceVersion") != std::string::npos);
    }
    SECTION("422 lists the causes") {
        const auto e = kube::api_error(
            response(422, test::read_fixture("kubernetes/status_invalid.json")), "patch");
        CHECK(e.code == Errc::invalid);
        CHECK(e.message.find("spec.template.spec.containers[0].image: Required value") !=
              std::string::npos);
    }
    SECTION("5xx with a Status is unavailable and retryable") {
        const auto e = kube::api_error(
            response(
                503,
                R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcdserver: request timed out","code":503})"),
            "get");
        CHECK(e.code == Errc::unavailable);
        CHECK(e.retryable);
    }
    SECTION("a 502 HTML page from a proxy is unavailable and not echoed in full") {
        const std::string html = "<html><body>" + std::string(1000, 'x') + "</body></html>";
        const auto e = kube::api_error(response(502, html), "get");
        CHECK(e.code == Errc::unavailable);
        CHECK(e.message.size() < 400);
    }
    SECTION("a 4xx with garbage is bad_response") {
        const auto e = kube::api_error(response(418, "{not json"), "get");
        CHECK(e.code == Errc::bad_response);
    }
    SECTION("Status with wrong field types does not crash") {
        const auto e = kube::api_error(
            response(409, R"({"kind":"Status","message":5,"details":{"causes":"x"}})"), "p");
        CHECK(e.code == Errc::conflict);
    }
}

TEST_CASE("kubeconfig: token, inline CA, namespace from the current context", "[kubernetes]") {
    const std::string path = std::string(ONCALL_FIXTURES_DIR) + "/kubernetes/kubeconfig_token.yaml";
    auto c =
        kube::parse_kubeconfig(test::read_fixture("kubernetes/kubeconfig_token.yaml"), path, "");
    REQUIRE(c.ok());
    CHECK(c->server == "https://127.0.0.1:6443");
    CHECK(c->namespace_name == "shop");
    CHECK(c->token == "sandbox-engineer-token");
    CHECK_FALSE(c->insecure_skip_tls_verify);
    CHECK(c->ca_file.empty());
    CHECK(c->ca_pem.rfind("-----BEGIN CERTIFICATE-----\n", 0) == 0);
    CHECK(c->kube_context == "sandbox");
}

TEST_CASE("kubeconfig: tokenFile relative to the file, insecure cluster", "[kubernetes]") {
    const std::string path = std::string(ONCALL_FIXTURES_DIR) + "/kubernetes/kubeconfig_token.yaml";
    auto c = kube::parse_kubeconfig(test::read_fixture("kubernetes/kubeconfig_token.yaml"), path,
                                    "staging");
    REQUIRE(c.ok());
    CHECK(c->token == "file-token-value");
    CHECK(c->insecure_skip_tls_verify);
    CHECK(c->namespace_name == "default");
}

TEST_CASE("kubeconfig: exec plugins and client certificates are read, unknown contexts are refused "
          "clearly",
          "[kubernetes]") {
    const std::string path = std::string(ONCALL_FIXTURES_DIR) + "/kubernetes/kubeconfig_token.yaml";
    const auto text = test::read_fixture("kubernetes/kubeconfig_token.yaml");
    auto gke = kube::parse_kubeconfig(text, path, "gke");
    REQUIRE(gke.ok());
    REQUIRE(gke->exec);
    CHECK(gke->exec->command == "gke-gcloud-auth-plugin");
    CHECK(gke->exec->api_version == "client.authentication.k8s.io/v1beta1");
    CHECK(gke->exec->interactive_mode == "IfAvailable"); // kubectl's default for v1beta1
    CHECK(gke->exec->provide_cluster_info);
    auto cert = kube::parse_kubeconfig(text, path, "cert");
    REQUIRE(cert.ok());
    CHECK(cert->client_cert_pem == "---");
    CHECK(cert->client_key_pem == "---");
    auto missing = kube::parse_kubeconfig(text, path, "prod");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find("context 'prod' was not found") != std::string::npos);
    CHECK_FALSE(kube::parse_kubeconfig("- a\n- b\n", path, "").ok());
    CHECK_FALSE(
        kube::parse_kubeconfig("clusters: {a: 1}\ncurrent-context: x\ncontexts: 3\n", path, "")
            .ok());
    CHECK_FALSE(kube::parse_kubeconfig("::: not yaml [", path, "").ok());
}

TEST_CASE("resolve_connection uses the context's server and token source", "[kubernetes]") {
    config::KubernetesConfig k;
    {
        test::ScopedEnv kubeconfig("KUBECONFIG", "/nonexistent/kubeconfig");
        CHECK(kube::resolve_connection(k).error().code == Errc::config);
    }
    k.server = "https://127.0.0.1:6443/";
    k.namespace_name = "shop";
    k.auth.token_env = "ONCALL_TEST_KUBE_TOKEN_X";
    ::setenv("ONCALL_TEST_KUBE_TOKEN_X", "abc", 1);
    auto c = kube::resolve_connection(k);
    REQUIRE(c.ok());
    CHECK(c->server == "https://127.0.0.1:6443");
    CHECK(c->token == "abc");
    k.server = "ftp://x";
    CHECK_FALSE(kube::resolve_connection(k).ok());
}
