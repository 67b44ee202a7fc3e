// Triage through monitoring as people run it: real Prometheus and Alertmanager behind Basic auth
// (bcrypt users in --web.config.file) and, in another case, behind TLS that requires a client
// certificate; a tenant header checked by a recording proxy; the in-cluster Prometheus and
// Alertmanager reached through the API server's service proxy (kube-service). The authenticated
// Prometheus reads the practice cluster's Prometheus by remote read, so every path must give the
// same triage answer as the direct one.

#include "fault_proxy.h"
#include "servers.h"
#include "test_server.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace oncall::test;
using nlohmann::json;

namespace {

const std::string k_monitoring_password = "prom-pass-4b1d-never-printed";

// The answer of triage with the practice cluster's own configuration (direct URLs, no auth).
json direct_triage(const std::string& service) {
    TempDir state;
    ProcessOptions o;
    o.env = cluster_env();
    o.env["XDG_STATE_HOME"] = state.path();
    o.unset_env = {"ONCALL_CONTEXT"};
    const auto r = run_oncall({"triage", service, "-o", "json"}, o);
    INFO(r.err);
    REQUIRE(r.exit_code == 8); // checkout is degraded by revision 3 in the practice cluster
    json report = json_of(r);
    REQUIRE(report.at("verdict") == "degraded");
    REQUIRE(report.at("suspect").at("revision") == 3);
    return report;
}

// The parts of a report that must not depend on how the sources were reached.
void check_same_answer(const json& got, const json& direct) {
    CHECK(got.at("verdict") == direct.at("verdict"));
    // The revision, not the reason: its numbers move with the live traffic between the two runs.
    CHECK(got.at("suspect").at("revision") == direct.at("suspect").at("revision"));
    CHECK(got.at("exit_code") == direct.at("exit_code"));
    std::map<std::string, std::string> got_status;
    std::map<std::string, std::string> direct_status;
    for (const auto& s : got.at("signals")) {
        got_status[s.at("name")] = s.at("status");
    }
    for (const auto& s : direct.at("signals")) {
        direct_status[s.at("name")] = s.at("status");
    }
    CHECK(got_status == direct_status);
    for (const auto& s : got.at("sources")) {
        INFO(s.dump());
        CHECK(s.at("ok") == true);
    }
}

std::string prometheus_config(const TempDir& dir) {
    // Reads the practice cluster's Prometheus (with its backfilled history) by remote read.
    return dir.write("prometheus.yml", "global: { scrape_interval: 15s }\nremote_read:\n  - url: " +
                                           cluster_env().at("PROMETHEUS_URL") +
                                           "/api/v1/read\n    read_recent: true\n");
}

std::string alertmanager_config(const TempDir& dir) {
    return dir.write("alertmanager.yml",
                     "route: { receiver: nowhere }\nreceivers: [ { name: nowhere } ]\n");
}

struct Monitoring {
    int prometheus_port = free_port();
    int alertmanager_port = free_port();
    std::unique_ptr<Daemon> prometheus;
    std::unique_ptr<Daemon> alertmanager;

    // Starts both with the given web config (TLS and/or basic auth).
    Monitoring(const TempDir& dir, const std::string& web_config) {
        prometheus = std::make_unique<Daemon>(
            std::vector<std::string>{"prometheus", "--config.file=" + prometheus_config(dir),
                                     "--storage.tsdb.path=" + dir.path() + "/prometheus-data",
                                     "--web.listen-address=127.0.0.1:" +
                                         std::to_string(prometheus_port),
                                     "--web.config.file=" + web_config},
            dir.path() + "/prometheus.log");
        alertmanager = std::make_unique<Daemon>(
            std::vector<std::string>{
                "prometheus-alertmanager", "--config.file=" + alertmanager_config(dir),
                "--storage.path=" + dir.path() + "/alertmanager-data",
                "--web.listen-address=127.0.0.1:" + std::to_string(alertmanager_port),
                "--cluster.listen-address=", "--web.config.file=" + web_config},
            dir.path() + "/alertmanager.log");
    }
};

} // namespace

TEST_CASE("Prometheus and Alertmanager behind Basic auth: triage complete, wrong or missing "
          "credentials name the "
          "endpoint and 401",
          "[endpoints][basic-auth]") {
    TempDir dir;
    const std::string hash = bcrypt_line("oncall", k_monitoring_password);
    const std::string web =
        dir.write("web.yml", "basic_auth_users:\n  " + hash.substr(0, hash.find(':')) + ": '" +
                                 hash.substr(hash.find(':') + 1) + "'\n");
    Monitoring m(dir, web);
    const std::string prom_url = "http://127.0.0.1:" + std::to_string(m.prometheus_port);
    const std::string am_url = "http://127.0.0.1:" + std::to_string(m.alertmanager_port);
    wait_until_ready(*m.prometheus,
                     {"-u", "oncall:" + k_monitoring_password, prom_url + "/-/ready"});
    wait_until_ready(*m.alertmanager,
                     {"-u", "oncall:" + k_monitoring_password, am_url + "/-/ready"});
    // Without credentials both refuse (the servers really check).
    CHECK(run_process({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                       prom_url + "/api/v1/query?query=up"})
              .out == "401");
    // An alert only this Alertmanager has, so the report shows it was read.
    const auto posted = run_process(
        {"curl", "-sf", "-u", "oncall:" + k_monitoring_password, "-H",
         "Content-Type: application/json", "-d",
         R"([{"labels":{"alertname":"BehindBasicAuth","service":"checkout","severity":"page"}}])",
         am_url + "/api/v2/alerts"});
    REQUIRE(posted.exit_code == 0);

    const json direct = direct_triage("checkout");
    const std::string password_file =
        dir.write("prometheus.password", k_monitoring_password + "\n", 0600);
    const std::string config = write_config(
        dir,
        "{ url: " + prom_url + ", basic-auth: { username: oncall, password-file: " + password_file +
            " } }",
        "{ url: " + am_url + ", basic-auth: { username: oncall, password-env: AM_PASSWORD } }");
    TempDir state;
    auto r = oncall_with(config, state, {"triage", "checkout", "-o", "json", "-v"},
                         {{"AM_PASSWORD", k_monitoring_password}});
    INFO(r.err);
    const json report = json_of(r);
    check_same_answer(report, direct);
    bool seen = false;
    for (const auto& a : report.at("alerts")) {
        seen = seen || a.at("name") == "BehindBasicAuth";
    }
    CHECK(seen);
    CHECK_THAT(r.err, Catch::Contains("Authorization: Basic <redacted> (user 'oncall')"));
    const std::string basic = base64("oncall:" + k_monitoring_password);
    for (const auto& text : {r.out, r.err, all_files_under(state.path())}) {
        CHECK(text.find(k_monitoring_password) == std::string::npos);
        CHECK(text.find(basic) == std::string::npos);
    }

    // A wrong password: each source fails naming its endpoint, the 401 and where the password came
    // from.
    r = oncall_with(config, state, {"triage", "checkout", "-o", "json"},
                    {{"AM_PASSWORD", "not-the-password"}});
    json failed = json_of(r);
    CHECK(r.exit_code != 0);
    const json am = source_of(failed, "alertmanager");
    CHECK(am.at("ok") == false);
    CHECK_THAT(am.at("error").get<std::string>(),
               Catch::Contains(am_url) && Catch::Contains("401") &&
                   Catch::Contains("basic-auth user 'oncall' (password from $AM_PASSWORD)"));
    CHECK(source_of(failed, "prometheus").at("ok") == true);
    CHECK(r.out.find("not-the-password") == std::string::npos);

    // No credentials configured at all: the 401 says so.
    const std::string bare =
        write_config(dir, "{ url: " + prom_url + " }", "{ url: " + am_url + " }");
    r = oncall_with(bare, state, {"triage", "checkout", "-o", "json"});
    failed = json_of(r);
    CHECK(r.exit_code != 0);
    const json prom = source_of(failed, "prometheus");
    CHECK(prom.at("ok") == false);
    CHECK_THAT(prom.at("error").get<std::string>(),
               Catch::Contains(prom_url) && Catch::Contains("401") &&
                   Catch::Contains("no credentials are configured"));

    // The text report names the failed source the same way.
    r = oncall_with(bare, state, {"triage", "checkout", "--no-color"});
    CHECK_THAT(r.out + r.err, Catch::Contains("401"));
}

TEST_CASE("Prometheus and Alertmanager behind TLS requiring a client certificate",
          "[endpoints][mtls]") {
    TempDir dir;
    std::filesystem::create_directories(dir.path() + "/pki");
    const TestPki pki = make_test_pki(dir.path() + "/pki");
    const TestClientCert client = make_test_client_cert(dir.path() + "/pki", "oncall-triage");
    TempDir other;
    std::filesystem::create_directories(other.path() + "/pki");
    make_test_pki(other.path() + "/pki");
    const TestClientCert stranger = make_test_client_cert(other.path() + "/pki", "somebody-else");
    const std::string web =
        dir.write("web.yml", "tls_server_config:\n  cert_file: " + pki.cert_file +
                                 "\n  key_file: " + pki.key_file +
                                 "\n  client_auth_type: RequireAndVerifyClientCert\n"
                                 "  client_ca_file: " +
                                 pki.ca_file + "\n");
    Monitoring m(dir, web);
    const std::string prom_url = "https://127.0.0.1:" + std::to_string(m.prometheus_port);
    const std::string am_url = "https://127.0.0.1:" + std::to_string(m.alertmanager_port);
    const std::vector<std::string> tls = {"--cacert",       pki.ca_file, "--cert",
                                          client.cert_file, "--key",     client.key_file};
    auto ready = tls;
    ready.push_back(prom_url + "/-/ready");
    wait_until_ready(*m.prometheus, ready);
    ready.back() = am_url + "/-/ready";
    wait_until_ready(*m.alertmanager, ready);

    const json direct = direct_triage("checkout");
    const auto endpoint = [&](const std::string& url, const TestClientCert* cert) {
        std::string yaml = "{ url: " + url + ", ca-file: " + pki.ca_file;
        if (cert != nullptr) {
            yaml += ", cert-file: " + cert->cert_file + ", key-file: " + cert->key_file;
        }
        return yaml + " }";
    };
    TempDir state;
    const std::string config =
        write_config(dir, endpoint(prom_url, &client), endpoint(am_url, &client));
    auto r = oncall_with(config, state, {"triage", "checkout", "-o", "json", "-v"});
    INFO(r.err);
    check_same_answer(json_of(r), direct);
    std::ifstream key_in(client.key_file);
    std::string key_line;
    std::getline(key_in, key_line); // -----BEGIN ... KEY-----
    std::getline(key_in, key_line); // the first line of key material
    REQUIRE(key_line.size() > 20);
    CHECK(r.out.find(key_line) == std::string::npos);
    CHECK(r.err.find(key_line) == std::string::npos);

    // Without a client certificate, or with one from another CA, the handshake fails: named, not
    // hidden.
    for (const TestClientCert* cert : {static_cast<const TestClientCert*>(nullptr), &stranger}) {
        const std::string refused =
            write_config(other, endpoint(prom_url, cert), endpoint(am_url, cert));
        r = oncall_with(refused, state, {"triage", "checkout", "-o", "json"});
        const json failed = json_of(r);
        CHECK(r.exit_code != 0);
        for (const auto& [name, url] : {std::pair<std::string, std::string>{"prometheus", prom_url},
                                        {"alertmanager", am_url}}) {
            const json s = source_of(failed, name);
            INFO(s.dump());
            CHECK(s.at("ok") == false);
            CHECK_THAT(s.at("error").get<std::string>(), Catch::Contains(url));
        }
    }
}

TEST_CASE("a tenant header reaches Prometheus and Alertmanager with every request",
          "[endpoints][headers]") {
    const auto env = cluster_env();
    FaultProxy::Options prom_options;
    prom_options.upstream = env.at("PROMETHEUS_URL");
    FaultProxy::Options am_options;
    am_options.upstream = env.at("ALERTMANAGER_URL");
    FaultProxy prom_proxy(prom_options);
    FaultProxy am_proxy(am_options);
    const json direct = direct_triage("checkout");
    TempDir dir;
    const std::string config =
        write_config(dir, "{ url: " + prom_proxy.url() + ", headers: { X-Scope-OrgID: tenant-7 } }",
                     "{ url: " + am_proxy.url() +
                         ", headers: { X-Scope-OrgID: tenant-7, X-Grafana-Org-Id: '3' } }");
    TempDir state;
    const auto r = oncall_with(config, state, {"triage", "checkout", "-o", "json"});
    INFO(r.err);
    check_same_answer(json_of(r), direct);
    const auto prom_requests = prom_proxy.requests();
    const auto am_requests = am_proxy.requests();
    REQUIRE(prom_requests.size() >= 3);
    REQUIRE_FALSE(am_requests.empty());
    for (const auto& q : prom_requests) {
        CHECK(q.header("X-Scope-OrgID") == "tenant-7");
        CHECK(q.header("Authorization").empty());
    }
    for (const auto& q : am_requests) {
        CHECK(q.header("X-Scope-OrgID") == "tenant-7");
        CHECK(q.header("X-Grafana-Org-Id") == "3");
    }
}

TEST_CASE(
    "in-cluster Prometheus and Alertmanager through the API server's service proxy (kube-service)",
    "[endpoints][kube-service]") {
    const auto env = cluster_env();
    // The fidelity oracle: real kubectl reads Prometheus through the sandbox's service proxy.
    ProcessOptions k;
    k.env = env;
    json up;
    // A fresh practice cluster has `up` after Prometheus' first scrape (2 s): wait for it, bounded.
    for (int i = 0; i < 50 && (up.is_null() || up.at("data").at("result").empty()); ++i) {
        if (i > 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        const auto raw = run_process(
            {"kubectl", "get", "--raw",
             "/api/v1/namespaces/monitoring/services/prometheus:web/proxy/api/v1/query?query=up"},
            k);
        INFO(raw.err);
        REQUIRE(raw.exit_code == 0);
        up = json::parse(raw.out, nullptr, false);
        REQUIRE_FALSE(up.is_discarded());
        REQUIRE(up.at("status") == "success");
    }
    REQUIRE_FALSE(up.at("data").at("result").empty());
    CHECK(up.at("data").at("result").at(0).at("metric").at("job") == "oncall-sandbox");
    const auto alerts = run_process(
        {"kubectl", "get", "--raw",
         "/api/v1/namespaces/monitoring/services/alertmanager:9093/proxy/api/v2/status"},
        k);
    CHECK(alerts.exit_code == 0);
    CHECK_THAT(alerts.out, Catch::Contains("versionInfo"));
    const auto unknown = run_process(
        {"kubectl", "get", "--raw", "/api/v1/namespaces/monitoring/services/nope:web/proxy/"}, k);
    CHECK(unknown.exit_code != 0);
    CHECK_THAT(unknown.err, Catch::Contains("not found"));

    const json direct = direct_triage("checkout");
    TempDir dir;
    TempDir state;
    const std::string config =
        write_config(dir, "{ kube-service: " + env.at("PROMETHEUS_KUBE_SERVICE") + " }",
                     "{ kube-service: " + env.at("ALERTMANAGER_KUBE_SERVICE") + " }");
    auto r = oncall_with(config, state, {"triage", "checkout", "-o", "json"});
    INFO(r.err);
    const json report = json_of(r);
    check_same_answer(report, direct);
    CHECK_THAT(source_of(report, "prometheus").at("url").get<std::string>(),
               Catch::Contains(env.at("ONCALL_SANDBOX_URL") +
                               "/api/v1/namespaces/monitoring/services/prometheus:web/proxy"));
    CHECK(report.at("alerts").size() == direct.at("alerts").size());

    // A Service that does not exist: the source fails naming it, the others still answer.
    const std::string wrong =
        write_config(dir, "{ kube-service: monitoring/prometheus-k8s:web }",
                     "{ kube-service: " + env.at("ALERTMANAGER_KUBE_SERVICE") + " }");
    r = oncall_with(wrong, state, {"triage", "checkout", "-o", "json"});
    const json failed = json_of(r);
    CHECK(r.exit_code != 0);
    CHECK(source_of(failed, "prometheus").at("ok") == false);
    CHECK_THAT(source_of(failed, "prometheus").at("error").get<std::string>(),
               Catch::Contains("services/prometheus-k8s:web/proxy") && Catch::Contains("404"));
    CHECK(source_of(failed, "alertmanager").at("ok") == true);
}
