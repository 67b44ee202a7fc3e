// Label and field selectors of the sandbox's list and watch API.

#include "selector.h"

#include <catch2/catch.hpp>

using nlohmann::json;
using namespace sandbox;

namespace {
json object_with(const json& labels) {
    return json{
        {"metadata", {{"name", "checkout-7d9f"}, {"namespace", "shop"}, {"labels", labels}}}};
}
} // namespace

TEST_CASE("label selectors with every operator", "[sandbox][selector]") {
    const json pod =
        object_with({{"app", "checkout"}, {"tier", "web"}, {"pod-template-hash", "7d9f"}});
    const auto matches = [&](const std::string& text) {
        auto sel = parse_label_selector(text);
        REQUIRE(sel.ok());
        return sel->matches_object(pod);
    };
    CHECK(matches(""));
    CHECK(matches("app=checkout"));
    CHECK(matches("app==checkout,tier=web"));
    CHECK_FALSE(matches("app=payments"));
    CHECK(matches("app!=payments"));
    CHECK_FALSE(matches("tier!=web"));
    CHECK(matches("tier in (web, db)"));
    CHECK_FALSE(matches("tier notin (web,db)"));
    CHECK(matches("app,pod-template-hash"));
    CHECK_FALSE(matches("!app"));
    CHECK(matches("!canary"));
    CHECK(matches("canary notin (true)"));
    CHECK_FALSE(matches("canary in (true)"));
}

TEST_CASE("malformed label selectors are errors with a 400", "[sandbox][selector]") {
    for (const char* bad :
         {"app=", "=x", "app in web", "app in (web", "app=a b", "app=-bad", "a,,b", "app ~ x"}) {
        INFO(bad);
        auto sel = parse_label_selector(bad);
        if (std::string(bad) == "app=") {
            CHECK(sel.ok()); // an empty value is a valid label value
            continue;
        }
        REQUIRE_FALSE(sel.ok());
        CHECK(sel.error().http_status == 400);
        CHECK_THAT(sel.error().message, Catch::StartsWith("unable to parse requirement"));
    }
}

TEST_CASE("metav1.LabelSelector objects", "[sandbox][selector]") {
    auto sel = label_selector_from_json(json::parse(R"({"matchLabels": {"app": "checkout"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]},
                             {"key": "canary", "operator": "DoesNotExist"}]})"));
    REQUIRE(sel.ok());
    CHECK(sel->matches_object(object_with({{"app", "checkout"}, {"tier", "web"}})));
    CHECK_FALSE(
        sel->matches_object(object_with({{"app", "checkout"}, {"tier", "web"}, {"canary", "1"}})));
    CHECK_FALSE(label_selector_from_json(
                    json::parse(R"({"matchExpressions": [{"key": "a", "operator": "Near"}]})"))
                    .ok());
}

TEST_CASE("field selectors on metadata", "[sandbox][selector]") {
    const std::vector<std::string> supported = {"metadata.name", "metadata.namespace"};
    auto sel = parse_field_selector("metadata.name=checkout-7d9f,metadata.namespace!=kube-system",
                                    supported);
    REQUIRE(sel.ok());
    CHECK(sel->matches_object(object_with(json::object())));
    auto other = parse_field_selector("metadata.name==payments", supported);
    REQUIRE(other.ok());
    CHECK_FALSE(other->matches_object(object_with(json::object())));
    auto unsupported = parse_field_selector("spec.nodeName=x", supported);
    REQUIRE_FALSE(unsupported.ok());
    CHECK(unsupported.error().message == "field label not supported: spec.nodeName");
    CHECK_FALSE(parse_field_selector("metadata.name", supported).ok());
}
