// oncall triage end to end: the default sandbox scenario (checkout degraded by revision 3,
// payments healthy, search crash-looping), failed sources, faults injected in front of each
// backend, post-mortems with --at, the overview of every service, and injection attempts.

#include "fault_proxy.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

using namespace oncall::test;
using nlohmann::json;

namespace {

std::map<std::string, std::string> env_of_sandbox() {
    auto env = sandbox_env();
    env.erase("ONCALL_CONTEXT");
    return env;
}

ProcessOptions with_env(std::map<std::string, std::string> extra = {}) {
    ProcessOptions o;
    o.env = env_of_sandbox();
    for (auto& [k, v] : extra) {
        o.env[k] = v;
    }
    o.unset_env = {"NO_COLOR", "ONCALL_CONTEXT"};
    o.timeout = std::chrono::seconds(60);
    return o;
}

// A copy of the sandbox's config with one URL replaced (to put a proxy or a dead port in front).
std::string config_with(const TempDir& dir, const std::string& from, const std::string& to) {
    std::string text = read_text(env_of_sandbox().at("ONCALL_CONFIG"));
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    return dir.write("config.yaml", text, 0600);
}

json parse_json(const ProcessResult& r) {
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    json j = json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
}

const json& source(const json& report, const std::string& name) {
    for (const auto& s : report.at("sources")) {
        if (s.at("name") == name) {
            return s;
        }
    }
    FAIL("no source " << name);
    throw 0;
}

// A loopback port nobody listens on (a stopped backend).
std::string dead_url() {
    FaultProxy p(FaultProxy::Options{});
    return "http://127.0.0.1:" + std::to_string(p.port()); // closed when p goes out of scope
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string l; std::getline(ss, l);) {
        out.push_back(l);
    }
    return out;
}

// Waits (bounded) until Alertmanager shows `alert` firing for `service`: the fresh practice cluster
// needs a few scrapes and the rule's `for:` before it pages. A precondition, not a timed assertion.
void wait_for_alert(const std::string& service, const std::string& alert) {
    const auto url = env_of_sandbox().at("ALERTMANAGER_URL") +
                     "/api/v2/alerts?filter=service%3D%22" + service +
                     "%22&filter=alertname%3D%22" + alert + "%22&silenced=false&inhibited=false";
    for (int i = 0; i < 120; ++i) {
        const auto r = run_process({"curl", "-sf", url});
        const json j = json::parse(r.out, nullptr, false);
        if (r.exit_code == 0 && j.is_array() && !j.empty()) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    FAIL("alert " << alert << " for " << service << " never fired in the practice cluster");
}

// Display columns of UTF-8 text (every code point one column; the screen uses no wide ones).
int columns(const std::string& s) {
    int n = 0;
    for (unsigned char c : s) {
        n += (c & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
}

} // namespace

TEST_CASE("checkout is degraded: suspect revision 3, roll back to revision 2, exit 8", "[triage]") {
    wait_for_alert("checkout", "HighErrorRatio");
    const auto r = run_oncall({"triage", "checkout", "-o", "json"}, with_env());
    INFO(r.err);
    CHECK(r.exit_code == 8);
    const auto j = parse_json(r);
    CHECK(j["service"] == "checkout");
    CHECK(j["verdict"] == "degraded");
    CHECK(j["since"].is_string());
    REQUIRE(j["suspect"].is_object());
    CHECK(j["suspect"]["revision"] == 3);
    REQUIRE(j["rollback_target"].is_object());
    CHECK(j["rollback_target"]["revision"] == 2);
    std::vector<std::string> commands;
    for (const auto& rec : j["recommendations"]) {
        commands.push_back(rec["command"]);
    }
    REQUIRE(commands.size() >= 2);
    CHECK(commands[0] ==
          R"(oncall request-access checkout --role deployer --for 30m --reason "...")");
    CHECK(commands[1] == "oncall rollback checkout --to-revision 2");
    bool error_ratio_breach = false;
    for (const auto& s : j["signals"]) {
        if (s["name"] == "error_ratio") {
            error_ratio_breach = s["status"] == "breach" && s["now"].get<double>() > 0.05 &&
                                 s["baseline"].get<double>() < 0.01 && s["threshold"] == 0.01;
        }
    }
    CHECK(error_ratio_breach);
    REQUIRE(j["deploys"].size() == 3);
    CHECK(j["deploys"][0]["revision"] == 3);
    CHECK(j["deploys"][0]["current"] == true);
    CHECK(j["deploys"][0]["artifacts"][0].get<std::string>().find("@sha256:") != std::string::npos);
    CHECK(j["rollout"]["state"] == "complete");
    bool paged = false;
    for (const auto& a : j["alerts"]) {
        paged = paged || (a["name"] == "HighErrorRatio" && a["state"] == "active");
    }
    CHECK(paged);
    REQUIRE_FALSE(j["logs"].empty());
    CHECK(j["logs"][0]["pattern"].get<std::string>().find("level=error") != std::string::npos);
    for (const auto& s : j["sources"]) {
        CHECK(s["ok"] == true);
        CHECK(s["error"].is_null());
    }
}

TEST_CASE("the first screen of checkout fits 100 columns by 30 lines", "[triage][screen]") {
    const auto r = run_oncall({"triage", "checkout", "--no-color"}, with_env({{"COLUMNS", "100"}}));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 8);
    const auto lines = lines_of(r.out);
    CHECK(lines.size() <= 30);
    for (const auto& l : lines) {
        CHECK(columns(l) <= 100);
    }
    CHECK(r.out.find('\x1b') == std::string::npos);
    CHECK_THAT(lines.at(0), Catch::StartsWith("checkout  DEGRADED"));
    CHECK_THAT(r.out, Catch::Contains("suspect   revision 3") &&
                          Catch::Contains("rollback target") &&
                          Catch::Contains("oncall rollback checkout --to-revision 2") &&
                          Catch::Contains("db pool exhausted") && Catch::Contains("  deploys"));
}

TEST_CASE("payments is healthy, exit 0", "[triage]") {
    const auto r = run_oncall({"triage", "payments", "-o", "json"}, with_env());
    INFO(r.err);
    CHECK(r.exit_code == 0);
    const auto j = parse_json(r);
    CHECK(j["verdict"] == "healthy");
    CHECK(j["since"].is_null());
    CHECK(j["suspect"].is_null());
    CHECK(j["recommendations"].empty());
    for (const auto& s : j["signals"]) {
        CHECK(s["status"] == "ok");
    }
}

TEST_CASE("search shows a failed or stuck rollout with crash-looping pods", "[triage]") {
    const auto r = run_oncall({"triage", "search", "-o", "json"}, with_env());
    INFO(r.err);
    CHECK(r.exit_code == 8);
    const auto j = parse_json(r);
    CHECK(j["verdict"] == "degraded");
    const auto state = j["rollout"]["state"].get<std::string>();
    CHECK((state == "failed" || state == "progressing"));
    bool crash = false;
    for (const auto& p : j["rollout"]["problems"]) {
        crash = crash || p.get<std::string>().find("CrashLoopBackOff") != std::string::npos;
    }
    CHECK(crash);
    REQUIRE(j["suspect"].is_object());
    CHECK(j["suspect"]["revision"] == 3);
    bool watch = false;
    for (const auto& rec : j["recommendations"]) {
        watch = watch || rec["command"] == "oncall status search --watch";
    }
    CHECK(watch);
}

TEST_CASE("inventory's mutable tag and drifted pod are flagged", "[triage]") {
    const auto r = run_oncall({"triage", "inventory", "-o", "json"}, with_env());
    INFO(r.err);
    const auto j = parse_json(r);
    bool tag = false;
    bool pod = false;
    for (const auto& d : j["drift"]) {
        tag = tag || d["kind"] == "mutable_tag";
        pod = pod || (d["kind"] == "image_mismatch" && d["pod"].is_string() &&
                      d["expected"] != d["running"]);
    }
    CHECK(tag);
    CHECK(pod);
}

TEST_CASE("with Prometheus stopped the report still comes out and names it", "[triage][sources]") {
    TempDir dir;
    const auto dead = dead_url();
    const auto cfg = config_with(dir, env_of_sandbox().at("PROMETHEUS_URL"), dead);
    SECTION("checkout: alerts still fire, degraded, exit 8") {
        wait_for_alert("checkout", "HighErrorRatio");
        const auto r =
            run_oncall({"triage", "checkout", "-o", "json"}, with_env({{"ONCALL_CONFIG", cfg}}));
        CHECK(r.exit_code == 8);
        const auto j = parse_json(r);
        const auto& p = source(j, "prometheus");
        CHECK(p["ok"] == false);
        CHECK_THAT(p["error"].get<std::string>(), Catch::Contains("prometheus at " + dead));
        CHECK(source(j, "alertmanager")["ok"] == true);
        CHECK(source(j, "kubernetes")["ok"] == true);
        CHECK(j["deploys"].size() == 3);
    }
    SECTION("payments: partial, exit 3; the text names the failed source in its place") {
        const auto r =
            run_oncall({"triage", "payments", "--no-color"}, with_env({{"ONCALL_CONFIG", cfg}}));
        CHECK(r.exit_code == 3);
        CHECK_THAT(r.out, Catch::Contains("UNKNOWN") && Catch::Contains("prometheus at " + dead) &&
                              Catch::Contains("DEPLOYS"));
    }
}

TEST_CASE("with Alertmanager stopped the report still comes out and names it",
          "[triage][sources]") {
    TempDir dir;
    const auto dead = dead_url();
    const auto cfg = config_with(dir, env_of_sandbox().at("ALERTMANAGER_URL"), dead);
    const auto r =
        run_oncall({"triage", "checkout", "-o", "json"}, with_env({{"ONCALL_CONFIG", cfg}}));
    CHECK(r.exit_code == 8);
    const auto j = parse_json(r);
    CHECK(source(j, "alertmanager")["ok"] == false);
    CHECK_THAT(source(j, "alertmanager")["error"].get<std::string>(),
               Catch::Contains("alertmanager at " + dead));
    CHECK(j["suspect"]["revision"] == 3);
    const auto p =
        run_oncall({"triage", "payments", "-o", "json"}, with_env({{"ONCALL_CONFIG", cfg}}));
    CHECK(p.exit_code == 3);
    CHECK(parse_json(p)["verdict"] == "unknown");
}

TEST_CASE("faults in front of each backend give a clear per-source error and no crash",
          "[triage][faults]") {
    const auto env = env_of_sandbox();
    struct Backend {
        std::string name;
        std::string url;
        bool tls;
    };
    const std::vector<Backend> backends = {{"prometheus", env.at("PROMETHEUS_URL"), false},
                                           {"alertmanager", env.at("ALERTMANAGER_URL"), false},
                                           {"kubernetes", env.at("ONCALL_SANDBOX_URL"), true}};
    struct Fault {
        const char* label;
        std::vector<std::pair<std::string, std::string>> settings;
    };
    const std::vector<Fault> faults = {
        {"delay past the deadline", {{"delay-ms", "2500"}}},
        {"500", {{"mode", "status"}, {"status", "500"}}},
        {"connection reset", {{"mode", "reset"}}},
        {"HTML error page", {{"mode", "html_page"}, {"html-status", "200"}}},
        {"truncated JSON", {{"mode", "truncated_json"}, {"truncated-length-matches", "true"}}},
        {"oversized body", {{"mode", "oversized"}, {"oversized-bytes", "40000000"}}},
    };
    for (const auto& b : backends) {
        FaultProxy::Options po;
        po.upstream = b.url;
        if (b.tls) {
            po.ca_file = env.at("ONCALL_SANDBOX_CA");
        }
        FaultProxy proxy(po);
        TempDir dir;
        const auto cfg = config_with(dir, b.url, proxy.url());
        for (const auto& f : faults) {
            DYNAMIC_SECTION(b.name << ": " << f.label) {
                FaultSettings s;
                for (const auto& [k, v] : f.settings) {
                    REQUIRE(apply_fault_setting(s, k, v).empty());
                }
                proxy.set(s);
                const auto r = run_oncall({"triage", "payments", "-o", "json", "--timeout", "2s"},
                                          with_env({{"ONCALL_CONFIG", cfg}}));
                INFO(r.err);
                CHECK(r.exit_code == 3);
                const auto j = parse_json(r);
                const auto& src = source(j, b.name);
                CHECK(src["ok"] == false);
                REQUIRE(src["error"].is_string());
                const auto message = src["error"].get<std::string>();
                CHECK_THAT(message, Catch::Contains(b.name + " at "));
                CHECK(message.size() < 400);
                for (const auto& other : j["sources"]) {
                    if (other["name"] != b.name) {
                        CHECK(other["ok"] == true);
                    }
                }
                if (f.settings[0].first == "delay-ms") {
                    CHECK_THAT(message, Catch::Contains("timed out after 2s"));
                }
            }
        }
    }
}

TEST_CASE("a post-mortem with at answers as of a past time", "[triage]") {
    // Half an hour ago revision 3 (deployed 20 minutes ago) did not exist and checkout was fine.
    const auto r = run_oncall({"triage", "checkout", "--at", "30m", "-o", "json"}, with_env());
    INFO(r.err);
    CHECK(r.exit_code == 0);
    const auto j = parse_json(r);
    CHECK(j["verdict"] == "healthy");
    for (const auto& d : j["deploys"]) {
        CHECK(d["revision"] != 3);
    }
    // Alertmanager keeps no history: the alerts of that moment come from Prometheus' ALERTS series.
    CHECK(source(j, "alertmanager")["ok"] == true);
    CHECK_THAT(source(j, "alertmanager")["warnings"][0].get<std::string>(),
               Catch::Contains("ALERTS"));
    CHECK(j["alerts"].empty());
    const auto bad = run_oncall({"triage", "checkout", "--at", "tomorrow"}, with_env());
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("--at"));
}

TEST_CASE("the overview lists every service worst first and exits with the worst code",
          "[triage]") {
    const auto r = run_oncall({"triage", "-o", "json"}, with_env());
    INFO(r.err);
    CHECK(r.exit_code == 8);
    const auto j = parse_json(r);
    std::vector<std::string> names;
    for (const auto& s : j["services"]) {
        names.push_back(s["service"]);
    }
    for (const char* want : {"checkout", "payments", "search", "inventory"}) {
        CHECK(std::find(names.begin(), names.end(), want) != names.end());
    }
    REQUIRE(j["services"].size() >= 4);
    CHECK(j["services"][0]["verdict"] == "degraded");
    CHECK(j["services"].back()["verdict"] == "healthy");
    const auto text = run_oncall({"triage", "--no-color"}, with_env({{"COLUMNS", "100"}}));
    CHECK(text.exit_code == 8);
    CHECK_THAT(text.out, Catch::Contains("SERVICE") && Catch::Contains("checkout") &&
                             Catch::Contains("revision 3"));
}

TEST_CASE("a service name or selector that tries to inject is refused before anything is sent",
          "[triage]") {
    const auto env = env_of_sandbox();
    FaultProxy::Options po;
    po.upstream = env.at("PROMETHEUS_URL");
    FaultProxy proxy(po);
    TempDir dir;
    const auto cfg = config_with(dir, env.at("PROMETHEUS_URL"), proxy.url());
    for (const std::string name :
         {R"(checkout"} or vector(1) or up{x=")", "../../api/v1/admin/tsdb/delete_series",
          "checkout,code=\"500\""}) {
        const auto r = run_oncall({"triage", name}, with_env({{"ONCALL_CONFIG", cfg}}));
        INFO(name << ": " << r.err);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains("oncall: error:"));
    }
    // A configured selector that breaks out of its braces.
    std::string text = read_text(cfg);
    text += "  evil:\n    selector: 'service=\"x\"} or vector(1) or up{a=\"b\"'\n";
    const auto evil_cfg = dir.write("evil.yaml", text, 0600);
    const auto r = run_oncall({"triage", "evil"}, with_env({{"ONCALL_CONFIG", evil_cfg}}));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("selector"));
    CHECK(proxy.request_count() == 0);
}
