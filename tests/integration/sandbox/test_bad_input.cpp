// Bad input gets kube-apiserver-shaped Status errors, changes nothing, and the sandbox keeps
// serving.

#include "api_client.h"

using nlohmann::json;
using sandbox_test::Cluster;

namespace {

const std::string k_checkout = "/apis/apps/v1/namespaces/shop/deployments/checkout";

void check_status(const sandbox_test::ApiResponse& r, int code, const std::string& reason) {
    INFO(r.raw);
    CHECK(r.status == code);
    REQUIRE(r.body.is_object());
    CHECK(r.body["kind"] == "Status");
    CHECK(r.body["apiVersion"] == "v1");
    CHECK(r.body["status"] == "Failure");
    CHECK(r.body["code"] == code);
    CHECK(r.body["reason"] == reason);
    CHECK(r.body["message"].is_string());
}

} // namespace

TEST_CASE("unknown paths and objects are 404 Status objects", "[sandbox][bad-input]") {
    Cluster cluster;
    const std::string token = cluster.engineer_token();
    for (const char* path :
         {"/nope", "/apis/apps/v1/namespaces/shop/widgets", "/apis/nope.example/v1/things",
          "/api/v2/pods", "/apis/apps/v1/namespaces/shop/deployments/checkout/frobnicate",
          "/apis/apps/v1/deployments/checkout"}) {
        INFO(path);
        const auto r = cluster.request("GET", path, token);
        check_status(r, 404, "NotFound");
        CHECK(r.body["message"] == "the server could not find the requested resource");
    }
    const auto missing =
        cluster.request("GET", "/apis/apps/v1/namespaces/shop/deployments/nope", token);
    check_status(missing, 404, "NotFound");
    CHECK(missing.body["message"] == "deployments.apps \"nope\" not found");
    CHECK(missing.body["details"] ==
          json{{"name", "nope"}, {"group", "apps"}, {"kind", "deployments"}});
    check_status(cluster.request("DELETE", k_checkout, token), 405, "MethodNotAllowed");
}

TEST_CASE("malformed patches and wrong content types change nothing", "[sandbox][bad-input]") {
    Cluster cluster;
    const std::string deployer = cluster.mint_token("oncall-deployer");
    const json before = cluster.get(k_checkout);
    const std::string rv = before["metadata"]["resourceVersion"];

    const auto not_json =
        cluster.request("PATCH", k_checkout, deployer, "{not json", "application/json-patch+json");
    check_status(not_json, 400, "BadRequest");
    const auto object_as_json_patch = cluster.request(
        "PATCH", k_checkout, deployer, R"({"op":"add"})", "application/json-patch+json");
    check_status(object_as_json_patch, 400, "BadRequest");
    CHECK(object_as_json_patch.body["message"] ==
          "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
    check_status(
        cluster.request("PATCH", k_checkout, deployer, "[1,2]", "application/merge-patch+json"),
        400, "BadRequest");
    check_status(cluster.request("PATCH", k_checkout, deployer,
                                 R"({"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}})",
                                 "application/strategic-merge-patch+json"),
                 400, "BadRequest");

    const auto wrong_type =
        cluster.request("PATCH", k_checkout, deployer, R"({"spec":{"paused":true}})", "text/plain");
    check_status(wrong_type, 415, "UnsupportedMediaType");
    CHECK_THAT(
        wrong_type.body["message"].get<std::string>(),
        Catch::StartsWith(
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json"));
    check_status(cluster.request("PATCH", k_checkout, deployer, R"({"spec":{"paused":true}})",
                                 "application/json"),
                 415, "UnsupportedMediaType");
    check_status(cluster.request("POST", "/api/v1/namespaces/shop/secrets",
                                 cluster.engineer_token(), "name=oncall-grant-x",
                                 "application/x-www-form-urlencoded"),
                 415, "UnsupportedMediaType");

    const auto inapplicable =
        cluster.request("PATCH", k_checkout, deployer,
                        R"([{"op":"replace","path":"/spec/nothing/here","value":1}])",
                        "application/json-patch+json");
    check_status(inapplicable, 422, "Invalid");

    const auto invalid =
        cluster.request("PATCH", k_checkout, deployer, R"({"spec":{"replicas":-1}})",
                        "application/merge-patch+json");
    check_status(invalid, 422, "Invalid");
    CHECK(invalid.body["message"] == "Deployment.apps \"checkout\" is invalid: spec.replicas: "
                                     "Invalid value: -1: must be greater than or equal to 0");
    CHECK(invalid.body["details"]["causes"][0] ==
          json{{"reason", "FieldValueInvalid"},
               {"message", "Invalid value: -1: must be greater than or equal to 0"},
               {"field", "spec.replicas"}});
    const auto no_image = cluster.request(
        "PATCH", k_checkout, deployer,
        R"({"spec":{"template":{"spec":{"containers":[{"name":"checkout","image":""}]}}}})",
        "application/strategic-merge-patch+json");
    check_status(no_image, 422, "Invalid");
    CHECK_THAT(no_image.body["message"].get<std::string>(),
               Catch::Contains("spec.template.spec.containers[0].image: Required value"));
    const auto selector = cluster.request("PATCH", k_checkout, deployer,
                                          R"({"spec":{"selector":{"matchLabels":{"app":"x"}}}})",
                                          "application/merge-patch+json");
    check_status(selector, 422, "Invalid");
    CHECK_THAT(selector.body["message"].get<std::string>(), Catch::Contains("field is immutable"));

    for (const char* patch :
         {R"({"spec":{"revisionHistoryLimit":"ten"}})",
          R"({"spec":{"strategy":{"rollingUpdate":{"maxSurge":"lots"}}}})",
          R"({"spec":{"paused":"yes"}})", R"({"metadata":{"annotations":{"a":1}}})"}) {
        INFO(patch);
        check_status(
            cluster.request("PATCH", k_checkout, deployer, patch, "application/merge-patch+json"),
            422, "Invalid");
    }

    check_status(cluster.request(
                     "GET", "/apis/apps/v1/namespaces/shop/deployments?labelSelector=app%20in%20(x",
                     cluster.engineer_token()),
                 400, "BadRequest");
    check_status(
        cluster.request("GET",
                        "/apis/apps/v1/namespaces/shop/deployments?fieldSelector=spec.replicas%3D3",
                        cluster.engineer_token()),
        400, "BadRequest");
    check_status(cluster.request("PATCH", k_checkout + "?dryRun=Sometimes", deployer,
                                 R"({"spec":{"paused":true}})", "application/merge-patch+json"),
                 400, "BadRequest");

    // Nothing changed, and the server still serves.
    const json after = cluster.get(k_checkout);
    CHECK(after["metadata"]["resourceVersion"] == rv);
    CHECK(after["spec"] == before["spec"]);
    CHECK(cluster.request("GET", "/healthz", "").raw == "ok");
}

TEST_CASE("a failing test op is rejected as kube-apiserver rejects it", "[sandbox][bad-input]") {
    Cluster cluster;
    const std::string deployer = cluster.mint_token("oncall-deployer");
    const json before = cluster.get(k_checkout);
    const auto r = cluster.request("PATCH", k_checkout, deployer,
                                   R"([{"op":"test","path":"/metadata/resourceVersion","value":"1"},
                                       {"op":"replace","path":"/spec/paused","value":true}])",
                                   "application/json-patch+json");
    check_status(r, 422, "Invalid");
    CHECK(r.body["message"] == "the server rejected our request due to an error in our request");
    CHECK(r.body["details"]["causes"][0]["message"] ==
          "testing value /metadata/resourceVersion failed: test failed");
    const json after = cluster.get(k_checkout);
    CHECK(after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]);
    CHECK(after["spec"].value("paused", false) == false);
}

TEST_CASE("a stale resourceVersion is a 409 Conflict", "[sandbox][bad-input]") {
    Cluster cluster;
    const std::string deployer = cluster.mint_token("oncall-deployer");
    json object = cluster.get(k_checkout);
    object["metadata"]["resourceVersion"] = "1";
    object["metadata"]["annotations"]["sandbox-test/put"] = "stale";
    const auto put = cluster.request("PUT", k_checkout, deployer, object.dump());
    check_status(put, 409, "Conflict");
    CHECK(put.body["message"] ==
          "Operation cannot be fulfilled on deployments.apps \"checkout\": the object has been "
          "modified; please apply your changes to the latest version and try again");
    CHECK(put.body["details"] ==
          json{{"name", "checkout"}, {"group", "apps"}, {"kind", "deployments"}});
    const auto patch =
        cluster.request("PATCH", k_checkout, deployer, R"({"metadata":{"resourceVersion":"1"}})",
                        "application/merge-patch+json");
    check_status(patch, 409, "Conflict");
    object["metadata"]["name"] = "payments";
    check_status(cluster.request("PUT", k_checkout, deployer, object.dump()), 400, "BadRequest");
    CHECK(cluster.get(k_checkout)["metadata"]["annotations"].count("sandbox-test/put") == 0);
}
