#include "oncall/ops/verify.h"

#include <catch2/catch.hpp>

using namespace oncall;

TEST_CASE("verification windows replace range selectors, not subqueries or strings", "[verify]") {
    using namespace std::chrono_literals;
    CHECK(ops::with_range(R"(sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m])) / sum(rate(http_requests_total{service="checkout"}[5m])))",
                          30s) ==
          R"(sum(rate(http_requests_total{service="checkout",code=~"5.."}[30s])) / sum(rate(http_requests_total{service="checkout"}[30s])))");
    CHECK(ops::with_range("max_over_time(rate(x[1m])[1h:1m])", 20s) == "max_over_time(rate(x[20s])[1h:1m])");
    CHECK(ops::with_range(R"(rate(x{path="/a[5m]"}[2h]))", 15s) == R"(rate(x{path="/a[5m]"}[15s]))");
    CHECK(ops::with_range("up", 15s) == "up");
}

TEST_CASE("signals are judged against their thresholds", "[verify]") {
    std::vector<ops::SignalSpec> specs(3);
    specs[0].name = "request_rate";
    specs[0].title = "request rate";
    specs[1].name = "error_ratio";
    specs[1].title = "error ratio";
    specs[1].threshold = 0.01;
    specs[2].name = "latency_p99";
    specs[2].title = "p99 latency";
    specs[2].threshold = 0.5;

    auto ok = ops::judge_signals(specs, {55.0, 0.002, 0.19});
    CHECK(ok.passed);
    CHECK(ok.conclusive);
    CHECK(ok.checks[1].status == "ok");

    auto breach = ops::judge_signals(specs, {55.0, 0.12, 1.8});
    CHECK_FALSE(breach.passed);
    CHECK(breach.checks[1].status == "breach");
    CHECK(breach.checks[2].status == "breach");
    CHECK_THAT(breach.summary, Catch::Contains("error ratio") && Catch::Contains(">"));

    auto nodata = ops::judge_signals(specs, {std::nullopt, std::nullopt, std::nan("")});
    CHECK(nodata.passed);
    CHECK_FALSE(nodata.conclusive);
    CHECK(nodata.checks[2].status == "unknown");
    CHECK_FALSE(nodata.checks[2].value.has_value());

    const auto j = ops::verification_json(breach);
    CHECK(j.at("passed") == false);
    CHECK(j.at("signals").size() == 3);
    CHECK(j.at("signals")[1].at("threshold") == 0.01);
}
