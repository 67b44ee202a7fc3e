// exec_plugin_bench: wall time of `oncall triage checkout` when the kubeconfig's user is an exec
// credential plugin that takes 300 ms (as `aws eks get-token` does), first run (plugin runs) and
// second run (credential from the cache), next to the same triage with a static token.
//
//   ONCALL_SANDBOX_STATE=/tmp/sb build/dev/tests/bench/exec_plugin_bench [--runs N] [--sleep-ms MS]
//
// Needs a running practice cluster (examples/sandbox/sandbox up --state-dir /tmp/sb) and the built
// oncall ($ONCALL_BIN, else build/dev/apps/oncall/oncall). No configuration file is used: the
// kubeconfig alone, with Prometheus and Alertmanager from $ONCALL_PROMETHEUS_URL/ALERTMANAGER_URL.

#include "process.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <string>
#include <vector>

using namespace oncall;
using Steady = std::chrono::steady_clock;

namespace {

struct Stats {
    std::vector<double> values;
    std::string line() const {
        if (values.empty()) {
            return "no samples";
        }
        auto v = values;
        std::sort(v.begin(), v.end());
        return fmt::format("n={} min={:.0f} median={:.0f} max={:.0f} ms", v.size(), v.front(),
                           v[v.size() / 2], v.back());
    }
};

} // namespace

int main(int argc, char** argv) {
    int runs = 5;
    int sleep_ms = 300;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--runs") {
            runs = std::atoi(argv[i + 1]);
        } else if (flag == "--sleep-ms") {
            sleep_ms = std::atoi(argv[i + 1]);
        }
    }
    if (std::getenv("ONCALL_BIN") == nullptr) {
        ::setenv("ONCALL_BIN", "build/dev/apps/oncall/oncall", 1);
    }
    const auto sandbox = test::sandbox_env();
    test::TempDir dir;
    const std::string token_file = sandbox.at("ONCALL_K8S_TOKEN_FILE");
    const std::string plugin =
        dir.write("get-token",
                  fmt::format("#!/bin/sh\nsleep {:.3f}\n"
                              "printf '{{\"kind\":\"ExecCredential\",\"apiVersion\":"
                              "\"client.authentication.k8s.io/v1\",\"status\":{{\"token\":\"%s\","
                              "\"expirationTimestamp\":\"%s\"}}}}' \"$(tr -d '\\n' <{})\" "
                              "\"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"\n",
                              sleep_ms / 1000.0, token_file),
                  0700);
    const std::string cluster = fmt::format(
        "clusters:\n- name: c\n  cluster: {{server: \"{}\", certificate-authority: {}}}\n"
        "contexts:\n- name: x\n  context: {{cluster: c, user: u, namespace: shop}}\n"
        "current-context: x\n",
        sandbox.at("ONCALL_SANDBOX_URL"), sandbox.at("ONCALL_SANDBOX_CA"));
    const std::string exec_kubeconfig = dir.write(
        "exec",
        cluster +
            fmt::format("users:\n- name: u\n  user:\n    exec: {{apiVersion: "
                        "client.authentication.k8s.io/v1, command: {}, interactiveMode: Never}}\n",
                        plugin));
    const std::string token_kubeconfig =
        dir.write("token", cluster + fmt::format("users:\n- name: u\n  user: {{tokenFile: {}}}\n",
                                                 token_file));

    auto options_for = [&](const std::string& kubeconfig) {
        test::ProcessOptions o;
        o.env["KUBECONFIG"] = kubeconfig;
        o.env["XDG_CONFIG_HOME"] = dir.path() + "/config";
        o.env["XDG_CACHE_HOME"] = dir.path() + "/cache";
        o.env["XDG_STATE_HOME"] = dir.path() + "/state";
        o.env["ONCALL_PROMETHEUS_URL"] = sandbox.at("PROMETHEUS_URL");
        o.env["ONCALL_ALERTMANAGER_URL"] = sandbox.at("ALERTMANAGER_URL");
        o.unset_env = {"ONCALL_CONFIG", "ONCALL_CONTEXT"};
        return o;
    };
    auto timed = [&](const std::string& kubeconfig) {
        const auto started = Steady::now();
        const auto r =
            test::run_oncall({"triage", "checkout", "-o", "json"}, options_for(kubeconfig));
        const double elapsed =
            std::chrono::duration<double, std::milli>(Steady::now() - started).count();
        if (r.exit_code != 8 && r.exit_code != 0) {
            fmt::print(stderr, "triage exited {}: {}\n", r.exit_code, r.err);
            std::exit(1);
        }
        return elapsed;
    };

    Stats token_runs;
    Stats first_runs;
    Stats cached_runs;
    for (int i = 0; i < runs; ++i) {
        token_runs.values.push_back(timed(token_kubeconfig));
        std::filesystem::remove_all(dir.path() + "/cache");
        first_runs.values.push_back(timed(exec_kubeconfig));
        cached_runs.values.push_back(timed(exec_kubeconfig));
    }
    fmt::print("oncall triage checkout, kubeconfig only, plugin sleeps {} ms\n", sleep_ms);
    fmt::print("  static token              {}\n", token_runs.line());
    fmt::print("  exec plugin, first run    {}\n", first_runs.line());
    fmt::print("  exec plugin, second run   {}\n", cached_runs.line());
    return 0;
}
