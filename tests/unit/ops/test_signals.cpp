// Signal templates and the injection safety of service names and selectors.

#include "oncall/ops/signals.h"

#include <catch2/catch.hpp>

using namespace oncall;
using namespace oncall::ops;

namespace {
config::Service service_named(std::string name, std::string selector = "") {
    config::Service s;
    s.name = std::move(name);
    s.selector = std::move(selector);
    return s;
}
const SignalSpec& find(const std::vector<SignalSpec>& specs, const std::string& name) {
    for (const auto& s : specs) {
        if (s.name == name) {
            return s;
        }
    }
    FAIL("no signal " << name);
    throw 0;
}
} // namespace

TEST_CASE("signals: the defaults with service=\"<name>\"", "[signals]") {
    auto svc = service_named("checkout");
    svc.slo.error_ratio = 0.01;
    svc.slo.latency_p99 = 0.5;
    auto specs = signals_for(svc);
    REQUIRE(specs.ok());
    REQUIRE(specs->size() == 3); // no saturation without a template
    CHECK(find(*specs, "request_rate").query ==
          "sum(rate(http_requests_total{service=\"checkout\"}[5m]))");
    CHECK(find(*specs, "error_ratio").query ==
          "sum(rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[5m])) / "
          "sum(rate(http_requests_total{service=\"checkout\"}[5m]))");
    CHECK(find(*specs, "latency_p99").query ==
          "histogram_quantile(0.99, sum by (le) "
          "(rate(http_request_duration_seconds_bucket{service=\"checkout\"}[5m])))");
    CHECK(find(*specs, "error_ratio").threshold == 0.01);
    CHECK(find(*specs, "latency_p99").threshold == 0.5);
    CHECK_FALSE(find(*specs, "request_rate").threshold);
    CHECK(find(*specs, "request_rate").direction == Direction::neutral);
}

TEST_CASE("signals: per-service overrides and saturation", "[signals]") {
    auto svc = service_named("checkout", R"(app="checkout", env='prod')");
    svc.signals["error-ratio"] = "sum(rate(errors_total{{selector}}[1m]))";
    svc.signals["saturation"] = "max(pool_in_use{{selector}} / pool_size{{selector}})";
    auto specs = signals_for(svc);
    REQUIRE(specs.ok());
    REQUIRE(specs->size() == 4);
    CHECK(find(*specs, "error_ratio").query ==
          R"(sum(rate(errors_total{app="checkout",env="prod"}[1m])))");
    CHECK(find(*specs, "saturation").query ==
          R"(max(pool_in_use{app="checkout",env="prod"} / pool_size{app="checkout",env="prod"}))");

    auto bad = service_named("checkout");
    bad.signals["latency-p95"] = "x";
    auto r = signals_for(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::config);
    CHECK_THAT(r.error().message, Catch::Contains("latency-p95") && Catch::Contains("latency-p99"));
}

TEST_CASE("signals: selectors parse into matchers and come back escaped", "[signals]") {
    auto m = parse_selector(R"(service="checkout", code =~ '5..',path!="/a\"b\\c", env!~`pr.*`)");
    REQUIRE(m.ok());
    REQUIRE(m->size() == 4);
    CHECK((*m)[1].op == "=~");
    CHECK((*m)[1].value == "5..");
    CHECK((*m)[2].value == "/a\"b\\c");
    CHECK((*m)[3].op == "!~");
    CHECK(format_selector(*m) == R"(service="checkout",code=~"5..",path!="/a\"b\\c",env!~"pr.*")");
    // A value holding a quote and a brace stays inside its string.
    auto q = parse_selector(R"(team='a"} or vector(1) or up{x="')");
    REQUIRE(q.ok());
    CHECK(format_selector(*q) == R"(team="a\"} or vector(1) or up{x=\"")");
}

TEST_CASE("signals: a selector trying to inject PromQL is refused", "[signals]") {
    const char* attacks[] = {
        R"(service="checkout"} or vector(1) or up{x="y")", // closes the braces
        R"(service="checkout"}[5m])) / 0 #)",              // rewrites the expression
        R"({service="checkout"})",                         // braces of its own
        R"(up{service="checkout"})",                       // a metric name
        R"(service=checkout)",                             // unquoted value
        R"(service="checkout" service="x")",               // missing comma
        R"(service="unterminated)",                        // open string
        "service=\"a\nb\"",                                // raw line break
        R"(__name__="up")",                                // reserved label
        R"(service="a\q")",                                // unknown escape
        R"(service=="a")",                                 // bad operator
        R"(9service="a")",                                 // bad label name
        "",                                                // empty
        "   ",                                             // blank
    };
    for (const char* a : attacks) {
        INFO(a);
        auto r = parse_selector(a);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid);
        if (std::string(a).empty()) {
            continue; // an empty configured selector means the default one
        }
        auto svc = service_named("checkout", a);
        auto specs = signals_for(svc);
        REQUIRE_FALSE(specs.ok());
        CHECK(specs.error().code == Errc::invalid);
        CHECK_THAT(specs.error().message, Catch::Contains("checkout"));
    }
}

TEST_CASE("signals: a service name must be a DNS-1123 label", "[signals]") {
    const char* names[] = {
        "checkout\"} or vector(1)", "../../api/v1/admin", "Checkout", "check out",
        "checkout,code=\"500\"",    "-checkout",          "a.b",      ""};
    for (const char* n : names) {
        INFO(n);
        auto r = signals_for(service_named(n));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid);
    }
    auto ok = service_selector(service_named("checkout-v2"));
    REQUIRE(ok.ok());
    CHECK(*ok == R"(service="checkout-v2")");
}

TEST_CASE("signals: substitution replaces every placeholder and nothing else", "[signals]") {
    CHECK(substitute_selector("a{{selector}} b{selector} {x}", "s=\"1\"") ==
          "a{s=\"1\"} bs=\"1\" {x}");
    CHECK(default_signal_template("saturation").empty());
    CHECK_FALSE(default_signal_template("error_ratio").empty());
}
