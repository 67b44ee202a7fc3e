// One judgement of rollout health (status, triage and the overview agree on the crash-looping
// search and on a healthy rollout in progress), and post-change verification against a Prometheus
// that scrapes every 30 s: pass after a good rollback, breach and auto-rollback after a bad
// redeploy, breach against its baseline for a service without an SLO, inconclusive for a service
// without traffic.

#include "../deploy/workstation.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

using namespace oncall;
using nlohmann::json;
using test::ProcessResult;
using test::Workstation;

namespace {

json parse_out(const ProcessResult& r) {
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    json j = json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
}

const json* overview_line(const json& overview, const std::string& service) {
    for (const auto& l : overview.at("services")) {
        if (l.at("service") == service) {
            return &l;
        }
    }
    return nullptr;
}

// A copy of the sandbox's configuration in which `service` has no SLO, for this workstation.
void drop_slo(Workstation& ws, const std::string& service) {
    std::string text = test::read_text(ws.env("ONCALL_CONFIG"));
    const std::string entry =
        "  " + service + ":\n    slo: { error-ratio: 0.01, latency-p99: 0.5 }\n";
    const auto at = text.find(entry);
    REQUIRE(at != std::string::npos);
    text.replace(at, entry.size(), "  " + service + ": {}\n");
    const std::string path = ws.state().path() + "/config.yaml";
    std::ofstream(path) << text;
    ws.set_env("ONCALL_CONFIG", path);
}

// Waits (up to three minutes) until Prometheus holds `seconds` of the service's request counters
// at a 30 s scrape interval: the baseline a change without an SLO is judged against.
void wait_for_history(const Workstation& ws, const std::string& service, int seconds) {
    const auto query = fmt::format(
        R"(min(count_over_time(http_requests_total{{service="{}"}}[{}s])))", service, seconds);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
    while (std::chrono::steady_clock::now() < deadline) {
        if (const auto n = ws.promql(query); n && *n >= seconds / 30.0) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::seconds(2));
    }
    FAIL("Prometheus has no " << seconds << " s of " << service << "'s requests");
}

} // namespace

TEST_CASE("one judgement: the crash-looping search is failed in status, triage and the overview") {
    Workstation ws;
    const auto status = ws.oncall({"status", "search", "-o", "json"});
    INFO(status.out << status.err);
    CHECK(status.exit_code == 7);
    const auto s = parse_out(status);
    CHECK(s.at("state") == "failed");
    CHECK_THAT(s.at("reason").get<std::string>(), Catch::Contains("CrashLoopBackOff"));

    const auto text = ws.oncall({"status", "search"});
    CHECK(text.exit_code == 7);
    CHECK_THAT(text.out, Catch::Contains("failed") && Catch::Contains("CrashLoopBackOff"));

    const auto triage = ws.oncall({"triage", "search", "-o", "json"});
    CHECK(triage.exit_code == 8);
    const auto t = parse_out(triage);
    CHECK(t.at("rollout").at("state") == "failed");
    REQUIRE_FALSE(t.at("rollout").at("problems").empty());
    CHECK_THAT(t.at("rollout").at("problems").at(0).get<std::string>(),
               Catch::Contains("CrashLoopBackOff"));

    const auto overview = ws.oncall({"triage", "-o", "json"});
    const auto o = parse_out(overview);
    const auto* line = overview_line(o, "search");
    REQUIRE(line != nullptr);
    CHECK(line->at("rollout") == "failed");
    CHECK_THAT(line->at("rollout_reason").get<std::string>(), Catch::Contains("CrashLoopBackOff"));
    CHECK_THAT(line->at("summary").get<std::string>(), Catch::Contains("rollout failed"));
}

TEST_CASE("one judgement: a healthy rollout in progress is progressing in status, triage and the "
          "overview") {
    Workstation ws;
    ws.grant("inventory");
    // The sandbox moves one replica a second: a restart of three replicas takes a few seconds, long
    // enough to ask all three at once. Asked again when the rollout finished before they answered.
    bool seen = false;
    for (int attempt = 0; attempt < 3 && !seen; ++attempt) {
        const auto restart = ws.oncall({"redeploy", "inventory", "--yes", "--no-wait", "--reason",
                                        fmt::format("judgement test: restart {}", attempt), "-q"});
        INFO(restart.out << restart.err);
        REQUIRE(restart.exit_code == 0);
        auto status = std::async(std::launch::async, [&] {
            return ws.oncall({"status", "inventory", "-o", "json"});
        });
        auto triage = std::async(std::launch::async, [&] {
            return ws.oncall({"triage", "inventory", "-o", "json"});
        });
        auto overview = std::async(std::launch::async, [&] {
            return ws.oncall({"triage", "-o", "json"});
        });
        const auto s = status.get();
        const auto t = triage.get();
        const auto o = overview.get();
        INFO(s.out << s.err << t.err << o.err);
        CHECK(s.exit_code == 0);
        const auto sj = parse_out(s);
        const auto tj = parse_out(t);
        const auto oj = parse_out(o);
        const auto* line = overview_line(oj, "inventory");
        REQUIRE(line != nullptr);
        const std::string states = fmt::format("{} {} {}", sj.at("state").get<std::string>(),
                                               tj.at("rollout").at("state").get<std::string>(),
                                               line->at("rollout").get<std::string>());
        INFO("status, triage, overview: " << states);
        CHECK((states == "progressing progressing progressing" ||
               states.find("complete") != std::string::npos));
        seen = states == "progressing progressing progressing";
    }
    CHECK(seen);
    auto done = ws.oncall({"status", "inventory", "--watch", "--timeout", "60s", "-q"});
    CHECK(done.exit_code == 0);
}

TEST_CASE("verification at a 30 s scrape interval: pass, breach with auto-rollback, breach against "
          "the baseline, inconclusive") {
    Workstation ws;
    drop_slo(ws, "ledger");
    for (const std::string service : {"checkout", "payments", "reports", "archive", "ledger"}) {
        ws.grant(service);
    }
    wait_for_history(ws, "ledger", 120);
    const std::string payments_before = ws.image("payments");
    const auto started = std::chrono::steady_clock::now();

    // checkout's revision 3 serves 12% errors; revision 2 was healthy.
    auto rollback = std::async(std::launch::async, [&] {
        return ws.oncall({"rollback", "checkout", "--to-revision", "2", "--yes", "--reason",
                          "verification test: back to a good revision", "-o", "json"});
    });
    // payments 3.5.0 serves 15% errors.
    auto redeploy = std::async(std::launch::async, [&] {
        return ws.oncall({"redeploy", "payments", "--image",
                          ws.registry_host() + "/shop/payments:3.5.0", "--auto-rollback", "--yes",
                          "--reason", "verification test: a bad release", "-o", "json"});
    });
    // ledger 2.1.0 serves 9% errors where 2.0.1 served 0.1%; ledger has no SLO.
    auto unslo = std::async(std::launch::async, [&] {
        return ws.oncall({"redeploy", "ledger", "--image",
                          ws.registry_host() + "/shop/ledger:2.1.0", "--yes", "--reason",
                          "verification test: a bad release of a service without an SLO", "-o",
                          "json"});
    });
    // reports and archive serve no traffic at all.
    auto quiet = std::async(std::launch::async, [&] {
        return ws.oncall({"redeploy", "reports", "--yes", "--reason",
                          "verification test: no traffic", "-o", "json"});
    });
    auto required = std::async(std::launch::async, [&] {
        return ws.oncall({"redeploy", "archive", "--yes", "--require-verification", "--reason",
                          "verification test: no traffic, verification required", "-o", "json"});
    });

    const auto good = rollback.get();
    {
        INFO(good.out << good.err);
        CHECK(good.exit_code == 0);
        const auto j = parse_out(good);
        CHECK(j.at("result") == "done");
        CHECK(j.at("verification").at("status") == "pass");
        CHECK(j.at("verification").at("scrape_interval").at("seconds") == 30);
        CHECK(j.at("verification").at("scrape_interval").at("source") == "prometheus targets");
        CHECK(j.at("verification").at("window").at("seconds") == 120);
    }
    const auto bad = redeploy.get();
    {
        INFO(bad.out << bad.err);
        CHECK(bad.exit_code == 7);
        const auto j = parse_out(bad);
        CHECK(j.at("result") == "failed");
        CHECK(j.at("verification").at("status") == "breach");
        CHECK(j.at("auto_rollback").at("result") == "done");
        CHECK(j.at("auto_rollback").at("trigger") == "breach");
        CHECK(ws.image("payments") == payments_before);
    }
    const auto baseline = unslo.get();
    {
        INFO(baseline.out << baseline.err);
        CHECK(baseline.exit_code == 7);
        const auto j = parse_out(baseline);
        CHECK(j.at("verification").at("status") == "breach");
        const auto& errors = j.at("verification").at("signals").at(1);
        CHECK(errors.at("name") == "error_ratio");
        CHECK(errors.at("status") == "breach");
        CHECK(errors.at("threshold").is_null());
        REQUIRE(errors.at("baseline").is_number());
        CHECK(errors.at("baseline").get<double>() < 0.01);
        CHECK(errors.at("value").get<double>() > 0.05);
        CHECK_THAT(baseline.err, Catch::Contains("before the change"));
    }
    const auto idle = quiet.get();
    {
        INFO(idle.out << idle.err);
        CHECK(idle.exit_code == 0);
        const auto j = parse_out(idle);
        CHECK(j.at("verification").at("status") == "inconclusive");
        CHECK_THAT(idle.err,
                   Catch::Contains("warning") && Catch::Contains("could not be verified"));
    }
    const auto strict = required.get();
    {
        INFO(strict.out << strict.err);
        CHECK(strict.exit_code == 7);
        const auto j = parse_out(strict);
        CHECK(j.at("verification").at("status") == "inconclusive");
        CHECK_FALSE(j.contains("auto_rollback"));
    }
    const auto took = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - started);
    fmt::print("VERIFY | five changes verified at a 30 s scrape interval in {} s (wall)\n",
               took.count());

    // Every attempt wrote an intent line and a result line naming its grant.
    std::map<std::string, int> phases;
    for (const auto& line : ws.audit_lines()) {
        if (line.value("action", "") == "rollback" || line.value("action", "") == "redeploy") {
            CHECK(line.contains("grant"));
            ++phases[line.at("phase").get<std::string>()];
        }
    }
    CHECK(phases["intent"] == 6); // five changes and one automatic rollback
    CHECK(phases["result"] == 6);
}
