// Patch formats of the sandbox's API server: RFC 6902 JSON patch (with test), RFC 7386 merge patch
// and strategic merge patch, with kube-apiserver's split between 400 (undecodable) and 422 (does
// not apply).

#include "patch.h"

#include <catch2/catch.hpp>

using nlohmann::json;
using namespace sandbox;

namespace {

json deployment() {
    return json::parse(R"({
      "metadata": {"name": "checkout", "resourceVersion": "812", "annotations": {"a": "1"}},
      "spec": {"replicas": 3, "paused": false,
               "template": {"metadata": {"labels": {"app": "checkout"}},
                            "spec": {"containers": [
                               {"name": "app", "image": "reg/shop/checkout@sha256:aaa", "env": [{"name": "X", "value": "1"}]},
                               {"name": "sidecar", "image": "reg/proxy:1"}]}}}})");
}

} // namespace

TEST_CASE("json patch applies the RFC 6902 operations in order", "[sandbox][patch]") {
    auto r = apply_json_patch(deployment(), R"([
        {"op": "test", "path": "/metadata/resourceVersion", "value": "812"},
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "add", "path": "/metadata/annotations/kubernetes.io~1change-cause", "value": "why"},
        {"op": "remove", "path": "/metadata/annotations/a"},
        {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "c3", "image": "x"}},
        {"op": "copy", "from": "/spec/replicas", "path": "/spec/minReadySeconds"},
        {"op": "move", "from": "/spec/minReadySeconds", "path": "/spec/revisionHistoryLimit"}])");
    REQUIRE(r.ok());
    const json& d = r.value();
    CHECK(d["spec"]["replicas"] == 5);
    CHECK(d["metadata"]["annotations"] == json{{"kubernetes.io/change-cause", "why"}});
    CHECK(d["spec"]["template"]["spec"]["containers"].size() == 3);
    CHECK(d["spec"]["revisionHistoryLimit"] == 5);
    CHECK_FALSE(d["spec"].contains("minReadySeconds"));
}

TEST_CASE("a failing test op is a 422 naming the path, and nothing is applied",
          "[sandbox][patch]") {
    const json original = deployment();
    auto r = apply_json_patch(original, R"([
        {"op": "replace", "path": "/spec/replicas", "value": 1},
        {"op": "test", "path": "/metadata/resourceVersion", "value": "811"}])");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().http_status == 422);
    CHECK(r.error().message == "testing value /metadata/resourceVersion failed: test failed");
    CHECK(original["spec"]["replicas"] == 3);
}

TEST_CASE("undecodable json patches are 400, inapplicable ones 422", "[sandbox][patch]") {
    CHECK(apply_json_patch(deployment(), "not json").error().http_status == 400);
    auto obj = apply_json_patch(deployment(), R"({"op": "add"})");
    CHECK(obj.error().http_status == 400);
    CHECK(obj.error().message ==
          "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
    CHECK(apply_json_patch(deployment(), R"([1])").error().http_status == 400);
    auto missing =
        apply_json_patch(deployment(), R"([{"op": "replace", "path": "/spec/nope", "value": 1}])");
    CHECK(missing.error().http_status == 422);
    CHECK_THAT(missing.error().message, Catch::Contains("replace operation does not apply"));
    CHECK(apply_json_patch(deployment(), R"([{"op": "remove", "path": "/a/b/c"}])")
              .error()
              .http_status == 422);
    CHECK(apply_json_patch(deployment(), R"([{"op": "frobnicate", "path": "/spec"}])")
              .error()
              .message == "Unexpected kind: frobnicate");
    CHECK(apply_json_patch(deployment(), R"([{"op": "add", "path": "/spec/replicas"}])")
              .error()
              .http_status == 422);
    CHECK(apply_json_patch(
              deployment(),
              R"([{"op": "add", "path": "/spec/template/spec/containers/9", "value": 1}])")
              .error()
              .http_status == 422);
}

TEST_CASE("a test op compares whole values", "[sandbox][patch]") {
    CHECK(
        apply_json_patch(
            deployment(),
            R"([{"op": "test", "path": "/spec/template/metadata/labels", "value": {"app": "checkout"}}])")
            .ok());
    CHECK_FALSE(apply_json_patch(deployment(),
                                 R"([{"op": "test", "path": "/spec/replicas", "value": "3"}])")
                    .ok());
    CHECK_FALSE(
        apply_json_patch(deployment(), R"([{"op": "test", "path": "/spec/missing", "value": 1}])")
            .ok());
}

TEST_CASE("merge patch merges maps and deletes with null", "[sandbox][patch]") {
    auto r = apply_merge_patch(
        deployment(),
        R"({"metadata": {"annotations": {"a": null, "b": "2"}}, "spec": {"paused": true}})");
    REQUIRE(r.ok());
    CHECK(r.value()["metadata"]["annotations"] == json{{"b", "2"}});
    CHECK(r.value()["spec"]["paused"] == true);
    CHECK(r.value()["spec"]["replicas"] == 3);
    CHECK(apply_merge_patch(deployment(), "[]").error().http_status == 400);
    CHECK(apply_merge_patch(deployment(), "{").error().http_status == 400);
}

TEST_CASE("strategic merge patch merges containers by name", "[sandbox][patch]") {
    auto r = apply_strategic_merge_patch(deployment(), R"({"spec": {"template": {
        "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-26T02:14:00Z"}},
        "spec": {"containers": [{"name": "app", "image": "reg/shop/checkout@sha256:bbb"}]}}}})");
    REQUIRE(r.ok());
    const json& containers = r.value()["spec"]["template"]["spec"]["containers"];
    REQUIRE(containers.size() == 2);
    CHECK(containers[0]["image"] == "reg/shop/checkout@sha256:bbb");
    CHECK(containers[0]["env"].size() == 1); // untouched fields of the merged item stay
    CHECK(containers[1]["image"] == "reg/proxy:1");
    CHECK(r.value()["spec"]["template"]["metadata"]["annotations"]
                   ["kubectl.kubernetes.io/restartedAt"] == "2026-11-26T02:14:00Z");
    CHECK(r.value()["spec"]["template"]["metadata"]["labels"]["app"] == "checkout");
}

TEST_CASE("strategic merge patch directives and new list items", "[sandbox][patch]") {
    auto r =
        apply_strategic_merge_patch(deployment(), R"({"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "$patch": "delete"}, {"name": "new", "image": "n:1"}]}}},
        "$setElementOrder/containers": [{"name": "app"}]})");
    REQUIRE(r.ok());
    const json& containers = r.value()["spec"]["template"]["spec"]["containers"];
    REQUIRE(containers.size() == 2);
    CHECK(containers[0]["name"] == "app");
    CHECK(containers[1]["name"] == "new");
    CHECK_FALSE(r.value().contains("$setElementOrder/containers"));
    auto missing_key = apply_strategic_merge_patch(
        deployment(), R"({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})");
    CHECK(missing_key.error().http_status == 400);
    CHECK(apply_strategic_merge_patch(deployment(), "[1]").error().http_status == 400);
}
