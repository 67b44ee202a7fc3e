// Onset, suspect and rollback target on signal series recorded from a real Prometheus
// (tests/fixtures/prometheus/, "now" = 1795003200).

#include "../read_fixture.h"
#include "oncall/ops/correlate.h"
#include "oncall/ops/signals.h"
#include "triage_facts.h"

#include <catch2/catch.hpp>
#include <cmath>

using namespace oncall;
using namespace oncall::ops;
using namespace std::chrono_literals;
using oncall::test::read_fixture;
using oncall::test::triage_facts::k_now;
using oncall::test::triage_facts::specs_for;

namespace {

std::vector<SignalSeries> recorded_signals(const std::string& service) {
    std::vector<SignalSeries> out;
    for (const auto& spec : specs_for(service)) {
        auto decoded = prometheus::decode_query_response(
            200, read_fixture("prometheus/" + service + "_" + spec.name + "_range.json"),
            "http://prom");
        REQUIRE(decoded.ok());
        out.push_back(to_signal_series(spec, *decoded));
    }
    return out;
}

RevisionInfo rev(int n, std::chrono::minutes ago, std::string artifact = "") {
    RevisionInfo r{n, k_now - ago, {}};
    r.artifacts.push_back(artifact.empty() ? "reg/shop/app@sha256:" + std::to_string(n) : artifact);
    return r;
}

} // namespace

TEST_CASE("correlate: a healthy service has no onset and no suspect", "[correlate]") {
    const auto signals = recorded_signals("payments");
    CHECK_FALSE(find_onset(signals).has_value());
    const std::vector<RevisionInfo> revisions = {rev(1, 180min), rev(2, 90min)};
    CHECK_FALSE(find_suspect(revisions, signals, std::nullopt).has_value());
    for (const auto& s : signals) {
        CHECK_FALSE(breaches(s, s.points.back().value));
    }
}

TEST_CASE("correlate: a bad deploy is the suspect and the previous healthy revision the target",
          "[correlate]") {
    const auto signals = recorded_signals("checkout");
    const std::vector<RevisionInfo> revisions = {rev(1, 180min), rev(2, 120min), rev(3, 20min)};
    const auto onset = find_onset(signals);
    REQUIRE(onset);
    // The change shows within a scrape or two of the deploy at now-20m.
    CHECK(onset->at >= k_now - 20min);
    CHECK(onset->at <= k_now - 17min);
    const auto suspect = find_suspect(revisions, signals, onset);
    REQUIRE(suspect);
    CHECK(suspect->revision == 3);
    CHECK(suspect->after > suspect->before);
    CHECK_THAT(suspect->reason, Catch::Contains("error ratio") && Catch::Contains("p99 latency"));

    auto target = pick_rollback_target(revisions, 3, signals, k_now);
    REQUIRE(target.ok());
    CHECK(target->revision == 2);
    CHECK_THAT(target->reason,
               Catch::Contains("revision 2 was healthy") && Catch::Contains("SLO 1%"));
}

TEST_CASE("correlate: the target is the newest healthy revision, not current - 1", "[correlate]") {
    const auto signals = recorded_signals("checkout");
    SECTION("a later revision with the same artifacts as the bad one is not the suspect") {
        // Revision 2 (now-20m) brought the errors; revision 3 (now-10m) only changed settings.
        const std::vector<RevisionInfo> revisions = {rev(1, 180min, "reg/app@sha256:aaa"),
                                                     rev(2, 20min, "reg/app@sha256:bad"),
                                                     rev(3, 10min, "reg/app@sha256:bad")};
        const auto suspect = find_suspect(revisions, signals, find_onset(signals));
        REQUIRE(suspect);
        CHECK(suspect->revision == 2);
        auto from_current = pick_rollback_target(revisions, 3, signals, k_now);
        REQUIRE(from_current.ok());
        CHECK(from_current->revision == 1); // 2 runs the same artifacts as 3 and was unhealthy
        CHECK_THAT(from_current->reason, Catch::Contains("revision 2"));
    }
    SECTION(
        "a candidate with no metrics is taken only when nothing is known healthy, and says so") {
        // Revision 2 has the bad artifacts; revision 1 ran before the recorded window.
        const std::vector<RevisionInfo> revisions = {rev(1, 600min, "reg/app@sha256:aaa"),
                                                     rev(2, 300min, "reg/app@sha256:bad"),
                                                     rev(3, 20min, "reg/app@sha256:bad")};
        auto target = pick_rollback_target(revisions, 3, signals, k_now);
        REQUIRE(target.ok());
        CHECK(target->revision == 1);
        CHECK_THAT(target->reason, Catch::Contains("no metrics"));
    }
    SECTION("no earlier revision") {
        auto none = pick_rollback_target({rev(1, 20min)}, 1, signals, k_now);
        REQUIRE_FALSE(none.ok());
        CHECK(none.error().code == Errc::not_found);
    }
}

TEST_CASE("correlate: an unhealthy earlier revision is skipped", "[correlate]") {
    // ledger: errors climb through the last hour; revision 2 ran during the climb.
    const auto signals = recorded_signals("ledger");
    const std::vector<RevisionInfo> revisions = {rev(1, 110min), rev(2, 50min), rev(3, 5min)};
    auto target = pick_rollback_target(revisions, 3, signals, k_now);
    REQUIRE(target.ok());
    CHECK(target->revision == 1);
    CHECK_THAT(target->reason, Catch::Contains("revision 2 was unhealthy too"));
}

TEST_CASE("correlate: a slow burn without a deploy has an onset but no suspect", "[correlate]") {
    const auto signals = recorded_signals("ledger");
    const auto onset = find_onset(signals);
    REQUIRE(onset);
    CHECK(onset->signal == "error_ratio");
    CHECK(onset->at >= k_now - 62min);
    CHECK(onset->at <= k_now - 40min);
    CHECK_FALSE(find_suspect({rev(1, 170min)}, signals, onset).has_value());
    // A deploy in the middle of the climb did not start it.
    CHECK_FALSE(find_suspect({rev(1, 170min), rev(2, 30min)}, signals, onset).has_value());
}

TEST_CASE("correlate: a flapping signal has an onset where the flapping began", "[correlate]") {
    const auto signals = recorded_signals("inventory");
    const auto onset = find_onset(signals);
    REQUIRE(onset);
    CHECK(onset->at >= k_now - 50min);
    CHECK(onset->at <= k_now - 40min);
    CHECK_FALSE(find_suspect({rev(1, 170min)}, signals, onset).has_value());
    const auto suspect = find_suspect({rev(1, 170min), rev(2, 48min)}, signals, onset);
    REQUIRE(suspect);
    CHECK(suspect->revision == 2);
}

TEST_CASE("correlate: without a baseline there is no onset and no suspect", "[correlate]") {
    // cart: history begins 8 minutes ago, already over the SLO.
    const auto signals = recorded_signals("cart");
    REQUIRE_FALSE(signals[1].points.empty());
    CHECK_FALSE(find_onset(signals).has_value());
    CHECK_FALSE(find_suspect({rev(1, 9min)}, signals, std::nullopt).has_value());
    CHECK(breaches(signals[1], signals[1].points.back().value));
    CHECK_FALSE(median_between(signals[1], k_now - 60min, k_now - 10min).has_value());
}

TEST_CASE("correlate: values for people", "[correlate]") {
    CHECK(format_signal_value("error_ratio", 0.12) == "12%");
    CHECK(format_signal_value("error_ratio", 0.004) == "0.40%");
    CHECK(format_signal_value("latency_p99", 1.8) == "1.80s");
    CHECK(format_signal_value("latency_p99", 0.21) == "210ms");
    CHECK(format_signal_value("request_rate", 30) == "30/s");
}

TEST_CASE("without an SLO a signal breaches against its own baseline", "[correlate][baseline]") {
    // Error ratio: at least 3x and at least 1 percentage point higher.
    CHECK(breaches_baseline("error_ratio", 0.004, 0.015));
    CHECK_FALSE(breaches_baseline("error_ratio", 0.004, 0.0139)); // 3.5x but only 0.99 points up
    CHECK_FALSE(breaches_baseline("error_ratio", 0.02, 0.05));    // 3 points up but only 2.5x
    CHECK(breaches_baseline("error_ratio", 0.02, 0.061));
    CHECK(breaches_baseline("error_ratio", 0.0, 0.01));
    CHECK_FALSE(breaches_baseline("error_ratio", 0.0, 0.0099));
    // p99 latency: at least 2x and at least 100 ms higher.
    CHECK(breaches_baseline("latency_p99", 0.08, 0.181));
    CHECK_FALSE(breaches_baseline("latency_p99", 0.08, 0.17)); // 2.1x but 90 ms up
    CHECK_FALSE(breaches_baseline("latency_p99", 0.4, 0.75));  // 350 ms up but under 2x
    CHECK(breaches_baseline("latency_p99", 0.4, 0.8));
    // Other signals never breach this way.
    CHECK_FALSE(breaches_baseline("request_rate", 1.0, 100.0));
    CHECK_FALSE(breaches_baseline("error_ratio", std::nan(""), 0.5));
}
