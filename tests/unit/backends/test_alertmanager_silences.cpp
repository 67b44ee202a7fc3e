// Silences of the Alertmanager API v2: decoding answers recorded from a real Alertmanager 0.25
// (tests/fixtures/alertmanager/silence*.json), merging an HA pair's lists, and the request body.

#include "../read_fixture.h"
#include "oncall/backends/alertmanager.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace oncall;
using namespace oncall::alertmanager;
using oncall::test::read_fixture;

namespace {
constexpr const char* k_silences_url = "http://127.0.0.1:9093";
}

TEST_CASE("alertmanager: a silence list decodes matchers, state, author and times",
          "[alertmanager][silences]") {
    auto r = decode_silences(200, read_fixture("alertmanager/silences_list.json"), k_silences_url);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 2);
    const auto& active = (*r)[0];
    CHECK(active.id == "28a5518c-4db1-4144-bcb4-52f3694c1551");
    CHECK(active.state == "active");
    CHECK(active.created_by == "alice");
    CHECK(active.comment == "rolling back 1.2.2 [ticket INC-4711]");
    REQUIRE(active.matchers.size() == 2);
    CHECK(active.matchers[0].name == "service");
    CHECK_FALSE(active.matchers[0].is_regex);
    CHECK(active.matchers[1].value == "HighErrorRatio|HighLatencyP99");
    CHECK(active.matchers[1].is_regex);
    CHECK(active.matchers[1].is_equal);
    REQUIRE(active.ends_at);
    CHECK(format_rfc3339(*active.ends_at) == "2026-11-29T16:00:39Z");
    CHECK((*r)[1].state == "expired");
}

TEST_CASE("alertmanager: one silence, a created id and refusals", "[alertmanager][silences]") {
    auto one = decode_silence(200, read_fixture("alertmanager/silence_one.json"), k_silences_url);
    REQUIRE(one.ok());
    CHECK(one->created_by == "alice");
    auto created = decode_created_silence(200, read_fixture("alertmanager/silence_created.json"),
                                          k_silences_url);
    REQUIRE(created.ok());
    CHECK(*created == "28a5518c-4db1-4144-bcb4-52f3694c1551");

    auto refused = decode_created_silence(400, read_fixture("alertmanager/silence_error_400.json"),
                                          k_silences_url);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::invalid);
    CHECK_THAT(refused.error().message,
               Catch::Contains("at least one matcher must not match the empty string"));
    auto missing = decode_silence(404, "", k_silences_url);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == Errc::not_found);
    auto forbidden = decode_created_silence(403, "\"no\"", k_silences_url);
    REQUIRE_FALSE(forbidden.ok());
    CHECK(forbidden.error().code == Errc::access_denied);
}

TEST_CASE("alertmanager: garbage in a silence answer is a bad response",
          "[alertmanager][silences]") {
    for (const char* body :
         {"<html>login</html>", "{}", R"([{"id":"x","matchers":"service"}])",
          R"([{"id":"x","matchers":[{"name":"a","value":"b","isRegex":"yes"}]}])",
          R"([{"matchers":[]}])", R"([{"id":"x","matchers":[],"endsAt":"tomorrow"}])"}) {
        auto r = decode_silences(200, body, k_silences_url);
        INFO(body);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::bad_response);
    }
    auto html = decode_created_silence(200, "<html>proxy</html>", k_silences_url);
    REQUIRE_FALSE(html.ok());
    CHECK(html.error().code == Errc::bad_response);
    auto no_id = decode_created_silence(200, R"({"silenceID":"../../x"})", k_silences_url);
    REQUIRE_FALSE(no_id.ok());
}

TEST_CASE("alertmanager: an HA pair's silence lists merge by id", "[alertmanager][silences]") {
    auto a = decode_silences(200, read_fixture("alertmanager/silences_list.json"), k_silences_url);
    auto b = decode_silences(200, read_fixture("alertmanager/silences_list.json"),
                             "http://127.0.0.1:9094");
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    b->pop_back();
    auto merged = merge_silences({*a, *b});
    REQUIRE(merged.ok());
    CHECK(merged->silences.size() == 2);
    CHECK(merged->peers_ok == 2);
    // One peer down: the other's list, the failure kept.
    auto half = merge_silences({make_error(Errc::connect, "refused"), *b});
    REQUIRE(half.ok());
    CHECK(half->silences.size() == 1);
    CHECK(half->errors.size() == 1);
    auto none = merge_silences(
        {make_error(Errc::connect, "a refused"), make_error(Errc::connect, "b refused")});
    REQUIRE_FALSE(none.ok());
    CHECK_THAT(none.error().message, Catch::Contains("a refused") && Catch::Contains("b refused"));
}

TEST_CASE("alertmanager: the body of a new silence", "[alertmanager][silences]") {
    NewSilence s;
    s.matchers = {{"service", "checkout", false, true}, {"alertname", "A\"}|B", true, true}};
    s.starts_at = *parse_rfc3339("2026-11-29T15:00:00Z");
    s.ends_at = *parse_rfc3339("2026-11-29T16:00:00Z");
    s.created_by = "alice";
    s.comment = "rolling back";
    const auto body = nlohmann::json::parse(silence_body(s));
    CHECK(body.at("matchers")[1].at("value") == "A\"}|B");
    CHECK(body.at("matchers")[1].at("isRegex") == true);
    CHECK(body.at("startsAt") == "2026-11-29T15:00:00Z");
    CHECK(body.at("endsAt") == "2026-11-29T16:00:00Z");
    CHECK(body.at("createdBy") == "alice");
    CHECK_FALSE(body.contains("id"));
}

TEST_CASE("alertmanager: silence ids are UUIDs", "[alertmanager][silences]") {
    CHECK(is_silence_id("28a5518c-4db1-4144-bcb4-52f3694c1551"));
    CHECK_FALSE(is_silence_id("28a5518c4db1-4144-bcb4-52f3694c1551-"));
    CHECK_FALSE(is_silence_id("../../api/v2/status"));
    CHECK_FALSE(is_silence_id(""));
}
