// Scoping, capping and wording of silences (no network).

#include "oncall/ops/silences.h"

#include <catch2/catch.hpp>

using namespace oncall;
using namespace oncall::ops;

namespace {
config::Context silence_context(std::chrono::seconds max) {
    config::Context c;
    c.name = "prod";
    c.silences.max = max;
    return c;
}
config::Service silence_service(const std::string& name, std::vector<std::string> alerts = {}) {
    config::Service s;
    s.name = name;
    s.alerts = alerts.empty() ? std::vector<std::string>{"service=\"" + name + "\""} : alerts;
    return s;
}
SilenceRequest silence_request(std::string duration, std::string reason = "rolling back 1.2.2") {
    SilenceRequest r;
    r.duration = std::move(duration);
    r.reason = std::move(reason);
    return r;
}
} // namespace

TEST_CASE("silence: regex metacharacters of names are escaped", "[silences]") {
    CHECK(regex_quote("HighErrorRatio") == "HighErrorRatio");
    CHECK(regex_quote("a.b*c+d?(e)|[f]{g}^h$\\") ==
          "a\\.b\\*c\\+d\\?\\(e\\)\\|\\[f\\]\\{g\\}\\^h\\$\\\\");
}

TEST_CASE("silence: matchers are the service's own plus the alert names", "[silences]") {
    auto plain = silence_matchers(silence_service("checkout"), {});
    REQUIRE(plain.ok());
    REQUIRE(plain->size() == 1);
    CHECK(plain->at(0).name == "service");
    CHECK(plain->at(0).value == "checkout");
    CHECK_FALSE(plain->at(0).is_regex);

    auto configured = silence_matchers(
        silence_service("checkout", {R"(team="shop", env=~"prod|canary", tier!="test")"}),
        {"HighErrorRatio"});
    REQUIRE(configured.ok());
    REQUIRE(configured->size() == 4);
    CHECK(configured->at(1).is_regex);
    CHECK(configured->at(1).is_equal);
    CHECK_FALSE(configured->at(2).is_equal);
    CHECK(configured->at(3).name == "alertname");
    CHECK(configured->at(3).value == "HighErrorRatio");
    CHECK_FALSE(configured->at(3).is_regex);

    // A name that looks like matcher syntax stays one literal value.
    auto literal = silence_matchers(silence_service("checkout"), {"X\", alertname=~\".*"});
    REQUIRE(literal.ok());
    CHECK(literal->back().value == "X\", alertname=~\".*");
    CHECK_FALSE(literal->back().is_regex);

    auto several = silence_matchers(silence_service("checkout"), {"A.*", "B|C", "A.*"});
    REQUIRE(several.ok());
    CHECK(several->back().value == "A\\.\\*|B\\|C");
    CHECK(several->back().is_regex);

    for (const auto& bad : {std::string(), std::string("A\nB"), std::string("A\x1b[31m")}) {
        auto r = silence_matchers(silence_service("checkout"), {bad});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid);
    }
}

TEST_CASE("silence: --for is positive and capped by silences.max", "[silences]") {
    const auto ctx = silence_context(std::chrono::hours(4));
    auto ok = validate_silence(ctx, silence_service("checkout"), silence_request("4h"));
    REQUIRE(ok.ok());
    CHECK(ok->duration == std::chrono::hours(4));
    for (const auto& bad : {"0", "0s", "-5m", "4h1s", "5h", "", "soon", "500ms"}) {
        auto r = validate_silence(ctx, silence_service("checkout"), silence_request(bad));
        INFO(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid);
    }
    auto over = validate_silence(ctx, silence_service("checkout"), silence_request("5h"));
    CHECK_THAT(over.error().message, Catch::Contains("silences.max") && Catch::Contains("4h"));
    auto tight = validate_silence(silence_context(std::chrono::minutes(30)),
                                  silence_service("checkout"), silence_request("1h"));
    REQUIRE_FALSE(tight.ok());
    CHECK_THAT(tight.error().message, Catch::Contains("30m"));
}

TEST_CASE("silence: --reason is one line and not empty, the comment carries the ticket",
          "[silences]") {
    const auto ctx = silence_context(std::chrono::hours(4));
    for (const auto& bad : {"", "   ", "two\nlines"}) {
        auto r = validate_silence(ctx, silence_service("checkout"), silence_request("1h", bad));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid);
    }
    auto req = silence_request("1h", "  rolling back 1.2.2 ");
    req.ticket = "INC-4711";
    auto ok = validate_silence(ctx, silence_service("checkout"), req);
    REQUIRE(ok.ok());
    CHECK(silence_comment(ok->reason, ok->ticket) == "rolling back 1.2.2 [ticket INC-4711]");
    CHECK(silence_comment("rolling back", "") == "rolling back");
}

TEST_CASE("silence: a service's silences carry all of its matchers", "[silences]") {
    alertmanager::Silence s;
    s.matchers = {{"service", "checkout", false, true},
                  {"alertname", "HighErrorRatio", false, true}};
    CHECK(silence_covers_service(s, silence_service("checkout")));
    CHECK_FALSE(silence_covers_service(s, silence_service("checkout-canary")));
    CHECK_FALSE(silence_covers_service(
        s, silence_service("checkout", {R"(service="checkout", team="shop")"})));
    s.matchers[0].is_regex = true;
    CHECK_FALSE(silence_covers_service(s, silence_service("checkout")));
}
