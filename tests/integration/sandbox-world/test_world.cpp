// The practice cluster against its real parts: docker-registry, Prometheus, Alertmanager, kubectl.
// Waits are bounded numbers of tries; nothing asserts on how long anything took.

#include "process.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <httplib.h>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>
#include <thread>

using oncall::test::ProcessOptions;
using oncall::test::run_process;
using json = nlohmann::json;

namespace {

std::map<std::string, std::string>& env() {
    static auto values = oncall::test::sandbox_env();
    return values;
}

std::string scenario_path() {
    return oncall::test::required_env("ONCALL_SOURCE_DIR") +
           "/examples/sandbox/scenarios/bad-deploy.yaml";
}

// GET url+path with query parameters; the body, REQUIRE-d to answer 200.
std::string http_get(const std::string& base, const std::string& path,
                     const httplib::Params& params = {}, const httplib::Headers& headers = {}) {
    httplib::Client client(base);
    client.set_read_timeout(std::chrono::seconds(10));
    auto res = client.Get(path, params, headers, httplib::Progress());
    REQUIRE(res);
    INFO(base << path << ": " << res->body);
    REQUIRE(res->status == 200);
    return res->body;
}

// Prometheus instant query; result vector as label set (of `by`) -> value.
std::map<std::string, double> prom_query(const std::string& query, const std::string& by) {
    const auto body =
        json::parse(http_get(env().at("PROMETHEUS_URL"), "/api/v1/query", {{"query", query}}));
    REQUIRE(body.at("status") == "success");
    std::map<std::string, double> out;
    for (const auto& r : body.at("data").at("result")) {
        out[r.at("metric").value(by, std::string())] =
            std::stod(r.at("value").at(1).get<std::string>());
    }
    return out;
}

// Runs `check` up to `tries` times, one second apart, until it returns true.
bool eventually(int tries, const std::function<bool()>& check) {
    for (int i = 0; i < tries; ++i) {
        if (check()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return false;
}

ProcessOptions kube_options() {
    ProcessOptions o;
    o.env["KUBECONFIG"] = env().at("KUBECONFIG");
    o.timeout = std::chrono::seconds(90);
    return o;
}

// "repository:tag" -> manifest digest, for the images seeding pushes, from the sandbox binary
// itself.
std::map<std::string, std::pair<std::string, bool>> scenario_images() {
    const auto r = run_process({oncall::test::required_env("ONCALL_SANDBOX_BIN"), "describe",
                                "--scenario", scenario_path()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::map<std::string, std::pair<std::string, bool>> out;
    std::istringstream in(r.out);
    std::string kind, key, digest, behavior, where;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        fields >> kind;
        if (kind == "image") {
            fields >> key >> digest >> behavior >> where;
            out[key] = {digest, where == "in-registry"};
        }
    }
    return out;
}

const char* k_manifest_accept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

double error_ratio_at(const std::string& window) {
    const auto r = prom_query(
        "sum by (service) (rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[" + window +
            "])) / sum by (service) (rate(http_requests_total{service=\"checkout\"}[" + window +
            "]))",
        "service");
    return r.count("checkout") != 0 ? r.at("checkout") : NAN;
}

} // namespace

TEST_CASE("the launcher wrote a usable env, config and kubeconfig", "[sandbox-world]") {
    for (const char* key : {"ONCALL_CONFIG", "KUBECONFIG", "ONCALL_SANDBOX_URL", "PROMETHEUS_URL",
                            "ALERTMANAGER_URL", "REGISTRY_URL", "ONCALL_K8S_TOKEN_FILE",
                            "ONCALL_SANDBOX_CA", "ONCALL_SANDBOX_EPOCH", "XDG_STATE_HOME"}) {
        INFO(key);
        REQUIRE(env().count(key) == 1);
        CHECK_FALSE(env().at(key).empty());
    }
    for (const char* key :
         {"ONCALL_SANDBOX_URL", "PROMETHEUS_URL", "ALERTMANAGER_URL", "REGISTRY_URL"}) {
        CHECK(env().at(key).find("://127.0.0.1:") != std::string::npos);
    }
    struct stat st {};
    REQUIRE(stat(env().at("ONCALL_K8S_TOKEN_FILE").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(env().at("XDG_STATE_HOME").rfind(oncall::test::required_env("ONCALL_SANDBOX_STATE"), 0) ==
          0);

    ProcessOptions o;
    o.env["ONCALL_CONFIG"] = env().at("ONCALL_CONFIG");
    const auto contexts = oncall::test::run_oncall({"config", "get-contexts"}, o);
    INFO(contexts.out << contexts.err);
    CHECK(contexts.exit_code == 0);
    CHECK(contexts.out.find("sandbox") != std::string::npos);

    const auto deployments =
        run_process({"kubectl", "get", "deployments", "-o", "name"}, kube_options());
    INFO(deployments.err);
    REQUIRE(deployments.exit_code == 0);
    for (const char* name : {"checkout", "payments", "search", "inventory"}) {
        CHECK(deployments.out.find(std::string("deployment.apps/") + name) != std::string::npos);
    }

    // up again while everything runs changes nothing; status says all run.
    const auto launcher =
        oncall::test::required_env("ONCALL_SOURCE_DIR") + "/examples/sandbox/sandbox";
    const auto state = oncall::test::required_env("ONCALL_SANDBOX_STATE");
    const auto again = run_process({launcher, "up", "--state-dir", state});
    INFO(again.err);
    CHECK(again.exit_code == 0);
    CHECK(again.err.find("already running") != std::string::npos);
    CHECK(run_process({launcher, "status", "--state-dir", state}).exit_code == 0);
    CHECK(oncall::test::sandbox_env().at("PROMETHEUS_URL") == env().at("PROMETHEUS_URL"));
}

TEST_CASE("the registry holds every scenario image by the digest the scenario gives it",
          "[sandbox-world]") {
    const auto images = scenario_images();
    REQUIRE(images.size() >= 10);
    httplib::Client registry(env().at("REGISTRY_URL"));
    for (const auto& [key, entry] : images) {
        const auto& [digest, in_registry] = entry;
        const auto colon = key.rfind(':');
        const auto repository = key.substr(0, colon);
        const auto tag = key.substr(colon + 1);
        auto res = registry.Head("/v2/" + repository + "/manifests/" + tag,
                                 {{"Accept", k_manifest_accept}});
        REQUIRE(res);
        INFO(key);
        if (!in_registry) {
            CHECK(res->status == 404);
            continue;
        }
        REQUIRE(res->status == 200);
        CHECK(res->get_header_value("Docker-Content-Digest") == digest);
        CHECK(res->get_header_value("Content-Type") ==
              "application/vnd.oci.image.manifest.v1+json");
        auto by_digest = registry.Head("/v2/" + repository + "/manifests/" + digest,
                                       {{"Accept", k_manifest_accept}});
        REQUIRE(by_digest);
        CHECK(by_digest->status == 200);
    }

    // The Deployment pins the digest the registry serves for revision 3's tag.
    const auto image = run_process({"kubectl", "get", "deployment", "checkout", "-o",
                                    "jsonpath={.spec.template.spec.containers[0].image}"},
                                   kube_options());
    INFO(image.err);
    REQUIRE(image.exit_code == 0);
    const auto host = env().at("REGISTRY_URL").substr(std::string("http://").size());
    CHECK(image.out == host + "/shop/checkout@" + images.at("shop/checkout:1.2.2").first);
}

TEST_CASE("Prometheus holds the backfilled history of the scenario", "[sandbox-world]") {
    const auto epoch_text = env().at("ONCALL_SANDBOX_EPOCH");
    std::tm tm{};
    REQUIRE(strptime(epoch_text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) != nullptr);
    const long epoch = static_cast<long>(timegm(&tm));
    const auto body = json::parse(http_get(
        env().at("PROMETHEUS_URL"), "/api/v1/query_range",
        {{"query", "sum(rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[1m])) / "
                   "sum(rate(http_requests_total{service=\"checkout\"}[1m]))"},
         {"start", std::to_string(epoch - 30 * 60)},
         {"end", std::to_string(epoch)},
         {"step", "60"}}));
    REQUIRE(body.at("status") == "success");
    REQUIRE(body.at("data").at("result").size() == 1);
    int before = 0, after = 0;
    for (const auto& point : body.at("data").at("result")[0].at("values")) {
        const long t = point.at(0).get<long>();
        const double ratio = std::stod(point.at(1).get<std::string>());
        INFO("t = epoch" << (t - epoch) << "s, ratio " << ratio);
        if (t <= epoch - 21 * 60) {
            CHECK(ratio < 0.01); // revision 2
            ++before;
        } else if (t >= epoch - 18 * 60) {
            CHECK(ratio > 0.08); // revision 3: ~12 %
            CHECK(ratio < 0.16);
            ++after;
        }
    }
    CHECK(before >= 8);
    CHECK(after >= 17);

    // payments was healthy all along.
    const auto payments = json::parse(http_get(
        env().at("PROMETHEUS_URL"), "/api/v1/query",
        {{"query",
          "max_over_time((sum(rate(http_requests_total{service=\"payments\",code=~\"5..\"}[1m])) / "
          "sum(rate(http_requests_total{service=\"payments\"}[1m])))[2h:1m])"},
         {"time", std::to_string(epoch)}}));
    REQUIRE(payments.at("data").at("result").size() == 1);
    CHECK(std::stod(payments.at("data").at("result")[0].at("value").at(1).get<std::string>()) <
          0.01);
}

TEST_CASE("checkout's alert fires while revision 3 runs and its errors stop after a rollback to "
          "revision 2",
          "[sandbox-world]") {
    // Alertmanager shows the page for checkout (rules: 5xx ratio > 5% for 10s).
    json firing;
    const bool fired = eventually(90, [&] {
        const auto alerts = json::parse(http_get(env().at("ALERTMANAGER_URL"), "/api/v2/alerts",
                                                 {{"filter", "alertname=\"HighErrorRatio\""},
                                                  {"filter", "service=\"checkout\""},
                                                  {"active", "true"}}));
        for (const auto& a : alerts) {
            if (a.at("status").at("state") == "active") {
                firing = a;
                return true;
            }
        }
        return false;
    });
    REQUIRE(fired);
    CHECK(firing.at("labels").at("severity") == "page");
    CHECK(firing.at("labels").at("namespace") == "shop");
    CHECK(firing.at("annotations").at("summary").get<std::string>().find("checkout") !=
          std::string::npos);
    // payments is healthy: no such alert.
    const auto payments = json::parse(
        http_get(env().at("ALERTMANAGER_URL"), "/api/v2/alerts",
                 {{"filter", "alertname=\"HighErrorRatio\""}, {"filter", "service=\"payments\""}}));
    CHECK(payments.empty());
    CHECK(error_ratio_at("30s") > 0.05);

    // Roll back with real kubectl and a deployer token, as an engineer would.
    const auto token = run_process(
        {"kubectl", "create", "token", "oncall-deployer", "--duration=10m"}, kube_options());
    INFO(token.err);
    REQUIRE(token.exit_code == 0);
    std::string deployer = token.out;
    while (!deployer.empty() && (deployer.back() == '\n' || deployer.back() == ' ')) {
        deployer.pop_back();
    }
    REQUIRE_FALSE(deployer.empty());
    const auto undo = run_process({"kubectl", "--token", deployer, "rollout", "undo",
                                   "deployment/checkout", "--to-revision=2"},
                                  kube_options());
    INFO(undo.out << undo.err);
    REQUIRE(undo.exit_code == 0);
    const auto status = run_process(
        {"kubectl", "rollout", "status", "deployment/checkout", "--timeout=120s"}, kube_options());
    INFO(status.out << status.err);
    REQUIRE(status.exit_code == 0);

    // Prometheus sees the healthy image's error ratio within a bounded number of 2 s scrapes.
    double last = NAN;
    const bool recovered = eventually(60, [&] {
        last = error_ratio_at("10s");
        return !std::isnan(last) && last < 0.01;
    });
    INFO("last error ratio " << last);
    CHECK(recovered);
}
