// Objects oncall sends for grants and the answers it reads back (kube-apiserver shapes).

#include "oncall/backends/kubernetes_access.h"
#include "oncall/core/exit_code.h"
#include "oncall/core/time.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

using namespace oncall;
using nlohmann::json;

namespace {

json fixture(const std::string& name) {
    std::ifstream in(std::string(ONCALL_FIXTURES_DIR) + "/access/" + name);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
}

} // namespace

TEST_CASE("the grant Secret carries the record as labels and annotations, and no data",
          "[access][kube]") {
    kube::GrantSecret g;
    g.namespace_name = "shop";
    g.name = "oncall-grant-k3x9q2m7ab";
    g.grant_id = "k3x9q2m7ab";
    g.service = "checkout";
    g.role = "deployer";
    g.service_account = "oncall-deployer";
    g.requester = "alice@example.com";
    g.reason = "checkout 12% errors since revision 3";
    g.ticket = "INC-42";
    g.expires_at = parse_rfc3339("2026-11-26T15:28:48Z").value();

    const json s = kube::grant_secret_object(g);
    CHECK(s["apiVersion"] == "v1");
    CHECK(s["kind"] == "Secret");
    CHECK_FALSE(s.contains("data"));
    CHECK_FALSE(s.contains("stringData"));
    const auto& md = s["metadata"];
    CHECK(md["name"] == "oncall-grant-k3x9q2m7ab");
    CHECK(md["namespace"] == "shop");
    CHECK(md["labels"]["app.kubernetes.io/managed-by"] == "oncall");
    CHECK(md["labels"]["oncall.dev/grant"] == "k3x9q2m7ab");
    CHECK(md["annotations"]["oncall.dev/requester"] == "alice@example.com");
    CHECK(md["annotations"]["oncall.dev/role"] == "deployer");
    CHECK(md["annotations"]["oncall.dev/reason"] == "checkout 12% errors since revision 3");
    CHECK(md["annotations"]["oncall.dev/ticket"] == "INC-42");
    CHECK(md["annotations"]["oncall.dev/expires-at"] == "2026-11-26T15:28:48Z");

    g.ticket.clear();
    CHECK_FALSE(
        kube::grant_secret_object(g)["metadata"]["annotations"].contains("oncall.dev/ticket"));
}

TEST_CASE("the TokenRequest binds the token to the Secret by name and uid", "[access][kube]") {
    const json t = kube::token_request_object(1800, "oncall-grant-k3x9q2m7ab",
                                              "0d4691ed-659b-4935-a832-355f77ee47cc");
    CHECK(t["apiVersion"] == "authentication.k8s.io/v1");
    CHECK(t["kind"] == "TokenRequest");
    CHECK(t["spec"]["expirationSeconds"] == 1800);
    const auto& ref = t["spec"]["boundObjectRef"];
    CHECK(ref["kind"] == "Secret");
    CHECK(ref["apiVersion"] == "v1");
    CHECK(ref["name"] == "oncall-grant-k3x9q2m7ab");
    CHECK(ref["uid"] == "0d4691ed-659b-4935-a832-355f77ee47cc");
}

TEST_CASE("a TokenRequest answer gives the token and its expiry", "[access][kube]") {
    auto t = kube::decode_token_request(fixture("tokenrequest.json"));
    REQUIRE(t);
    CHECK_THAT(t->token, Catch::StartsWith("eyJhbGciOi"));
    REQUIRE(t->expires_at);
    CHECK(format_rfc3339(*t->expires_at) == "2026-11-26T15:28:48Z");

    auto none = kube::decode_token_request(fixture("tokenrequest_no_token.json"));
    REQUIRE_FALSE(none);
    CHECK(none.error().code == Errc::bad_response);
    CHECK_FALSE(kube::decode_token_request(json::object()));
    CHECK_FALSE(kube::decode_token_request(
        json::parse(R"({"status":{"token":"t","expirationTimestamp":"soon"}})")));
}

TEST_CASE("a SelfSubjectReview answer names the user", "[access][kube]") {
    auto id = kube::decode_self_subject_review(fixture("selfsubjectreview.json"));
    REQUIRE(id);
    CHECK(id->username == "alice@example.com");
    CHECK(id->groups == std::vector<std::string>{"oncall-engineers", "system:authenticated"});

    auto anonymous = kube::decode_self_subject_review(json::parse(R"({"status":{"userInfo":{}}})"));
    REQUIRE_FALSE(anonymous);
    CHECK(anonymous.error().code == Errc::bad_response);
    CHECK_FALSE(kube::decode_self_subject_review(json::parse("[]")));
}

TEST_CASE("a TokenRequest refused as too short is a usage error that keeps the server's words",
          "[access][kube]") {
    http::Response response;
    response.status = 422;
    response.body = fixture("status_422_expiration.json").dump();
    response.headers.push_back({"Content-Type", "application/json"});
    const Error e = kube::api_error(
        response, "POST /api/v1/namespaces/shop/serviceaccounts/oncall-deployer/token");
    CHECK(e.code == Errc::invalid);
    CHECK(exit_code_for(e) == ExitCode::usage);
    CHECK_THAT(e.message, Catch::Contains("may not specify a duration less than 10 minutes"));
}
