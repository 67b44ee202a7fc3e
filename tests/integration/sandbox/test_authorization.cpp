// Authentication and the small RBAC of the practice cluster: the engineer reads and mints grants,
// only an unexpired, unrevoked oncall-deployer token writes Deployments, in its own namespace.

#include "api_client.h"

using nlohmann::json;
using sandbox_test::Cluster;

namespace {

const std::string k_checkout = "/apis/apps/v1/namespaces/shop/deployments/checkout";

std::string annotation_patch(const std::string& value) {
    return json{{"metadata", {{"annotations", {{"sandbox-test/touched", value}}}}}}.dump();
}

std::string unique(const std::string& prefix) {
    return prefix +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
}

} // namespace

TEST_CASE("requests without a valid token are 401", "[sandbox][auth]") {
    Cluster cluster;
    for (const std::string token : {"", "not-a-token", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}) {
        const auto r = cluster.request("GET", "/apis/apps/v1/namespaces/shop/deployments", token);
        CHECK(r.status == 401);
        CHECK(r.body ==
              json::parse(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                                         "message":"Unauthorized","reason":"Unauthorized","code":401})"));
    }
    CHECK(cluster.request("GET", "/version", "").status == 200); // public, as in kube
}

TEST_CASE("the engineer reads everything but cannot patch a Deployment", "[sandbox][auth]") {
    Cluster cluster;
    const std::string me = cluster.whoami(cluster.engineer_token());
    CHECK(cluster.request("GET", "/api/v1/namespaces/shop/secrets", cluster.engineer_token())
              .status == 200);
    const auto r = cluster.request("PATCH", k_checkout, cluster.engineer_token(),
                                   annotation_patch("engineer"), "application/merge-patch+json");
    CHECK(r.status == 403);
    CHECK(r.body["reason"] == "Forbidden");
    CHECK(r.body["message"] == "deployments.apps \"checkout\" is forbidden: User \"" + me +
                                   "\" cannot patch resource \"deployments\" in API group \"apps\" "
                                   "in the namespace \"shop\"");
    CHECK(r.body["details"] ==
          json{{"name", "checkout"}, {"group", "apps"}, {"kind", "deployments"}});
    // Nor create Secrets other than grants, nor tokens for service accounts other than oncall-*.
    const auto secret =
        cluster.request("POST", "/api/v1/namespaces/shop/secrets", cluster.engineer_token(),
                        R"({"metadata":{"name":"not-a-grant"},"stringData":{"a":"b"}})");
    CHECK(secret.status == 403);
    CHECK(secret.body["message"] ==
          "secrets is forbidden: User \"" + me +
              "\" cannot create resource \"secrets\" in API group \"\" in the namespace \"shop\"");
    const auto token =
        cluster.request("POST", "/api/v1/namespaces/shop/serviceaccounts/default/token",
                        cluster.engineer_token(), R"({"spec":{"expirationSeconds":600}})");
    CHECK(token.status == 403);
    CHECK_THAT(token.body["message"].get<std::string>(),
               Catch::Contains("cannot create resource \"serviceaccounts/token\""));
}

TEST_CASE("a deployer token for shop patches Deployments in shop only", "[sandbox][auth]") {
    Cluster cluster;
    const std::string token = cluster.mint_token("oncall-deployer");
    CHECK(cluster.whoami(token) == "system:serviceaccount:shop:oncall-deployer");
    const std::string value = unique("deployer-");
    const auto r = cluster.request("PATCH", k_checkout, token, annotation_patch(value),
                                   "application/merge-patch+json");
    INFO(r.raw);
    REQUIRE(r.status == 200);
    CHECK(r.body["metadata"]["annotations"]["sandbox-test/touched"] == value);
    CHECK(cluster.get(k_checkout)["metadata"]["annotations"]["sandbox-test/touched"] == value);
    // Other namespaces and other resources stay closed.
    const auto elsewhere =
        cluster.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/checkout", token,
                        annotation_patch(value), "application/merge-patch+json");
    CHECK(elsewhere.status == 403);
    CHECK_THAT(
        elsewhere.body["message"].get<std::string>(),
        Catch::Contains("User \"system:serviceaccount:shop:oncall-deployer\" cannot patch resource "
                        "\"deployments\" in API group \"apps\" in the namespace \"default\""));
    CHECK(cluster.request("GET", "/api/v1/namespaces/shop/secrets", token).status == 403);
    // A triage token reads only.
    const std::string triage = cluster.mint_token("oncall-triage");
    CHECK(cluster.request("GET", k_checkout, triage).status == 200);
    CHECK(cluster
              .request("PATCH", k_checkout, triage, annotation_patch(value),
                       "application/merge-patch+json")
              .status == 403);
}

TEST_CASE("deleting the bound Secret revokes a deployer token at once", "[sandbox][auth]") {
    Cluster cluster;
    const std::string grant = unique("oncall-grant-test-");
    const auto created =
        cluster.request("POST", "/api/v1/namespaces/shop/secrets", cluster.engineer_token(),
                        json{{"apiVersion", "v1"},
                             {"kind", "Secret"},
                             {"metadata", {{"name", grant}}},
                             {"stringData", {{"role", "deployer"}}}}
                            .dump());
    INFO(created.raw);
    REQUIRE(created.status == 201);
    const std::string uid = created.body["metadata"]["uid"];
    const std::string token = cluster.mint_token(
        "oncall-deployer", 600,
        {{"kind", "Secret"}, {"apiVersion", "v1"}, {"name", grant}, {"uid", uid}});
    CHECK(cluster
              .request("PATCH", k_checkout, token, annotation_patch(unique("bound-")),
                       "application/merge-patch+json")
              .status == 200);

    const auto deleted = cluster.request("DELETE", "/api/v1/namespaces/shop/secrets/" + grant,
                                         cluster.engineer_token());
    REQUIRE(deleted.status == 200);
    CHECK(deleted.body["status"] == "Success");
    CHECK(deleted.body["details"]["uid"] == uid);

    const auto after =
        cluster.request("PATCH", k_checkout, token, annotation_patch(unique("revoked-")),
                        "application/merge-patch+json");
    CHECK(after.status == 401);
    CHECK(after.body["reason"] == "Unauthorized");
    // A token cannot be bound to a Secret that is gone or to another uid.
    const auto gone =
        cluster.request("POST", "/api/v1/namespaces/shop/serviceaccounts/oncall-deployer/token",
                        cluster.engineer_token(),
                        json{{"spec",
                              {{"expirationSeconds", 600},
                               {"boundObjectRef", {{"kind", "Secret"}, {"name", grant}}}}}}
                            .dump());
    CHECK(gone.status == 404);
    CHECK(gone.body["message"] == "secrets \"" + grant + "\" not found");
}

TEST_CASE("an expired deployer token cannot patch", "[sandbox][auth]") {
    Cluster cluster;
    const std::string token = cluster.mint_token("oncall-deployer");
    CHECK(cluster
              .request("PATCH", k_checkout, token, annotation_patch(unique("fresh-")),
                       "application/merge-patch+json")
              .status == 200);
    // The admin API moves this token's expiry to now (as if its 10 minutes had passed).
    const auto expired = cluster.request("POST", "/sandbox/v1/tokens/expire",
                                         cluster.engineer_token(), json{{"token", token}}.dump());
    REQUIRE(expired.status == 200);
    const auto r = cluster.request("PATCH", k_checkout, token, annotation_patch(unique("expired-")),
                                   "application/merge-patch+json");
    CHECK(r.status == 401);
    CHECK(cluster.request("POST", "/sandbox/v1/tokens/expire", token, json{{"token", token}}.dump())
              .status == 401);
}

TEST_CASE("TokenRequest validation matches kube-apiserver", "[sandbox][auth]") {
    Cluster cluster;
    const auto short_one =
        cluster.request("POST", "/api/v1/namespaces/shop/serviceaccounts/oncall-deployer/token",
                        cluster.engineer_token(), R"({"spec":{"expirationSeconds":60}})");
    CHECK(short_one.status == 422);
    CHECK(short_one.body["reason"] == "Invalid");
    CHECK(short_one.body["message"] ==
          "TokenRequest.authentication.k8s.io \"oncall-deployer\" is invalid: "
          "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 "
          "minutes");
    CHECK(short_one.body["details"]["causes"][0]["field"] == "spec.expirationSeconds");
    const auto missing =
        cluster.request("POST", "/api/v1/namespaces/shop/serviceaccounts/oncall-nobody/token",
                        cluster.engineer_token(), R"({"spec":{"expirationSeconds":600}})");
    CHECK(missing.status == 404);
    CHECK(missing.body["message"] == "serviceaccounts \"oncall-nobody\" not found");
    const auto ok =
        cluster.request("POST", "/api/v1/namespaces/shop/serviceaccounts/oncall-triage/token",
                        cluster.engineer_token(), R"({"spec":{"expirationSeconds":3600}})");
    REQUIRE(ok.status == 201);
    CHECK(ok.body["kind"] == "TokenRequest");
    CHECK(ok.body["status"]["expirationTimestamp"].is_string());
    const json sa = cluster.get("/api/v1/namespaces/shop/serviceaccounts/oncall-deployer");
    CHECK(sa["metadata"]["annotations"]["oncall.dev/max-duration"] == "1h");
}
