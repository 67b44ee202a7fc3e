// No oncall configuration file: triage, history, status and rollback --dry-run from a kubeconfig
// alone; Prometheus and Alertmanager from $ONCALL_PROMETHEUS_URL / $ONCALL_ALERTMANAGER_URL;
// client-certificate kubeconfigs, a KUBECONFIG=a:b pair and a cluster behind a SOCKS5 proxy, with
// real kubectl beside oncall.

#include "fault_proxy.h"
#include "sandbox_kube.h"
#include "test_server.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace oncall::test;
using nlohmann::json;

namespace {

std::string token_user(const kube_test::Workspace& ws) {
    return "    token: " + ws.token() + "\n";
}

const json* source(const json& report, const std::string& name) {
    for (const auto& s : report.at("sources")) {
        if (s.at("name") == name) {
            return &s;
        }
    }
    return nullptr;
}

} // namespace

TEST_CASE("no configuration file: history, status and the implicit context from the kubeconfig",
          "[kubeconfig][no-config]") {
    kube_test::Workspace ws;
    const std::string kubeconfig = ws.kubeconfig("config", token_user(ws));
    const auto options = ws.env(kubeconfig);

    auto history = run_oncall({"history", "checkout", "-o", "json"}, options);
    INFO(history.err);
    REQUIRE(history.exit_code == 0);
    CHECK(json::parse(history.out).at("revisions").size() ==
          3); // namespace shop from the kubeconfig context

    auto status = run_oncall({"status", "checkout", "-o", "json"}, options);
    INFO(status.err);
    REQUIRE((status.exit_code == 0 || status.exit_code == 7));
    CHECK(json::parse(status.out).at("service") == "checkout");

    auto view = run_oncall({"config", "view", "-o", "json"}, options);
    INFO(view.err);
    REQUIRE(view.exit_code == 0);
    const json v = json::parse(view.out);
    CHECK(v.at("current-context") == "practice");
    const json& ctx = v.at("contexts").at("practice");
    CHECK(ctx.at("implicit") == true);
    CHECK(ctx.at("kubernetes").at("namespace") == "shop");
    CHECK(ctx.at("kubernetes").at("resolved").at("server") == ws.sandbox.at("ONCALL_SANDBOX_URL"));
    CHECK(ctx.at("kubernetes").at("resolved").at("auth") == "token");
    CHECK(view.out.find(ws.token()) == std::string::npos);

    // --context names a kubeconfig context; an unknown one is a configuration error.
    auto unknown = run_oncall({"history", "checkout", "--context", "nope"}, options);
    CHECK(unknown.exit_code == 2);
    CHECK(unknown.err.find("context 'nope' was not found") != std::string::npos);
}

TEST_CASE(
    "no configuration file: triage skips unconfigured sources without exit 3, and is complete with "
    "the two environment variables",
    "[kubeconfig][no-config]") {
    kube_test::Workspace ws;
    const std::string kubeconfig = ws.kubeconfig("config", token_user(ws));
    auto options = ws.env(kubeconfig);

    auto bare = run_oncall({"triage", "checkout", "-o", "json"}, options);
    INFO(bare.err);
    CHECK(bare.exit_code != 3);
    const json report = json::parse(bare.out);
    for (const char* name : {"prometheus", "alertmanager"}) {
        const json* s = source(report, name);
        REQUIRE(s != nullptr);
        CHECK(s->at("ok") == false);
        CHECK(s->at("skipped") == true);
        CHECK(s->at("error") == "not configured");
    }
    REQUIRE(source(report, "kubernetes") != nullptr);
    CHECK(source(report, "kubernetes")->at("ok") == true);
    auto text = run_oncall({"triage", "checkout"}, options);
    CHECK(text.out.find("within their SLO") == std::string::npos);
    CHECK(text.out.find("metrics were not checked") != std::string::npos);

    options.env["ONCALL_PROMETHEUS_URL"] = ws.sandbox.at("PROMETHEUS_URL");
    options.env["ONCALL_ALERTMANAGER_URL"] =
        ws.sandbox.at("ALERTMANAGER_URL") + "," + ws.sandbox.at("ALERTMANAGER_URL");
    auto full = run_oncall({"triage", "checkout", "-o", "json"}, options);
    INFO(full.err);
    CHECK(full.exit_code == 8);
    const json complete = json::parse(full.out);
    CHECK(complete.at("verdict") == "degraded");
    for (const char* name : {"kubernetes", "prometheus", "alertmanager"}) {
        INFO(name);
        REQUIRE(source(complete, name) != nullptr);
        CHECK(source(complete, name)->at("ok") == true);
    }
    CHECK_FALSE(complete.at("signals").empty());
    CHECK(complete.at("suspect").at("revision") == 3);
}

TEST_CASE("no configuration file: rollback --dry-run with a grant", "[kubeconfig][no-config]") {
    kube_test::Workspace ws;
    const std::string kubeconfig = ws.kubeconfig("config", token_user(ws));
    const auto options = ws.env(kubeconfig);
    auto grant = run_oncall({"request-access", "checkout", "--role", "deployer", "--for", "10m",
                             "--reason", "no-config rollback test", "-o", "json"},
                            options);
    INFO(grant.err);
    REQUIRE(grant.exit_code == 0);
    auto rollback = run_oncall({"rollback", "checkout", "--dry-run", "-o", "json", "--reason",
                                "checkout errors since revision 3, rolling back"},
                               options);
    INFO(rollback.err);
    REQUIRE(rollback.exit_code == 0);
    CHECK(json::parse(rollback.out).at("result") == "dry-run");
}

TEST_CASE("a client-certificate kubeconfig works for kubectl and oncall, and the key never shows",
          "[kubeconfig][client-cert]") {
    kube_test::Workspace ws;
    SECTION("files") {
        const std::string kubeconfig = ws.kubeconfig(
            "config", "    client-certificate: " + ws.sandbox.at("ONCALL_SANDBOX_CLIENT_CERT") +
                          "\n    client-key: " + ws.sandbox.at("ONCALL_SANDBOX_CLIENT_KEY") + "\n");
        const auto options = ws.env(kubeconfig);
        const auto k = run_process({"kubectl", "auth", "whoami", "-o", "json"}, options);
        INFO(k.err);
        REQUIRE(k.exit_code == 0);
        const json who = json::parse(k.out);
        const auto& groups = who.at("status").at("userInfo").at("groups");
        CHECK(std::find(groups.begin(), groups.end(), "oncall:engineers") != groups.end());
        auto r = run_oncall({"history", "checkout", "-o", "json", "-v"}, options);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    }
    SECTION("data, copied the way kind writes it") {
        const std::string cert =
            run_process({"base64", "-w0", ws.sandbox.at("ONCALL_SANDBOX_CLIENT_CERT")}).out;
        const std::string key =
            run_process({"base64", "-w0", ws.sandbox.at("ONCALL_SANDBOX_CLIENT_KEY")}).out;
        const std::string kubeconfig =
            ws.kubeconfig("config", "    client-certificate-data: " + cert +
                                        "\n    client-key-data: " + key + "\n");
        const auto options = ws.env(kubeconfig);
        REQUIRE(run_process({"kubectl", "get", "deployments"}, options).exit_code == 0);
        auto r = run_oncall({"history", "checkout", "-o", "json", "-v"}, options);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const std::string key_pem = read_text(ws.sandbox.at("ONCALL_SANDBOX_CLIENT_KEY"));
        const std::string key_line = key_pem.substr(key_pem.find('\n') + 1, 40);
        CHECK(r.out.find(key_line) == std::string::npos);
        CHECK(r.err.find(key_line) == std::string::npos);
        CHECK(r.err.find(key.substr(0, 40)) == std::string::npos);
    }
    SECTION("a certificate from another CA is refused by the server (401, exit 4)") {
        TempDir other;
        make_test_pki(other.path());
        const TestClientCert stranger =
            make_test_client_cert(other.path(), "mallory", {"oncall:engineers"});
        const std::string kubeconfig =
            ws.kubeconfig("config", "    client-certificate: " + stranger.cert_file +
                                        "\n    client-key: " + stranger.key_file + "\n");
        auto r = run_oncall({"history", "checkout"}, ws.env(kubeconfig));
        CHECK(r.exit_code == 4);
        CHECK(run_process({"kubectl", "get", "deployments"}, ws.env(kubeconfig)).exit_code != 0);
    }
}

TEST_CASE("KUBECONFIG=a:b: the cluster in one file, context and user in the other",
          "[kubeconfig][merge]") {
    kube_test::Workspace ws;
    const std::string a = ws.dir.write(
        "a", "apiVersion: v1\nkind: Config\ncurrent-context: split\nclusters:\n- name: c\n"
             "  cluster: {server: \"" +
                 ws.sandbox.at("ONCALL_SANDBOX_URL") +
                 "\", certificate-authority: " + ws.sandbox.at("ONCALL_SANDBOX_CA") +
                 "}\ncontexts:\n- name: split\n  context: {cluster: c, user: u, "
                 "namespace: shop}\nusers:\n- name: u\n  user: {token: wrong}\n");
    const std::string b = ws.dir.write(
        "b", "apiVersion: v1\nkind: Config\ncurrent-context: split\nusers:\n- name: u2\n"
             "  user: {token: " +
                 ws.token() +
                 "}\ncontexts:\n- name: split\n  context: {cluster: c, user: u2, "
                 "namespace: shop}\n");
    SECTION("a first: a's context and its wrong token, so both tools are refused") {
        auto options = ws.env(a + ":" + b);
        CHECK(run_process({"kubectl", "get", "deployments"}, options).exit_code != 0);
        auto r = run_oncall({"history", "checkout"}, options);
        CHECK(r.exit_code == 4);
    }
    SECTION("b first: b's context and token with a's cluster, for both tools") {
        auto options = ws.env(b + ":" + a);
        const auto k = run_process({"kubectl", "get", "deployments"}, options);
        INFO(k.err);
        REQUIRE(k.exit_code == 0);
        CHECK(k.out.find("checkout") != std::string::npos);
        auto r = run_oncall({"history", "checkout", "-o", "json"}, options);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(json::parse(r.out).at("revisions").size() == 3);
    }
}

TEST_CASE("proxy-url socks5: kubectl and oncall reach the cluster through a SOCKS5 proxy",
          "[kubeconfig][proxy]") {
    // The way a bastion is reached with `ssh -D 1080 bastion`: the cluster's proxy-url.
    kube_test::Workspace ws;
    FaultProxy socks(FaultProxy::Options{});
    const std::string server = ws.sandbox.at("ONCALL_SANDBOX_URL");
    const std::string kubeconfig = ws.dir.write(
        "config", "apiVersion: v1\nkind: Config\ncurrent-context: bastion\nclusters:\n- name: c\n"
                  "  cluster:\n    server: " +
                      server +
                      "\n    certificate-authority: " + ws.sandbox.at("ONCALL_SANDBOX_CA") +
                      "\n    proxy-url: " + socks.socks5_url() +
                      "\ncontexts:\n- name: bastion\n  context: {cluster: c, user: u, namespace: "
                      "shop}\nusers:\n- name: u\n  user:\n" +
                      token_user(ws));
    const auto options = ws.env(kubeconfig);
    const std::string authority = server.substr(server.find("://") + 3);

    const auto k = run_process({"kubectl", "get", "deployments"}, options);
    INFO(k.err);
    REQUIRE(k.exit_code == 0);
    const std::size_t after_kubectl = socks.request_count();
    CHECK(after_kubectl >= 1);

    auto r = run_oncall({"history", "checkout", "-o", "json"}, options);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out).at("revisions").size() == 3);
    const auto seen = socks.requests();
    REQUIRE(seen.size() > after_kubectl);
    for (std::size_t i = after_kubectl; i < seen.size(); ++i) {
        CHECK(seen[i].method == "SOCKS5");
        CHECK(seen[i].target == authority);
    }

    SECTION("with the proxy gone, oncall fails as unreachable and names the proxy") {
        const std::string gone_kubeconfig =
            ws.dir.write("gone", read_text(kubeconfig)
                                     .replace(read_text(kubeconfig).find(socks.socks5_url()),
                                              socks.socks5_url().size(), "socks5://127.0.0.1:1"));
        auto down = run_oncall({"history", "checkout"}, ws.env(gone_kubeconfig));
        CHECK(down.exit_code == 3);
        CHECK_THAT(down.err,
                   Catch::Contains("could not connect to the proxy socks5://127.0.0.1:1"));
    }
}
