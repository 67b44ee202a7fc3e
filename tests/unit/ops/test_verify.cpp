#include "oncall/ops/verify.h"

#include <catch2/catch.hpp>
#include <cmath>

using namespace oncall;

TEST_CASE("verification windows replace range selectors, not subqueries or strings", "[verify]") {
    using namespace std::chrono_literals;
    CHECK(
        ops::with_range(
            R"(sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m])) / sum(rate(http_requests_total{service="checkout"}[5m])))",
            30s) ==
        R"(sum(rate(http_requests_total{service="checkout",code=~"5.."}[30s])) / sum(rate(http_requests_total{service="checkout"}[30s])))");
    CHECK(ops::with_range("max_over_time(rate(x[1m])[1h:1m])", 20s) ==
          "max_over_time(rate(x[20s])[1h:1m])");
    CHECK(ops::with_range(R"(rate(x{path="/a[5m]"}[2h]))", 15s) ==
          R"(rate(x{path="/a[5m]"}[15s]))");
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
    CHECK(ok.status == ops::VerificationStatus::pass);
    CHECK(ok.checks[1].status == "ok");

    auto breach = ops::judge_signals(specs, {55.0, 0.12, 1.8});
    CHECK(breach.status == ops::VerificationStatus::breach);
    CHECK(breach.checks[1].status == "breach");
    CHECK(breach.checks[2].status == "breach");
    CHECK_THAT(breach.summary, Catch::Contains("error ratio") && Catch::Contains(">"));

    auto nodata = ops::judge_signals(specs, {std::nullopt, std::nullopt, std::nan("")});
    CHECK(nodata.status == ops::VerificationStatus::inconclusive);
    CHECK_FALSE(nodata.reason.empty());

    // No traffic: zero requests is no evidence, even when a ratio happens to come out.
    auto idle = ops::judge_signals(specs, {0.0, 0.0, std::nullopt});
    CHECK(idle.status == ops::VerificationStatus::inconclusive);
    CHECK_THAT(idle.reason, Catch::Contains("no requests"));
    CHECK(nodata.checks[2].status == "unknown");
    CHECK_FALSE(nodata.checks[2].value.has_value());

    const auto j = ops::verification_json(breach);
    CHECK(j.at("status") == "breach");
    CHECK(j.at("signals").size() == 3);
    CHECK(j.at("signals")[1].at("threshold") == 0.01);
}

TEST_CASE("without an SLO, the error ratio and p99 latency are judged against their baseline",
          "[verify]") {
    std::vector<ops::SignalSpec> specs(3);
    specs[0].name = "request_rate";
    specs[0].title = "request rate";
    specs[1].name = "error_ratio";
    specs[1].title = "error ratio";
    specs[2].name = "latency_p99";
    specs[2].title = "p99 latency";

    // 0.1% errors before, 8% after: 80x and 7.9 points more.
    auto worse = ops::judge_signals(specs, {40.0, 0.08, 0.2}, {std::nullopt, 0.001, 0.19});
    CHECK(worse.status == ops::VerificationStatus::breach);
    CHECK(worse.checks[1].status == "breach");
    CHECK(worse.checks[1].baseline == 0.001);
    CHECK(worse.checks[2].status == "ok");
    CHECK_THAT(worse.summary, Catch::Contains("before the change"));
    CHECK(ops::verification_json(worse).at("signals")[1].at("baseline") == 0.001);

    // 3x but under one point more (0.2% -> 0.6%), and 2x latency but under 100 ms more: no breach.
    auto noise = ops::judge_signals(specs, {40.0, 0.006, 0.09}, {40.0, 0.002, 0.04});
    CHECK(noise.status == ops::VerificationStatus::pass);
    CHECK(noise.checks[1].status == "ok");
    CHECK(noise.checks[2].status == "ok");
    CHECK_FALSE(noise.checks[0].baseline.has_value()); // the request rate has no baseline rule

    // p99 from 200 ms to 900 ms: 4.5x and 700 ms more.
    auto slow = ops::judge_signals(specs, {40.0, 0.001, 0.9}, {40.0, 0.001, 0.2});
    CHECK(slow.status == ops::VerificationStatus::breach);
    CHECK(slow.checks[2].status == "breach");

    // No baseline and no SLO: nothing to judge against.
    auto blind = ops::judge_signals(specs, {40.0, 0.08, 0.9}, {});
    CHECK(blind.status == ops::VerificationStatus::inconclusive);
    CHECK_THAT(blind.reason, Catch::Contains("no SLO"));

    // An SLO threshold wins over the baseline.
    specs[1].threshold = 0.1;
    auto within = ops::judge_signals(specs, {40.0, 0.08, 0.2}, {std::nullopt, 0.001, 0.2});
    CHECK(within.status == ops::VerificationStatus::pass);
    CHECK_FALSE(within.checks[1].baseline.has_value());
}

TEST_CASE("the verification window is four scrape intervals, or --verify-window when longer",
          "[verify]") {
    using namespace std::chrono_literals;
    CHECK(ops::verification_window(30s, 30s) == 120s);
    CHECK(ops::verification_window(15s, 30s) == 60s);
    CHECK(ops::verification_window(2s, 30s) == 30s);
    CHECK(ops::verification_window(1min, 5min) == 300s);
    CHECK(ops::verification_window(std::chrono::milliseconds(1500), 5s) == 6s);
}

TEST_CASE("the scrape interval comes from the targets that scrape the service's series",
          "[verify]") {
    using namespace std::chrono_literals;
    auto targets =
        prometheus::decode_targets_response(200, R"({"status":"success","data":{"activeTargets":[
        {"labels":{"job":"node","instance":"n1:9100"},"scrapePool":"node","scrapeInterval":"15s","health":"up"},
        {"labels":{"job":"shop","instance":"a:8080","service":"checkout"},"scrapePool":"shop","scrapeInterval":"30s","health":"up"},
        {"labels":{"job":"shop","instance":"b:8080","service":"cart"},"scrapePool":"shop","scrapeInterval":"1m","health":"up"}
    ],"droppedTargets":[]}})",
                                            "http://prom");
    REQUIRE(targets.ok());
    REQUIRE(targets->size() == 3);
    CHECK((*targets)[1].scrape_interval == 30s);
    // By the series' job and instance.
    CHECK(ops::scrape_interval_of(*targets, {{{"job", "shop"}, {"instance", "a:8080"}}}, "") ==
          std::optional(30s));
    // By job alone (series with their own instance labels): the longest of the job.
    CHECK(ops::scrape_interval_of(*targets, {{{"job", "shop"}, {"instance", "pod-1"}}}, "") ==
          std::optional(60s));
    // No series: by the selector's equality matchers on the target labels.
    CHECK(ops::scrape_interval_of(*targets, {}, R"(service="checkout", code=~"5..")") ==
          std::optional(30s));
    CHECK_FALSE(ops::scrape_interval_of(*targets, {}, R"(service="search")").has_value());
    CHECK_FALSE(prometheus::decode_targets_response(
                    200, R"({"data":{"activeTargets":[{"scrapeInterval":7}]}})", "p")
                    .ok());
}
