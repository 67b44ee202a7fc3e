// parse_json_body / parse_json_text: who detects garbage and how it is reported.

#include "oncall/http/json.h"

#include <catch2/catch.hpp>

using namespace oncall;
using namespace oncall::http;

namespace {

Response response(std::string body, long status = 200) {
    Response r;
    r.status = status;
    r.url = "http://127.0.0.1:9093/api/v2/alerts";
    r.body = std::move(body);
    return r;
}

} // namespace

TEST_CASE("parse_json_body decodes valid JSON", "[http][json]") {
    auto json = parse_json_body(response(R"( [{"fingerprint":"abc","labels":{"alertname":"X"}}] )"),
                                "alertmanager");
    REQUIRE(json.ok());
    CHECK((*json)[0]["fingerprint"] == "abc");
}

TEST_CASE("parse_json_body names the server, URL and kind of garbage", "[http][json]") {
    const std::string where = "alertmanager at http://127.0.0.1:9093/api/v2/alerts";
    SECTION("empty") {
        auto json = parse_json_body(response("  \n"), "alertmanager");
        REQUIRE_FALSE(json.ok());
        CHECK(json.error().code == Errc::bad_response);
        CHECK(json.error().message.rfind(where + ": answered an empty body", 0) == 0);
    }
    SECTION("HTML, with the status when not 2xx") {
        auto json =
            parse_json_body(response("<html><title>Sign in</title></html>", 502), "alertmanager");
        REQUIRE_FALSE(json.ok());
        CHECK(json.error().message.rfind(where + " (HTTP 502): answered an HTML page (\"Sign in\")",
                                         0) == 0);
    }
    SECTION("truncated") {
        auto json = parse_json_body(response(R"([{"fingerprint":"abc","labels":{"alertna)"),
                                    "alertmanager");
        REQUIRE_FALSE(json.ok());
        CHECK(json.error().message.rfind(where + ": answered JSON that ends too early", 0) == 0);
    }
    SECTION("syntax error in the middle") {
        auto json = parse_json_body(response(R"({"a": 1,, "b": 2})"), "alertmanager");
        REQUIRE_FALSE(json.ok());
        INFO(json.error().message);
        CHECK(json.error().message.rfind(
                  where + ": answered invalid JSON (syntax error at byte 9 of 17)", 0) == 0);
    }
    SECTION("trailing garbage") {
        auto json = parse_json_body(response(R"({"a": 1} <html>)"), "alertmanager");
        REQUIRE_FALSE(json.ok());
        CHECK(json.error().code == Errc::bad_response);
    }
    SECTION("nesting bomb") {
        const std::string bomb = std::string(100000, '[') + std::string(100000, ']');
        auto json = parse_json_body(response(bomb), "alertmanager");
        REQUIRE_FALSE(json.ok());
        CHECK(json.error().message.find("nested deeper than 128 levels") != std::string::npos);
    }
}

TEST_CASE("nesting depth is counted outside strings only", "[http][json]") {
    const std::string deep_string =
        "{\"a\":\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"}";
    CHECK(parse_json_text(deep_string, "x").ok());
    std::string nested;
    for (std::size_t i = 0; i < k_max_json_depth; ++i) {
        nested += "[";
    }
    for (std::size_t i = 0; i < k_max_json_depth; ++i) {
        nested += "]";
    }
    CHECK(parse_json_text(nested, "x").ok());
    CHECK_FALSE(parse_json_text("[" + nested + "]", "x").ok());
}
