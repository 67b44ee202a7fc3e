// Exec credential plugins against the practice cluster, with a plugin script that counts its runs
// and keeps the KUBERNETES_EXEC_INFO it was given: a token (v1 and v1beta1), a client certificate,
// the cache and its expiry, one re-run after a 401, and plugins that are missing, fail, print
// garbage or hang. Real kubectl runs the same kubeconfig.

#include "backends/text.h"
#include "sandbox_kube.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>

using namespace oncall::test;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;

const char* const k_plugin = R"PLUGIN(#!/bin/bash
# A client-go credential plugin for tests. MODE: token | bad-then-good | cert | fail | garbage | hang.
set -u
n=$(( $(cat "$PLUGIN_DIR/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$PLUGIN_DIR/count"
printf '%s' "${KUBERNETES_EXEC_INFO:-}" >"$PLUGIN_DIR/exec-info-$n.json"
if [ -t 0 ]; then echo terminal >"$PLUGIN_DIR/stdin-$n"; else echo none >"$PLUGIN_DIR/stdin-$n"; fi
expires=$(date -u -d "+${EXPIRES:-3600} seconds" +%Y-%m-%dT%H:%M:%SZ)
pem() { awk '{ printf "%s\\n", $0 }' "$1"; }
case "$MODE" in
  token|bad-then-good)
    token=$(tr -d '\n' <"$SANDBOX_TOKEN_FILE")
    if [ "$MODE" = bad-then-good ] && [ "$n" = 1 ]; then token=stale-token-that-the-server-refuses; fi
    printf '{"kind":"ExecCredential","apiVersion":"%s","status":{"token":"%s","expirationTimestamp":"%s"}}\n' \
      "$API" "$token" "$expires" ;;
  cert)
    printf '{"kind":"ExecCredential","apiVersion":"%s","status":{"clientCertificateData":"%s","clientKeyData":"%s","expirationTimestamp":"%s"}}\n' \
      "$API" "$(pem "$CERT_FILE")" "$(pem "$KEY_FILE")" "$expires" ;;
  fail) echo "plugin: the identity provider said no" >&2; exit 3 ;;
  garbage) echo '<html>sk-GARBAGE-SECRET-0f9e8d</html>' ;;
  hang) sleep 60 ;;
esac
)PLUGIN";

struct Plugin {
    kube_test::Workspace& ws;
    std::string dir = ws.dir.path() + "/plugin";
    std::string script;

    explicit Plugin(kube_test::Workspace& w) : ws(w) {
        fs::create_directories(dir);
        script = ws.dir.write("plugin/get-token", k_plugin, 0700);
    }

    // A kubeconfig whose user runs the plugin in `mode`.
    std::string kubeconfig(const std::string& mode,
                           const std::string& api = "client.authentication.k8s.io/v1",
                           int expires = 3600, const std::string& command = "") const {
        std::string user = "    exec:\n      apiVersion: " + api +
                           "\n      command: " + (command.empty() ? script : command) +
                           "\n      args: [--region, eu-test-1]\n      provideClusterInfo: true\n"
                           "      installHint: |\n        Install the test plugin with: apt "
                           "install oncall-test-plugin\n"
                           "      interactiveMode: IfAvailable\n      env:\n";
        for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                 {"PLUGIN_DIR", dir},
                 {"MODE", mode},
                 {"API", api},
                 {"EXPIRES", std::to_string(expires)},
                 {"SANDBOX_TOKEN_FILE", ws.sandbox.at("ONCALL_K8S_TOKEN_FILE")},
                 {"CERT_FILE", ws.sandbox.at("ONCALL_SANDBOX_CLIENT_CERT")},
                 {"KEY_FILE", ws.sandbox.at("ONCALL_SANDBOX_CLIENT_KEY")}}) {
            user += "      - {name: " + k + ", value: \"" + v + "\"}\n";
        }
        return ws.kubeconfig("kubeconfig-" + mode + "-" + std::to_string(expires), user);
    }

    int runs() const {
        std::ifstream in(dir + "/count");
        int n = 0;
        in >> n;
        return n;
    }
    std::string exec_info_text(int run) const {
        std::ifstream in(dir + "/exec-info-" + std::to_string(run) + ".json");
        std::ostringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    json exec_info(int run) const { return json::parse(exec_info_text(run)); }
    void reset() const {
        fs::remove(dir + "/count");
        fs::remove_all(ws.dir.path() + "/xdg-cache");
    }
};

ProcessResult history(const kube_test::Workspace& ws, const std::string& kubeconfig,
                      std::map<std::string, std::string> extra = {}) {
    auto options = ws.env(kubeconfig);
    for (auto& [k, v] : extra) {
        options.env[k] = v;
    }
    return run_oncall({"history", "checkout", "-o", "json", "-v"}, options);
}

std::vector<fs::path> cache_files(const kube_test::Workspace& ws) {
    std::vector<fs::path> out;
    const fs::path dir = ws.dir.path() + "/xdg-cache/oncall/exec";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        out.push_back(e.path());
    }
    return out;
}

} // namespace

TEST_CASE("exec plugin: a v1 token, cached 0600 until shortly before it expires",
          "[kubeconfig][exec]") {
    kube_test::Workspace ws;
    Plugin plugin(ws);
    const std::string kubeconfig = plugin.kubeconfig("token");
    auto first = history(ws, kubeconfig);
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    CHECK(json::parse(first.out).at("revisions").size() == 3);
    CHECK(plugin.runs() == 1);

    // What the plugin was given, as client-go gives it.
    const json info = plugin.exec_info(1);
    CHECK(info.at("kind") == "ExecCredential");
    CHECK(info.at("apiVersion") == "client.authentication.k8s.io/v1");
    CHECK(info.at("spec").at("interactive") == false); // no terminal on stdin
    CHECK(info.at("spec").at("cluster").at("server") == ws.sandbox.at("ONCALL_SANDBOX_URL"));
    std::ifstream ca(ws.sandbox.at("ONCALL_SANDBOX_CA"));
    std::ostringstream ca_text;
    ca_text << ca.rdbuf();
    const auto ca_data = oncall::backends::base64_decode(
        info.at("spec").at("cluster").at("certificate-authority-data").get<std::string>());
    REQUIRE(ca_data.ok());
    CHECK(*ca_data == ca_text.str());
    CHECK(run_process({"cat", plugin.dir + "/stdin-1"}).out == "none\n");

    // The second run reads the cache: no plugin run.
    auto second = history(ws, kubeconfig);
    REQUIRE(second.exit_code == 0);
    CHECK(plugin.runs() == 1);
    CHECK(second.err.find("using the cached credential") != std::string::npos);
    const auto files = cache_files(ws);
    REQUIRE(files.size() == 1);
    struct stat st {};
    REQUIRE(::stat(files.front().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat(files.front().parent_path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);

    // The token never reaches stdout or -v output.
    const std::string token = ws.token();
    CHECK(first.out.find(token) == std::string::npos);
    CHECK(first.err.find(token) == std::string::npos);
    CHECK(second.err.find(token) == std::string::npos);

    // Real kubectl runs the same plugin with the same kubeconfig.
    auto options = ws.env(kubeconfig);
    const auto k = run_process({"kubectl", "get", "deployments", "-o", "name"}, options);
    INFO(k.err);
    REQUIRE(k.exit_code == 0);
    CHECK(k.out.find("deployment.apps/checkout") != std::string::npos);
    CHECK(plugin.runs() == 2);
    // KUBERNETES_EXEC_INFO byte for byte as kubectl sets it.
    CHECK(plugin.exec_info_text(1) == plugin.exec_info_text(2));
}

TEST_CASE("exec plugin: a credential expiring within a minute is not reused",
          "[kubeconfig][exec]") {
    kube_test::Workspace ws;
    Plugin plugin(ws);
    const std::string kubeconfig =
        plugin.kubeconfig("token", "client.authentication.k8s.io/v1", 45);
    REQUIRE(history(ws, kubeconfig).exit_code == 0);
    REQUIRE(history(ws, kubeconfig).exit_code == 0);
    CHECK(plugin.runs() == 2);
}

TEST_CASE("exec plugin: v1beta1, and a client certificate as the result", "[kubeconfig][exec]") {
    kube_test::Workspace ws;
    Plugin plugin(ws);
    SECTION("v1beta1 token") {
        auto r = history(ws, plugin.kubeconfig("token", "client.authentication.k8s.io/v1beta1"));
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(plugin.exec_info(1).at("apiVersion") == "client.authentication.k8s.io/v1beta1");
    }
    SECTION("certificate and key") {
        const std::string kubeconfig = plugin.kubeconfig("cert");
        auto r = history(ws, kubeconfig);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        // The cached key is only in the 0600 cache file, never in output.
        std::ifstream key_file(ws.sandbox.at("ONCALL_SANDBOX_CLIENT_KEY"));
        std::string line;
        std::getline(key_file, line);
        std::getline(key_file, line); // the first base64 line of the key
        REQUIRE(line.size() > 20);
        CHECK(r.out.find(line) == std::string::npos);
        CHECK(r.err.find(line) == std::string::npos);
        auto again = history(ws, kubeconfig);
        REQUIRE(again.exit_code == 0);
        CHECK(plugin.runs() == 1);
    }
}

TEST_CASE("exec plugin: a 401 drops the cached credential and runs the plugin once more",
          "[kubeconfig][exec]") {
    kube_test::Workspace ws;
    Plugin plugin(ws);
    auto r = history(ws, plugin.kubeconfig("bad-then-good"));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(plugin.runs() == 2);
    CHECK(r.err.find("answered 401") != std::string::npos);
    CHECK(r.err.find("stale-token-that-the-server-refuses") == std::string::npos);
}

TEST_CASE("exec plugin failures are exit 4 with a clear error", "[kubeconfig][exec]") {
    kube_test::Workspace ws;
    Plugin plugin(ws);
    SECTION("not installed: its installHint") {
        auto r = history(ws, plugin.kubeconfig("token", "client.authentication.k8s.io/v1", 3600,
                                               "oncall-test-plugin-that-is-not-installed"));
        CHECK(r.exit_code == 4);
        CHECK(r.err.find("oncall-test-plugin-that-is-not-installed not found") !=
              std::string::npos);
        CHECK(r.err.find("apt install oncall-test-plugin") != std::string::npos);
    }
    SECTION("exits non-zero") {
        auto r = history(ws, plugin.kubeconfig("fail"));
        CHECK(r.exit_code == 4);
        CHECK(r.err.find("failed with exit code 3") != std::string::npos);
        CHECK(r.err.find("the identity provider said no") !=
              std::string::npos); // its stderr passes through
    }
    SECTION("prints garbage, which is never echoed") {
        auto r = history(ws, plugin.kubeconfig("garbage"));
        CHECK(r.exit_code == 4);
        CHECK(r.err.find("not an ExecCredential") != std::string::npos);
        CHECK(r.err.find("sk-GARBAGE-SECRET") == std::string::npos);
        CHECK(cache_files(ws).empty());
    }
    SECTION("hangs: stopped at the deadline") {
        const auto started = std::chrono::steady_clock::now();
        auto r = history(ws, plugin.kubeconfig("hang"), {{"ONCALL_EXEC_TIMEOUT", "1s"}});
        const auto took = std::chrono::steady_clock::now() - started;
        CHECK(r.exit_code == 4);
        CHECK_FALSE(r.timed_out);
        CHECK(r.err.find("did not finish within 1s") != std::string::npos);
        CHECK(took < std::chrono::seconds(15));
    }
}

TEST_CASE(
    "exec-plugin tokens and client keys reach no output, audit line or file but the 0600 cache",
    "[kubeconfig][exec][secrets]") {
    kube_test::Workspace ws;
    Plugin plugin(ws);
    const std::string token = ws.token();
    std::ifstream key_in(ws.sandbox.at("ONCALL_SANDBOX_CLIENT_KEY"));
    std::string key_line;
    std::getline(key_in, key_line);
    std::getline(key_in, key_line);
    REQUIRE(key_line.size() > 20);
    std::string everything;
    for (const char* mode : {"token", "cert"}) {
        plugin.reset();
        const std::string kubeconfig = plugin.kubeconfig(mode);
        auto options = ws.env(kubeconfig);
        for (const std::vector<std::string>& args :
             {std::vector<std::string>{"history", "checkout", "-v"},
              {"triage", "checkout", "-v", "-o", "json"},
              {"request-access", "checkout", "--role", "deployer", "--for", "10m", "--reason",
               "leak test", "-v"},
              {"rollback", "checkout", "--dry-run", "-v", "--reason", "leak test"},
              {"__complete", "--", "history", ""}}) {
            const auto r = run_oncall(args, options);
            everything += r.out + r.err;
        }
    }
    CHECK(everything.find(token) == std::string::npos);
    CHECK(everything.find(key_line) == std::string::npos);
    std::size_t cache_files_seen = 0;
    for (const auto& e : fs::recursive_directory_iterator(ws.dir.path())) {
        if (!e.is_regular_file() || e.path().string().find("/plugin/") != std::string::npos ||
            e.path().filename().string().rfind("kubeconfig", 0) == 0) {
            continue;
        }
        std::ifstream in(e.path());
        std::ostringstream ss;
        ss << in.rdbuf();
        const bool has_secret = ss.str().find(token) != std::string::npos ||
                                ss.str().find(key_line) != std::string::npos;
        if (!has_secret) {
            continue;
        }
        INFO(e.path().string());
        CHECK(e.path().parent_path() == fs::path(ws.dir.path() + "/xdg-cache/oncall/exec"));
        struct stat st {};
        REQUIRE(::stat(e.path().c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
        ++cache_files_seen;
    }
    CHECK(cache_files_seen == 1); // the certificate's entry (the token's was dropped by reset())
}
