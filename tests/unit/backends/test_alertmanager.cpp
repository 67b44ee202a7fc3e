// Decoding and merging of Alertmanager API v2 answers recorded from a real Alertmanager
// (tests/fixtures/alertmanager/).

#include "../read_fixture.h"
#include "oncall/backends/alertmanager.h"

#include <catch2/catch.hpp>
#include <set>

using namespace oncall;
using namespace oncall::alertmanager;
using oncall::test::read_fixture;

namespace {
constexpr const char* k_a = "http://127.0.0.1:9093";
constexpr const char* k_b = "http://127.0.0.1:9094";

Result<std::vector<Alert>> decode_fixture(const std::string& name, const char* url = k_a,
                                          long status = 200) {
    return decode_alerts(status, read_fixture("alertmanager/" + name), url);
}
} // namespace

TEST_CASE("alertmanager: an alert list decodes with labels, state and times", "[alertmanager]") {
    auto r = decode_fixture("checkout_with_inhibited.json");
    REQUIRE(r.ok());
    REQUIRE(r->size() == 2);
    const auto& latency = (*r)[0].name == "HighLatencyP99" ? (*r)[0] : (*r)[1];
    const auto& errors = (*r)[0].name == "HighErrorRatio" ? (*r)[0] : (*r)[1];
    CHECK(errors.severity == "critical");
    CHECK(errors.state == "active");
    CHECK(errors.summary == "checkout: 12% of requests fail (SLO 1%)");
    CHECK(errors.labels.at("service") == "checkout");
    REQUIRE(errors.starts_at);
    CHECK(format_rfc3339(*errors.starts_at) == "2026-11-18T11:43:00Z");
    CHECK(errors.receivers == std::vector<std::string>{"null"});
    CHECK(latency.state == "suppressed");
    CHECK(latency.inhibited_by == std::vector<std::string>{errors.fingerprint});
}

TEST_CASE("alertmanager: silenced alerts carry their silence", "[alertmanager]") {
    auto r = decode_fixture("payments_silenced.json");
    REQUIRE(r.ok());
    REQUIRE(r->size() == 1);
    CHECK(r->at(0).state == "suppressed");
    CHECK(r->at(0).silenced_by.size() == 1);
    auto none = decode_fixture("none_for_search.json");
    REQUIRE(none.ok());
    CHECK(none->empty());
}

TEST_CASE("alertmanager: an HA pair is de-duplicated by fingerprint", "[alertmanager]") {
    auto a = decode_fixture("all_peer_a.json", k_a);
    auto b = decode_fixture("all_peer_b.json", k_b);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->size() == 5);
    CHECK(b->size() == 4);
    auto merged = merge_peers({a, b});
    REQUIRE(merged.ok());
    CHECK(merged->peers_ok == 2);
    CHECK(merged->errors.empty());
    CHECK(merged->alerts.size() == 5); // the union, each once
    std::set<std::string> fingerprints;
    for (const auto& alert : merged->alerts) {
        fingerprints.insert(alert.fingerprint);
    }
    CHECK(fingerprints.size() == 5);
    // Most severe, active and oldest first.
    CHECK(merged->alerts.front().severity == "critical");
    CHECK(merged->alerts.front().state == "active");
    CHECK(merged->alerts.back().severity == "warning");
}

TEST_CASE("alertmanager: one failed peer leaves the other's alerts and is named",
          "[alertmanager]") {
    auto a = decode_fixture("all_peer_a.json", k_a);
    Result<std::vector<Alert>> down =
        make_error(Errc::connect, std::string("alertmanager at ") + k_b + ": connection refused");
    auto merged = merge_peers({down, a});
    REQUIRE(merged.ok());
    CHECK(merged->peers_ok == 1);
    REQUIRE(merged->errors.size() == 1);
    CHECK_THAT(merged->errors[0].message, Catch::Contains(k_b));
    CHECK(merged->alerts.size() == 5);

    auto all_down = merge_peers({down, down});
    REQUIRE_FALSE(all_down.ok());
    CHECK(all_down.error().code == Errc::connect);
}

TEST_CASE("alertmanager: its plain-string error bodies become the message", "[alertmanager]") {
    auto r = decode_fixture("error_bad_filter_400.json", k_a, 400);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid);
    CHECK(r.error().http_status == 400);
    CHECK_THAT(r.error().message, Catch::Contains("unescaped double quote") &&
                                      Catch::Contains(k_a) && !Catch::Contains("\"matcher"));
    auto html = decode_alerts(502, "<html>bad gateway</html>", k_a);
    REQUIRE_FALSE(html.ok());
    CHECK(html.error().code == Errc::http_status);
    CHECK(html.error().retryable);
}

TEST_CASE("alertmanager: wrong types are bad_response errors", "[alertmanager]") {
    const std::string good = read_fixture("alertmanager/checkout_active_only.json");
    const std::vector<std::string> cases = {
        good.substr(0, good.size() - 10),
        "",
        "<html></html>",
        "{}",
        R"([1])",
        R"([{"fingerprint":"a","labels":{"x":1}}])",
        R"([{"fingerprint":"a","labels":[]}])",
        R"([{"fingerprint":"a","startsAt":"yesterday"}])",
        R"([{"fingerprint":"a","status":{"state":3}}])",
        R"([{"fingerprint":"a","status":{"silencedBy":"x"}}])",
        R"([{"fingerprint":"a","receivers":{"name":"x"}}])",
        R"([{"labels":{"alertname":"x"}}])",
    };
    for (const auto& body : cases) {
        INFO(body);
        auto r = decode_alerts(200, body, k_a);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::bad_response);
        CHECK_THAT(r.error().message, Catch::Contains(k_a));
    }
    // Optional fields may be missing.
    auto minimal = decode_alerts(200, R"([{"fingerprint":"f1","labels":{"alertname":"X"}}])", k_a);
    REQUIRE(minimal.ok());
    CHECK(minimal->at(0).name == "X");
    CHECK(minimal->at(0).state == "active");
    CHECK_FALSE(minimal->at(0).starts_at);
}
TEST_CASE("alertmanager: filters are validated and escaped before they are sent",
          "[alertmanager]") {
    Client client(http::Client{}, {k_a, std::string(k_b) + "/"});
    AlertQuery q;
    q.filter = {R"(service="checkout", severity=~'crit.*')"};
    auto reqs = client.requests(q);
    REQUIRE(reqs.ok());
    REQUIRE(reqs->size() == 2);
    CHECK_THAT((*reqs)[0].url,
               Catch::StartsWith(std::string(k_a) + "/api/v2/alerts?active=true&silenced=false"
                                                    "&inhibited=false&unprocessed=true&filter="));
    CHECK_THAT((*reqs)[1].url, Catch::StartsWith(std::string(k_b) + "/api/v2/alerts?"));
    q.filter = {R"(service="checkout"}&receiver=x)"};
    auto bad = client.requests(q);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::invalid);
}
