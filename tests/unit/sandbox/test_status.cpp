// Status objects of the sandbox's API server, shaped as kube-apiserver's.

#include "objects.h"
#include "status.h"

#include <catch2/catch.hpp>

using nlohmann::json;
using namespace sandbox;

namespace {
const ResourceRef k_deployments{"apps", "deployments", "Deployment"};
const ResourceRef k_secrets{"", "secrets", "Secret"};
} // namespace

TEST_CASE("not found names the qualified resource", "[sandbox][status]") {
    const json s = not_found(k_deployments, "checkout").status();
    CHECK(s == json::parse(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
        "message":"deployments.apps \"checkout\" not found","reason":"NotFound",
        "details":{"name":"checkout","group":"apps","kind":"deployments"},"code":404})"));
    CHECK(not_found(k_secrets, "x").status()["message"] == "secrets \"x\" not found");
    CHECK(unknown_path().status()["details"] == json::object());
}

TEST_CASE("forbidden is worded as kube's RBAC denial", "[sandbox][status]") {
    const json s = forbidden(k_deployments, "", "checkout", "alice", "patch", "shop").status();
    CHECK(s["code"] == 403);
    CHECK(s["reason"] == "Forbidden");
    CHECK(s["message"] ==
          "deployments.apps \"checkout\" is forbidden: User \"alice\" cannot patch resource "
          "\"deployments\" in API group \"apps\" in the namespace \"shop\"");
    CHECK(forbidden(k_secrets, "", "", "system:serviceaccount:shop:oncall-triage", "list", "shop")
              .status()["message"] ==
          "secrets is forbidden: User \"system:serviceaccount:shop:oncall-triage\" cannot list "
          "resource \"secrets\" in "
          "API group \"\" in the namespace \"shop\"");
    CHECK(forbidden(ResourceRef{"", "serviceaccounts", "ServiceAccount"}, "token", "default",
                    "alice", "create", "shop")
              .status()["message"] == "serviceaccounts \"default\" is forbidden: User \"alice\" "
                                      "cannot create resource \"serviceaccounts/token\" in "
                                      "API group \"\" in the namespace \"shop\"");
}

TEST_CASE("invalid lists its causes", "[sandbox][status]") {
    const json one =
        invalid(k_deployments, "checkout",
                {field_invalid("spec.replicas", -1, "must be greater than or equal to 0")})
            .status();
    CHECK(one["code"] == 422);
    CHECK(one["message"] ==
          "Deployment.apps \"checkout\" is invalid: spec.replicas: Invalid value: -1: must be "
          "greater than or equal to 0");
    CHECK(one["details"]["kind"] == "Deployment");
    CHECK(one["details"]["causes"][0] ==
          json{{"reason", "FieldValueInvalid"},
               {"message", "Invalid value: -1: must be greater than or equal to 0"},
               {"field", "spec.replicas"}});
    const json two = invalid(k_deployments, "checkout",
                             {field_required("spec.selector"), field_required("spec.template")})
                         .status();
    CHECK(two["message"] ==
          "Deployment.apps \"checkout\" is invalid: [spec.selector: Required value, spec.template: "
          "Required value]");
}

TEST_CASE("conflict and patch failures", "[sandbox][status]") {
    CHECK(conflict(k_deployments, "checkout", k_object_modified).status()["message"] ==
          "Operation cannot be fulfilled on deployments.apps \"checkout\": the object has been "
          "modified; please apply "
          "your changes to the latest version and try again");
    const json p =
        patch_does_not_apply("testing value /metadata/resourceVersion failed: test failed")
            .status();
    CHECK(p["code"] == 422);
    CHECK(p["reason"] == "Invalid");
    CHECK(p["message"] == "the server rejected our request due to an error in our request");
    CHECK(p["details"]["causes"][0]["message"] ==
          "testing value /metadata/resourceVersion failed: test failed");
    CHECK(unauthorized().status() ==
          json::parse(R"({"kind":"Status","apiVersion":"v1","metadata":{},
        "status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})"));
}

TEST_CASE("pod templates compare equal ignoring the hash label and defaults",
          "[sandbox][objects]") {
    json a = json::parse(R"({"metadata": {"labels": {"app": "x", "pod-template-hash": "abc"}},
                            "spec": {"containers": [{"name": "app", "image": "r/x@sha256:1"}]}})");
    json b = json::parse(R"({"metadata": {"creationTimestamp": null, "labels": {"app": "x"}},
                            "spec": {"containers": [{"name": "app", "image": "r/x@sha256:1", "resources": {},
                                     "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
                                     "terminationMessagePolicy": "File"}],
                                     "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "securityContext": {},
                                     "schedulerName": "default-scheduler", "terminationGracePeriodSeconds": 30}})");
    CHECK(templates_equal(a, b));
    CHECK(pod_template_hash(a) == pod_template_hash(b));
    b["spec"]["containers"][0]["image"] = "r/x@sha256:2";
    CHECK_FALSE(templates_equal(a, b));
    CHECK(pod_template_hash(a) != pod_template_hash(b));
}

TEST_CASE("maxSurge and maxUnavailable round as kube does", "[sandbox][objects]") {
    CHECK(resolve_int_or_percent("25%", 3, true, 0) == 1);
    CHECK(resolve_int_or_percent("25%", 3, false, 0) == 0);
    CHECK(resolve_int_or_percent(2, 3, true, 0) == 2);
    CHECK(resolve_int_or_percent("50%", 10, false, 0) == 5);
    CHECK(human_duration(std::chrono::seconds(45)) == "45s");
    CHECK(human_duration(std::chrono::seconds(192)) == "3m12s");
    CHECK(human_duration(std::chrono::minutes(20)) == "20m");
    CHECK(human_duration(std::chrono::hours(26)) == "26h");
}
