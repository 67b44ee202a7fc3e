// The simulated workload: counters and histograms that follow each pod's image, continuity with
// the backfilled history, pod logs, and the OpenMetrics backfill itself.

#include "backfill.h"
#include "scenario_fixture.h"
#include "traffic.h"
#include "workload.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <sstream>

using namespace sandbox;
using Clock = std::chrono::system_clock;

namespace {

// 2026-11-26T02:14:00Z
const Clock::time_point k_epoch = Clock::time_point(std::chrono::seconds(1795659240));

const Service& service(const Scenario& s, const std::string& name) {
    for (const auto& svc : s.services) {
        if (svc.name == name) {
            return svc;
        }
    }
    throw std::logic_error("no service " + name);
}

std::string digest_ref(const Scenario& s, const std::string& key) {
    const auto& img = s.images.at(key);
    return "127.0.0.1:5000/" + img.repository + "@" + img.digest;
}

// The pods the scenario starts with, named as the scenario names them.
std::vector<PodRuntime> scenario_pods(const Scenario& s) {
    std::vector<PodRuntime> pods;
    for (const auto& svc : s.services) {
        const auto& current = svc.revisions.back();
        for (int i = 0; i < svc.replicas; ++i) {
            const auto image = scenario_pod_image(svc, current, i);
            const bool stuck = !waiting_reason(s, image).empty();
            if (stuck) {
                const auto& previous = svc.revisions[svc.revisions.size() - 2];
                pods.push_back({s.namespace_name, svc.name, scenario_pod_name(svc, previous, i),
                                digest_ref(s, scenario_pod_image(svc, previous, i)), true});
                if (i == 0) {
                    pods.push_back({s.namespace_name, svc.name, scenario_pod_name(svc, current, i),
                                    digest_ref(s, image), false});
                }
            } else {
                pods.push_back({s.namespace_name, svc.name, scenario_pod_name(svc, current, i),
                                digest_ref(s, image), true});
            }
        }
    }
    return pods;
}

// Sample lines of an exposition: "name{labels}" -> value (timestamps, if any, dropped).
std::map<std::string, double> samples(const std::string& text, const std::string& timestamp = "") {
    std::map<std::string, double> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const auto close = line.rfind('}');
        const auto rest = line.substr(close + 2);
        const auto space = rest.find(' ');
        if (!timestamp.empty() &&
            (space == std::string::npos || rest.substr(space + 1) != timestamp)) {
            continue;
        }
        out[line.substr(0, close + 1)] = std::stod(rest.substr(0, space));
    }
    return out;
}

double sum_matching(const std::map<std::string, double>& s, const std::string& needle1,
                    const std::string& needle2 = "") {
    double total = 0;
    for (const auto& [key, v] : s) {
        if (key.find(needle1) != std::string::npos && key.find(needle2) != std::string::npos) {
            total += v;
        }
    }
    return total;
}

// histogram_quantile's linear interpolation over one pod's buckets.
double quantile(const Traffic& t, double q) {
    const double rank = q * t.total();
    double lower = 0, lower_count = 0;
    for (std::size_t i = 0; i < k_latency_buckets.size(); ++i) {
        if (t.buckets[i] >= rank) {
            return lower + (k_latency_buckets[i] - lower) * (rank - lower_count) /
                               (t.buckets[i] - lower_count);
        }
        lower = k_latency_buckets[i];
        lower_count = t.buckets[i];
    }
    return k_latency_buckets.back();
}

} // namespace

TEST_CASE("sandbox traffic: counts follow the behavior's rate, error ratio and latency",
          "[sandbox][workload]") {
    const auto s = test::default_scenario();
    const auto& bad = s.behaviors.at("checkout-db-pool");
    const auto& good = s.behaviors.at("checkout-healthy");
    const std::int64_t t0 = 1795659240000;
    const std::int64_t t1 = t0 + 10 * 60 * 1000;

    const auto b = traffic_between(bad, 7, t0, t1);
    CHECK(b.total() == Approx(20.0 * 600).epsilon(0.1));
    CHECK((b.by_code[1] + b.by_code[2]) / b.total() == Approx(0.12).epsilon(0.25));
    CHECK(quantile(b, 0.99) == Approx(1.8).epsilon(0.12));
    CHECK(quantile(b, 0.5) == Approx(0.35).epsilon(0.15));

    const auto g = traffic_between(good, 7, t0, t1);
    CHECK((g.by_code[1] + g.by_code[2]) / g.total() < 0.005);
    CHECK(quantile(g, 0.99) < 0.5);

    // Additive over adjacent intervals, deterministic, and zero for a crashing image.
    const auto half = traffic_between(bad, 7, t0, t0 + 300000);
    auto rest = traffic_between(bad, 7, t0 + 300000, t1);
    rest += half;
    CHECK(rest.total() == Approx(b.total()));
    CHECK(traffic_between(bad, 7, t0, t1).by_code == b.by_code);
    CHECK(traffic_between(s.behaviors.at("search-crash"), 7, t0, t1).total() == 0);
    // Another seed varies the shape, not the level.
    const auto other = traffic_between(bad, 8, t0, t1);
    CHECK(other.by_code[0] != b.by_code[0]);
    CHECK(other.total() == Approx(b.total()).epsilon(0.1));
}

TEST_CASE("sandbox workload: counters are monotonic and histograms consistent",
          "[sandbox][workload]") {
    const auto s = test::default_scenario();
    Workload w(s, k_epoch);
    w.set_pods(scenario_pods(s));
    const auto a = samples(w.render_metrics(k_epoch + std::chrono::seconds(30)));
    const auto b = samples(w.render_metrics(k_epoch + std::chrono::seconds(90)));
    REQUIRE_FALSE(a.empty());
    for (const auto& [key, v] : a) {
        if (key.rfind("kube_", 0) == 0) {
            continue;
        }
        REQUIRE(b.count(key) == 1);
        CHECK(b.at(key) >= v);
    }
    // For every pod, buckets never decrease with le and +Inf equals _count.
    std::regex bucket_re(R"re(http_request_duration_seconds_bucket\{(.*),le="([^"]+)"\})re");
    std::map<std::string, std::vector<std::pair<double, double>>> by_pod;
    for (const auto& [key, v] : b) {
        std::smatch m;
        if (std::regex_match(key, m, bucket_re)) {
            const double le = m[2] == "+Inf" ? 1e300 : std::stod(m[2]);
            by_pod[m[1]].emplace_back(le, v);
        }
    }
    REQUIRE_FALSE(by_pod.empty());
    for (auto& [labels, buckets] : by_pod) {
        std::sort(buckets.begin(), buckets.end());
        CHECK(buckets.size() == k_latency_buckets.size() + 1);
        for (std::size_t i = 1; i < buckets.size(); ++i) {
            CHECK(buckets[i].second >= buckets[i - 1].second);
        }
        CHECK(buckets.back().second == b.at("http_request_duration_seconds_count{" + labels + "}"));
    }
}

TEST_CASE("sandbox workload: live counters at the epoch equal the backfill's last values",
          "[sandbox][workload]") {
    const auto s = test::default_scenario();
    std::ostringstream backfill;
    write_backfill(backfill, s, k_epoch, std::chrono::hours(3));
    const auto last = samples(backfill.str(), "1795659240.000");
    REQUIRE(last.size() > 100);

    Workload w(s, k_epoch);
    w.set_pods(scenario_pods(s));
    const auto live = samples(w.render_metrics(k_epoch));
    std::size_t compared = 0;
    for (const auto& [key, v] : live) {
        if (key.rfind("http_", 0) != 0) {
            continue;
        }
        INFO(key);
        REQUIRE(last.count(key) == 1);
        CHECK(last.at(key) == v);
        ++compared;
    }
    CHECK(static_cast<std::ptrdiff_t>(compared) ==
          std::count_if(last.begin(), last.end(),
                        [](const auto& e) { return e.first.rfind("http_", 0) == 0; }));
    CHECK(compared > 100);
}

TEST_CASE("sandbox workload: pods present at start-up continue the history even under other names",
          "[sandbox][workload]") {
    const auto s = test::default_scenario();
    auto pods = scenario_pods(s);
    for (auto& p : pods) {
        p.pod = "live-" + p.pod;
    }
    Workload w(s, k_epoch);
    w.set_pods(pods);
    const auto text = w.render_metrics(k_epoch);
    const auto live = samples(text);
    // checkout's three pods have served since revision 3 went out 20 minutes before the epoch.
    const double requests = sum_matching(live, "http_requests_total{", "service=\"checkout\"");
    CHECK(requests == Approx(3 * 20.0 * 1200).epsilon(0.1));

    // The backfill, told which pods run (from /metrics), writes their history under their names.
    const auto running = live_pods_from_metrics(s, text);
    CHECK(running.size() == pods.size());
    std::ostringstream backfill;
    write_backfill(backfill, s, k_epoch, std::chrono::hours(1), running);
    const auto last = samples(backfill.str(), "1795659240.000");
    std::size_t compared = 0;
    for (const auto& [key, v] : live) {
        if (key.rfind("http_", 0) == 0) {
            INFO(key);
            REQUIRE(last.count(key) == 1);
            CHECK(last.at(key) == v);
            ++compared;
        }
    }
    CHECK(compared > 100);
    CHECK(backfill.str().find("pod=\"" + s.services[0].name + "-") !=
          std::string::npos); // older revisions keep theirs
    // The crash-looping pod's waiting history carries its live name too.
    const auto& search = service(s, "search");
    const auto crash_pod = "live-" + scenario_pod_name(search, search.revisions.back(), 0);
    CHECK(backfill.str().find("kube_pod_container_status_waiting_reason{namespace=\"shop\",service="
                              "\"search\",pod=\"" +
                              crash_pod + "\",reason=\"CrashLoopBackOff\"} 1 ") !=
          std::string::npos);
    CHECK(sum_matching(live, "http_requests_total{", crash_pod) == 0);
}

TEST_CASE("sandbox workload: metrics follow the image each pod runs", "[sandbox][workload]") {
    const auto s = test::default_scenario();
    const auto& checkout = service(s, "checkout");
    Workload w(s, k_epoch);
    w.set_pods(scenario_pods(s));

    auto error_ratio = [](const std::map<std::string, double>& a,
                          const std::map<std::string, double>& b) {
        const auto errs = sum_matching(b, "service=\"checkout\"", "code=\"5") -
                          sum_matching(a, "service=\"checkout\"", "code=\"5");
        const auto all =
            sum_matching(b, "http_requests_total{namespace=\"shop\",service=\"checkout\"") -
            sum_matching(a, "http_requests_total{namespace=\"shop\",service=\"checkout\"");
        return errs / all;
    };
    // Within the process the workload reads the wall clock when pods change; render times later
    // than now.
    const auto before_a = samples(w.render_metrics(Clock::now() + std::chrono::hours(1)));
    const auto before_b =
        samples(w.render_metrics(Clock::now() + std::chrono::hours(1) + std::chrono::minutes(5)));
    CHECK(error_ratio(before_a, before_b) == Approx(0.12).epsilon(0.3));

    // Roll checkout back to revision 2: new pods, healthy image; the old pods are gone.
    auto pods = scenario_pods(s);
    pods.erase(std::remove_if(pods.begin(), pods.end(),
                              [](const PodRuntime& p) { return p.service == "checkout"; }),
               pods.end());
    const auto& rev2 = checkout.revisions[1];
    for (int i = 0; i < 3; ++i) {
        pods.push_back({"shop", "checkout", scenario_pod_name(checkout, rev2, i),
                        digest_ref(s, rev2.containers[0].image), true});
    }
    w.set_pods(pods);
    const auto after_a = samples(w.render_metrics(Clock::now() + std::chrono::hours(1)));
    const auto after_b =
        samples(w.render_metrics(Clock::now() + std::chrono::hours(1) + std::chrono::minutes(5)));
    CHECK(error_ratio(after_a, after_b) < 0.01);
    CHECK(sum_matching(after_b, scenario_pod_name(checkout, checkout.revisions[2], 0)) == 0);

    // A pod that stops serving stops counting; its series stays while the pod exists.
    for (auto& p : pods) {
        if (p.service == "checkout") {
            p.serving = false;
        }
    }
    w.set_pods(pods);
    const auto stopped_a = samples(w.render_metrics(Clock::now() + std::chrono::hours(2)));
    const auto stopped_b = samples(w.render_metrics(Clock::now() + std::chrono::hours(3)));
    const auto pod0 = scenario_pod_name(checkout, rev2, 0);
    CHECK(sum_matching(stopped_a, pod0) > 0);
    CHECK(sum_matching(stopped_a, pod0) == sum_matching(stopped_b, pod0));
}

TEST_CASE("sandbox workload: waiting pods show kube-state-metrics' waiting reason",
          "[sandbox][workload]") {
    const auto s = test::default_scenario();
    Workload w(s, k_epoch);
    auto pods = scenario_pods(s);
    pods.push_back(
        {"shop", "checkout", "checkout-missing-1", digest_ref(s, "shop/checkout:1.3.2"), false});
    w.set_pods(pods);
    const auto text = w.render_metrics(k_epoch);
    const auto& search = service(s, "search");
    const auto crash_pod = scenario_pod_name(search, search.revisions.back(), 0);
    CHECK(text.find("kube_pod_container_status_waiting_reason{namespace=\"shop\",service="
                    "\"search\",pod=\"" +
                    crash_pod + "\",reason=\"CrashLoopBackOff\"} 1") != std::string::npos);
    CHECK(text.find("pod=\"checkout-missing-1\",reason=\"ImagePullBackOff\"} 1") !=
          std::string::npos);
    // Neither ever served: no request series for them.
    CHECK(text.find("http_requests_total{namespace=\"shop\",service=\"search\",pod=\"" +
                    crash_pod) == std::string::npos);
}

TEST_CASE("sandbox workload: pod logs follow the behavior", "[sandbox][workload]") {
    const auto s = test::default_scenario();
    const auto& checkout = service(s, "checkout");
    Workload w(s, k_epoch);
    w.set_pods(scenario_pods(s));
    const auto now = Clock::now();
    const auto pod = scenario_pod_name(checkout, checkout.revisions.back(), 0);

    const auto lines = w.pod_logs("shop", pod, 400, std::nullopt, now);
    REQUIRE(lines.size() == 400);
    CHECK(lines == w.pod_logs("shop", pod, 400, std::nullopt, now));
    std::size_t pool_errors = 0;
    for (const auto& line : lines) {
        CHECK(line.rfind("ts=", 0) == 0);
        CHECK(line.find('{') == std::string::npos);
        pool_errors += line.find("level=error msg=\"db pool exhausted\" pool=orders wait_ms=") !=
                               std::string::npos
                           ? 1
                           : 0;
    }
    // 12% errors, two thirds of them the pool message.
    CHECK(pool_errors >= 12);
    CHECK(pool_errors <= 70);

    CHECK(w.pod_logs("shop", pod, 5, std::nullopt, now).size() == 5);
    CHECK(w.pod_logs("shop", pod, 5, std::nullopt, now).back() == lines.back());
    const auto recent = w.pod_logs("shop", pod, std::nullopt, std::chrono::seconds(10), now);
    CHECK(recent.size() >= 19);
    CHECK(recent.size() <= 21);
    CHECK(w.pod_logs("shop", "no-such-pod", 10, std::nullopt, now).empty());

    const auto& search = service(s, "search");
    const auto crash = w.pod_logs("shop", scenario_pod_name(search, search.revisions.back(), 0), 50,
                                  std::nullopt, now);
    REQUIRE_FALSE(crash.empty());
    CHECK(crash.back().find("level=fatal msg=\"index schema mismatch\"") != std::string::npos);
}

TEST_CASE("sandbox backfill: OpenMetrics history that follows the revisions",
          "[sandbox][backfill]") {
    const auto s = test::default_scenario();
    std::ostringstream out;
    const auto written = write_backfill(out, s, k_epoch, std::chrono::hours(3));
    const auto text = out.str();
    CHECK(written > 10000);
    REQUIRE(text.size() > 6);
    CHECK(text.substr(text.size() - 6) == "# EOF\n");
    CHECK(text.find("# TYPE http_requests counter\n") != std::string::npos);
    CHECK(text.find("# TYPE http_request_duration_seconds histogram\n") != std::string::npos);

    // Samples of each series come in time order, 15 s apart, never past the epoch.
    std::map<std::string, double> last_time;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const auto close = line.rfind('}');
        const auto rest = line.substr(close + 2);
        const double t = std::stod(rest.substr(rest.find(' ') + 1));
        const auto key = line.substr(0, close + 1);
        CHECK(t <= 1795659240.0);
        if (last_time.count(key) != 0) {
            REQUIRE(t - last_time[key] == Approx(15.0));
        }
        last_time[key] = t;
    }

    // checkout's error ratio: low before revision 3 (20 minutes before the epoch), ~12% after.
    const auto at = [&](std::int64_t seconds_before) {
        return samples(text, std::to_string(1795659240 - seconds_before) + ".000");
    };
    const auto ratio = [&](std::int64_t from, std::int64_t to) {
        const auto a = at(from);
        const auto b = at(to);
        const auto errs = sum_matching(b, "service=\"checkout\"", "code=\"5") -
                          sum_matching(a, "service=\"checkout\"", "code=\"5");
        const auto all =
            sum_matching(b, "http_requests_total{namespace=\"shop\",service=\"checkout\"") -
            sum_matching(a, "http_requests_total{namespace=\"shop\",service=\"checkout\"");
        return errs / all;
    };
    CHECK(ratio(40 * 60, 25 * 60) < 0.01);
    CHECK(ratio(15 * 60, 0) == Approx(0.12).epsilon(0.25));
}

TEST_CASE("sandbox workload: without the backfill's epoch, start-up counters never fall below the "
          "backfilled ones",
          "[sandbox][workload]") {
    const auto s = test::default_scenario();
    Workload w(s); // epoch: construction time, a little after the epoch the backfill used
    auto pods = scenario_pods(s);
    for (auto& p : pods) {
        p.pod = "live-" + p.pod;
    }
    w.set_pods(pods);
    const auto constructed = Clock::now();
    const auto text = w.render_metrics(constructed);
    const auto live = samples(text);
    const auto running = live_pods_from_metrics(s, text);
    for (const int seconds_before : {1, 4, 17, 60, 110}) {
        const auto epoch = std::chrono::time_point_cast<std::chrono::seconds>(constructed) -
                           std::chrono::seconds(seconds_before);
        std::ostringstream backfill;
        write_backfill(backfill, s, epoch, std::chrono::minutes(30), running);
        const auto last =
            samples(backfill.str(), std::to_string(epoch.time_since_epoch().count()) + ".000");
        std::size_t compared = 0;
        for (const auto& [key, v] : live) {
            if (key.rfind("http_", 0) == 0 && last.count(key) != 0) {
                INFO(key << " with the backfill's epoch " << seconds_before << "s earlier");
                CHECK(v >= last.at(key));
                ++compared;
            }
        }
        CHECK(compared > 100);
    }
}
