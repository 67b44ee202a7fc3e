// The triage engine on facts recorded from a real Prometheus, Alertmanager and (for pods and
// Deployments) the Kubernetes fixtures: healthy, bad deploy, slow burn, flapping alert, missing
// baseline, failed sources, a crash-looping rollout, drift and log grouping.

#include "../read_fixture.h"
#include "oncall/ops/triage.h"
#include "oncall/views/triage.h"
#include "triage_facts.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

using namespace oncall;
using namespace oncall::ops;
using namespace std::chrono_literals;
using nlohmann::json;
using oncall::test::read_fixture;
using namespace oncall::test::triage_facts;

namespace {

const SignalReport& signal(const TriageReport& r, const std::string& name) {
    for (const auto& s : r.signals) {
        if (s.name == name) {
            return s;
        }
    }
    FAIL("no signal " << name);
    throw 0;
}

} // namespace

TEST_CASE("triage: a bad deploy is degraded, names the suspect and the rollback target",
          "[triage]") {
    auto f = facts_for("checkout", "checkout_with_inhibited.json");
    f.kube = kube_facts("checkout", {revision("checkout", 3, 20min, '3', true),
                                     revision("checkout", 2, 130min, '2', false),
                                     revision("checkout", 1, 26h, '1', false)});
    f.deployer_role_max = std::chrono::seconds(3600);
    const auto r = build_report(f);
    CHECK(r.verdict == Verdict::degraded);
    CHECK(r.exit_code == ExitCode::degraded);
    const auto& er = signal(r, "error_ratio");
    CHECK(er.status == SignalStatus::breach);
    CHECK(er.now == Approx(0.12));
    REQUIRE(er.baseline);
    CHECK(*er.baseline == Approx(0.003));
    CHECK(signal(r, "latency_p99").status == SignalStatus::breach);
    CHECK(signal(r, "request_rate").status == SignalStatus::ok);
    // Since: the error ratio moved before the alert (which waits for its `for:`) fired.
    REQUIRE(r.since);
    CHECK(*r.since >= k_now - 20min);
    CHECK(*r.since < k_now - 17min);
    REQUIRE(r.suspect);
    CHECK(r.suspect->revision == 3);
    REQUIRE(r.rollback_target);
    CHECK(r.rollback_target->revision == 2);
    REQUIRE(r.recommendations.size() == 3);
    CHECK(r.recommendations[0].command ==
          R"(oncall request-access checkout --role deployer --for 30m --reason "...")");
    CHECK(r.recommendations[1].command == "oncall rollback checkout --to-revision 2");
    CHECK(r.recommendations[2].command == "oncall status checkout --watch");
    // The inhibited latency alert is shown but only the critical one counts.
    CHECK(r.alerts.size() == 2);
    CHECK(r.rollout->state == RolloutState::complete);
    CHECK(r.drift.empty());
    for (const auto& d : r.deploys) {
        CHECK(d.suspect == (d.revision == 3));
        CHECK(d.target == (d.revision == 2));
    }

    SECTION("with an active deployer grant the rollback comes first") {
        f.deployer_grant_active = true;
        const auto g = build_report(f);
        REQUIRE(g.recommendations.size() == 2);
        CHECK(g.recommendations[0].command == "oncall rollback checkout --to-revision 2");
    }
    SECTION("the JSON document has the DESIGN.md fields") {
        const auto j = views::triage_json(r);
        for (const char* key :
             {"service", "verdict", "since", "alerts", "signals", "deploys", "suspect", "rollout",
              "recommendations", "logs", "drift", "sources"}) {
            CHECK(j.contains(key));
        }
        CHECK(j["verdict"] == "degraded");
        CHECK(j["suspect"]["revision"] == 3);
        CHECK(j["deploys"][0]["revision"] == 3);
        CHECK(j["deploys"][0]["current"] == true);
        CHECK(j["deploys"][0]["artifacts"][0] == k_reg + "checkout@" + digest('3'));
        CHECK(j["signals"][1]["name"] == "error_ratio");
        CHECK(j["signals"][1]["threshold"] == 0.01);
        CHECK(j["signals"][1]["status"] == "breach");
        CHECK(j["alerts"][0].contains("fingerprint"));
        CHECK(j["alerts"][0]["labels"]["service"] == "checkout");
        CHECK(j["sources"][0]["ok"] == true);
        CHECK(j["sources"][0]["error"].is_null());
        CHECK(j["rollout"]["state"] == "complete");
        CHECK(j["since"].get<std::string>().back() == 'Z');
    }
}

TEST_CASE("triage: a healthy service is healthy with nothing to do", "[triage]") {
    auto f = facts_for("payments", "payments_silenced.json"); // its only alert is silenced
    f.kube = kube_facts("payments", {revision("payments", 2, 90min, 'b', true),
                                     revision("payments", 1, 120h, 'a', false)});
    const auto r = build_report(f);
    CHECK(r.verdict == Verdict::healthy);
    CHECK(r.exit_code == ExitCode::success);
    CHECK_FALSE(r.since);
    CHECK_FALSE(r.suspect);
    CHECK(r.recommendations.empty());
    CHECK(r.alerts.size() == 1);
    CHECK(r.alerts[0].state == "suppressed");
    for (const auto& s : r.signals) {
        CHECK(s.status == SignalStatus::ok);
    }
}

TEST_CASE("triage: a slow burn without a deploy has no suspect", "[triage]") {
    auto f = facts_for("ledger", "");
    f.kube = kube_facts("ledger", {revision("ledger", 4, 170min, '4', true)});
    const auto r = build_report(f);
    CHECK(r.verdict == Verdict::degraded);
    REQUIRE(r.since);
    CHECK(*r.since <= k_now - 40min);
    CHECK_FALSE(r.suspect);
    CHECK_FALSE(r.rollback_target);
    CHECK(views::triage_json(r)["suspect"].is_null());
    REQUIRE_FALSE(r.recommendations.empty());
    CHECK(r.recommendations[0].command == "oncall history ledger");
}

TEST_CASE("triage: a flapping alert dates the trouble from when the flapping began", "[triage]") {
    auto f = facts_for("inventory", "inventory_flapping.json");
    f.kube = kube_facts("inventory", {revision("inventory", 2, 170min, '2', true)});
    const auto r = build_report(f);
    CHECK(r.verdict == Verdict::degraded);
    REQUIRE(r.alerts.size() == 1);
    REQUIRE(r.alerts[0].starts_at);
    CHECK(*r.alerts[0].starts_at == k_now - 2min); // the alert restarted two minutes ago
    REQUIRE(r.since);
    CHECK(*r.since <= k_now - 40min); // but the error ratio started flapping 48 minutes ago
    CHECK(*r.since >= k_now - 50min);
    CHECK_FALSE(r.suspect);
}

TEST_CASE("triage: a missing baseline leaves the baseline and the suspect empty", "[triage]") {
    auto f = facts_for("cart", "");
    f.kube = kube_facts("cart", {revision("cart", 1, 9min, '1', true)});
    const auto r = build_report(f);
    CHECK(r.verdict == Verdict::degraded);
    const auto& er = signal(r, "error_ratio");
    CHECK(er.status == SignalStatus::breach);
    CHECK_FALSE(er.baseline);
    CHECK(views::triage_json(r)["signals"][1]["baseline"].is_null());
    CHECK_FALSE(r.suspect);
    REQUIRE(r.since); // from the first sample over the SLO
    CHECK(*r.since >= k_now - 9min);
}

TEST_CASE("triage: a failed source is named and never hides the others", "[triage]") {
    auto f = facts_for("checkout", "checkout_active_only.json");
    f.kube = kube_facts("checkout", {revision("checkout", 3, 20min, '3', true)});
    f.series.assign(f.specs.size(), std::nullopt);
    f.sources[0].ok = false;
    f.sources[0].error =
        make_error(Errc::timeout, "prometheus at http://127.0.0.1:9090: timed out after 3s");
    SECTION("an alert still fires: degraded, exit 8") {
        const auto r = build_report(f);
        CHECK(r.verdict == Verdict::degraded);
        CHECK(r.exit_code == ExitCode::degraded);
        CHECK(signal(r, "error_ratio").status == SignalStatus::unknown);
        const auto j = views::triage_json(r);
        CHECK(j["sources"][0]["ok"] == false);
        CHECK(j["sources"][0]["error"] ==
              "prometheus at http://127.0.0.1:9090: timed out after 3s");
        CHECK(j["deploys"].size() == 1);
    }
    SECTION("nothing fires: unknown, exit 3") {
        f.alerts = std::vector<alertmanager::Alert>{};
        const auto r = build_report(f);
        CHECK(r.verdict == Verdict::unknown);
        CHECK(r.exit_code == ExitCode::partial);
        CHECK_THAT(r.verdict_reasons.back(), Catch::Contains("prometheus"));
    }
    SECTION("a skipped source is not a failure") {
        auto g = facts_for("payments", "");
        g.sources[1].ok = false;
        g.sources[1].skipped = true;
        g.alerts.reset();
        CHECK(build_report(g).exit_code == ExitCode::success);
    }
}

TEST_CASE("triage: crash-looping pods fail the rollout and make the new revision the suspect",
          "[triage]") {
    auto f = facts_for("payments", ""); // signals healthy: the old pods still serve
    f.service = "search";
    auto k = kube_facts("search", {revision("search", 3, 8min, 'c', true),
                                   revision("search", 2, 160min, 'b', false),
                                   revision("search", 1, 50h, 'a', false)});
    auto crash = kube::decode_pod(json::parse(read_fixture("kubernetes/pod_crashloop.json")));
    REQUIRE(crash.ok());
    own_by_new_replicaset(k, *crash);
    k.pods = {*crash};
    k.deployment.status.updated_replicas = 1;
    k.deployment.status.available_replicas = 3;
    k.deployment.status.replicas = 4;
    f.kube = k;
    const auto r = build_report(f);
    REQUIRE(r.rollout);
    CHECK(r.rollout->state == RolloutState::failed);
    REQUIRE_FALSE(r.rollout->problems.empty());
    CHECK_THAT(r.rollout->problems[0].raw(),
               Catch::Contains("CrashLoopBackOff") && Catch::Contains("5 restarts"));
    CHECK(r.verdict == Verdict::degraded);
    REQUIRE(r.suspect);
    CHECK(r.suspect->revision == 3);
    REQUIRE(r.rollback_target);
    CHECK(r.rollback_target->revision == 2);
}

TEST_CASE("triage: drift of mutable tags and of pods running another image", "[triage]") {
    KubeFacts k = kube_facts("inventory", {revision("inventory", 2, 60min, '2', true)});
    k.deployment.pod_template.containers = {{"inventory", k_reg + "inventory:2.4"}};
    k.revisions[0].pod_template.containers = {{"inventory", k_reg + "inventory:2.4"}};
    k.pods = {running_pod("inventory-a", "inventory", k_reg + "inventory@" + digest('e')),
              running_pod("inventory-b", "inventory", k_reg + "inventory@" + digest('d')),
              running_pod("inventory-c", "inventory", k_reg + "inventory@" + digest('e'))};
    const auto drift = find_drift(k);
    REQUIRE(drift.size() == 2);
    CHECK(drift[0].kind == DriftKind::mutable_tag);
    CHECK(drift[0].running == k_reg + "inventory:2.4");
    CHECK(drift[1].kind == DriftKind::image_mismatch);
    CHECK(drift[1].pod == "inventory-b");
    CHECK(drift[1].expected == k_reg + "inventory@" + digest('e'));
    CHECK(drift[1].running == k_reg + "inventory@" + digest('d'));

    // Pinned by digest: a pod running anything else is drift.
    KubeFacts pinned = kube_facts("checkout", {revision("checkout", 3, 20min, '3', true)});
    CHECK(find_drift(pinned).empty());
    pinned.pods[1].container_statuses[0].image_id =
        "docker-pullable://" + k_reg + "checkout@" + digest('7');
    const auto d2 = find_drift(pinned);
    REQUIRE(d2.size() == 1);
    CHECK(d2[0].expected == k_reg + "checkout@" + digest('3'));
    CHECK(d2[0].running == k_reg + "checkout@" + digest('7'));
}

TEST_CASE("triage: log lines are grouped by shape", "[triage]") {
    const std::vector<std::string> lines = {
        R"(2026-11-26T13:01:02.123Z level=info msg="request served" method=GET path=/api/cart status=200 duration_ms=41 trace_id=4bf92f3577b34da6a3ce929d0e0e4736)",
        R"(2026-11-26T13:01:02.200Z level=error msg="db pool exhausted" pool=orders wait_ms=5003 in_use=10 max=10 trace_id=00f067aa0ba902b7a3ce929d0e0e4736)",
        R"(2026-11-26T13:01:03.001Z level=info msg="request served" method=GET path=/api/cart status=200 duration_ms=7 trace_id=1bf92f3577b34da6a3ce929d0e0e4731)",
        R"(2026-11-26T13:01:03.050Z level=error msg="db pool exhausted" pool=orders wait_ms=5011 in_use=10 max=10 trace_id=10f067aa0ba902b7a3ce929d0e0e4731)",
        R"(2026-11-26T13:01:03.090Z level=error msg="checkout failed" err="context deadline exceeded" cart_id=9f3a1c2b7d status=503 user="alice")",
        R"(2026-11-26T13:01:04.000Z level=error msg="db pool exhausted" pool=orders wait_ms=5000 in_use=10 max=10 trace_id=20f067aa0ba902b7a3ce929d0e0e4732)",
        R"(2026-11-26T13:01:04.100Z level=error msg="checkout failed" err="context deadline exceeded" cart_id=00aa11bb22 status=503 user="bob")",
        R"(2026-11-26T13:01:04.200Z level=warn msg="slow query" took=1.5s db=orders)",
        "",
    };
    const auto groups = group_log_lines(lines, 3);
    REQUIRE(groups.size() == 3);
    CHECK(
        groups[0].pattern ==
        R"(level=error msg="db pool exhausted" pool=orders wait_ms=<n> in_use=<n> max=<n> trace_id=<hex>)");
    CHECK(groups[0].count == 3);
    CHECK_THAT(groups[0].example.raw(), Catch::Contains("wait_ms=5000"));
    CHECK(
        groups[1].pattern ==
        R"(level=error msg="checkout failed" err="context deadline exceeded" cart_id=<hex> status=<n> user="<v>")");
    CHECK(groups[1].count == 2);
    CHECK(groups[2].pattern == R"(level=warn msg="slow query" took=<dur> db=orders)");
    CHECK(log_shape("connect to 10.0.0.3:5432 failed after 3 retries (id "
                    "6f1c2d3e-aaaa-4bbb-8ccc-123456789abc)") ==
          "connect to <n>:<n> failed after <n> retries (id <hex>)");
}

TEST_CASE("triage: the screen of a bad deploy fits 100 columns by 30 lines", "[triage][screen]") {
    auto f = facts_for("checkout", "checkout_with_inhibited.json");
    f.kube = kube_facts("checkout", {revision("checkout", 3, 20min, '3', true),
                                     revision("checkout", 2, 130min, '2', false),
                                     revision("checkout", 1, 26h, '1', false)});
    f.kube->log_lines = {
        R"(2026-11-18T11:59:01.000Z level=error msg="db pool exhausted" pool=orders wait_ms=5003 in_use=10 max=10 trace_id=4bf92f3577b34da6)",
        R"(2026-11-18T11:59:02.000Z level=error msg="db pool exhausted" pool=orders wait_ms=5010 in_use=10 max=10 trace_id=5bf92f3577b34da6)",
        R"(2026-11-18T11:59:03.000Z level=info msg="request served" method=GET path=/api/cart status=200 duration_ms=41 trace_id=6bf92f3577b34da6)"};
    f.kube->revisions[0].change_cause = "deploy 1.2.2: smaller db pool (CHG-1093)";
    const auto r = build_report(f);
    render::Style style;
    style.width = 100;
    const auto text = views::triage_text(r, views::TextOptions{style, k_now});
    UNSCOPED_INFO(text);
    if (const char* dump =
            std::getenv("ONCALL_DUMP_SCREEN")) { // to look at it: ONCALL_DUMP_SCREEN=/tmp/x
        std::ofstream(dump) << text;
    }
    std::vector<std::string> lines;
    for (std::size_t pos = 0; pos < text.size();) {
        const auto end = text.find('\n', pos);
        lines.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    CHECK(lines.size() <= 30);
    for (const auto& l : lines) {
        CHECK(render::display_width(l) <= 100);
    }
    CHECK(text.find('\x1b') == std::string::npos); // no colour without a terminal
    CHECK_THAT(lines[0], Catch::StartsWith("checkout  DEGRADED"));
    CHECK_THAT(text, Catch::Contains("suspect   revision 3, deployed 20m ago"));
    CHECK_THAT(text, Catch::Contains("oncall rollback checkout --to-revision 2"));
    CHECK_THAT(text, Catch::Contains("rollback target"));
    CHECK_THAT(text, Catch::Contains("2x level=error msg=\"db pool exhausted\""));
    // The deploy of revision 3 is marked 20 minutes before the end of the one-hour axis.
    const auto marks = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
        return l.rfind("  deploys", 0) == 0;
    });
    REQUIRE(marks != lines.end());
    const auto er = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
        return l.rfind("  error ratio", 0) == 0;
    });
    REQUIRE(er != lines.end());
    CHECK(render::display_width(*marks) == render::display_width(*er));
}

TEST_CASE("triage: a GitOps-owned Deployment gets the GitOps tool's commands, not a rollback it "
          "would revert",
          "[triage]") {
    auto make = [](std::map<std::string, std::string> labels,
                   std::map<std::string, std::string> annotations) {
        auto f = facts_for("payments", "");
        f.service = "search";
        auto k = kube_facts("search", {revision("search", 3, 8min, 'c', true),
                                       revision("search", 2, 160min, 'b', false),
                                       revision("search", 1, 50h, 'a', false)});
        auto crash = kube::decode_pod(json::parse(read_fixture("kubernetes/pod_crashloop.json")));
        REQUIRE(crash.ok());
        own_by_new_replicaset(k, *crash);
        k.pods = {*crash};
        k.deployment.status.updated_replicas = 1;
        k.deployment.status.replicas = 4;
        k.deployment.metadata.labels.insert(labels.begin(), labels.end());
        k.deployment.metadata.annotations.insert(annotations.begin(), annotations.end());
        f.kube = k;
        return build_report(f);
    };
    auto commands = [](const TriageReport& r) {
        std::string all;
        for (const auto& rec : r.recommendations) {
            all += rec.command + "\n";
        }
        return all;
    };
    const auto argo = make({{"argocd.argoproj.io/instance", "shop-search"}}, {});
    REQUIRE(argo.rollback_target);
    CHECK_THAT(commands(argo), Catch::Contains("argocd app history shop-search") &&
                                   Catch::Contains("argocd app rollback shop-search ID") &&
                                   !Catch::Contains("oncall rollback"));
    const auto tracked =
        make({}, {{"argocd.argoproj.io/tracking-id", "shop-search2:apps/Deployment:shop/search"}});
    CHECK_THAT(commands(tracked), Catch::Contains("argocd app history shop-search2"));
    const auto flux = make({{"kustomize.toolkit.fluxcd.io/name", "apps"},
                            {"kustomize.toolkit.fluxcd.io/namespace", "flux-system"}},
                           {});
    CHECK_THAT(commands(flux), Catch::Contains("flux suspend kustomization apps -n flux-system") &&
                                   Catch::Contains("oncall rollback search --to-revision") &&
                                   Catch::Contains("--force"));
    const auto helm = make({{"helm.toolkit.fluxcd.io/name", "search"}}, {});
    CHECK_THAT(commands(helm), Catch::Contains("flux suspend helmrelease search"));
    const auto plain = make({}, {});
    CHECK_THAT(commands(plain), Catch::Contains("oncall rollback search --to-revision") &&
                                    !Catch::Contains("--force"));
}
