// deploy_bench: how fast a rollback reaches the API server, and how fast a rollout's end is
// noticed.
//
//   ONCALL_BIN=build/dev/apps/oncall/oncall ONCALL_SANDBOX_STATE=/tmp/sb
//   build/dev/tests/bench/deploy_bench [--runs N]
//
// Needs a running practice cluster (examples/sandbox/sandbox up --state-dir /tmp/sb). Each run
// rolls `payments` back and forth between two revisions with the built oncall, while an independent
// watch on the Deployment timestamps what the server does:
//   start -> PATCH   command start until the server has applied the write (the watch's first event
//                    with a new generation): process start-up, config, grant, reads, planning,
//                    PATCH;
//   notice latency   the rollout becoming complete on the server (the watch's event) until
//                    ops::wait_for_rollout reports it (in-process, the code path oncall uses);
//   complete -> exit the same end of rollout until the oncall process has exited (wait, audit,
//   output).

#include "oncall/backends/kubernetes.h"
#include "oncall/ops/rollout.h"
#include "process.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <curl/curl.h>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace oncall;
using Steady = std::chrono::steady_clock;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

double ms(Steady::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

struct Stats {
    std::vector<double> values;
    void add(double v) { values.push_back(v); }
    std::string line() const {
        if (values.empty()) {
            return "no samples";
        }
        auto v = values;
        std::sort(v.begin(), v.end());
        double sum = 0;
        for (double x : v) {
            sum += x;
        }
        return fmt::format("n={} min={:.1f} median={:.1f} mean={:.1f} max={:.1f} ms", v.size(),
                           v.front(), v[v.size() / 2], sum / static_cast<double>(v.size()),
                           v.back());
    }
};

// Watches one Deployment and timestamps the first event with a new generation and the first
// event in which the rollout of that generation is complete.
class ServerClock {
public:
    ServerClock(const kube::KubeClient& client, std::int64_t generation,
                std::string resource_version)
        : m_client(client), m_generation(generation), m_rv(std::move(resource_version)) {
        m_thread = std::thread([this] { run(); });
    }
    ~ServerClock() {
        m_stop = true;
        m_thread.join();
    }
    std::optional<Steady::time_point> patched() {
        std::lock_guard lock(m_mutex);
        return m_patched;
    }
    std::optional<Steady::time_point> complete() {
        std::lock_guard lock(m_mutex);
        return m_complete;
    }

private:
    void run() {
        while (!m_stop) {
            kube::WatchOptions options;
            options.resource_version = m_rv;
            options.field_selector = "metadata.name=payments";
            options.timeout = std::chrono::seconds(1);
            (void)m_client.watch(
                "/apis/apps/v1/namespaces/shop/deployments", options,
                [&](const kube::WatchEvent& e) {
                    const auto at = Steady::now();
                    auto d = kube::decode_deployment(e.object);
                    if (!d) {
                        return true;
                    }
                    m_rv = d->metadata.resource_version;
                    std::lock_guard lock(m_mutex);
                    if (d->metadata.generation > m_generation && !m_patched) {
                        m_patched = at;
                    }
                    if (m_patched && !m_complete && d->status.observed_generation > m_generation &&
                        ops::evaluate_rollout(*d).state == ops::RolloutState::complete) {
                        m_complete = at;
                    }
                    return !m_stop && !m_complete;
                });
            std::lock_guard lock(m_mutex);
            if (m_complete) {
                return;
            }
        }
    }

    const kube::KubeClient& m_client;
    std::int64_t m_generation;
    std::string m_rv;
    std::atomic<bool> m_stop{false};
    std::mutex m_mutex;
    std::optional<Steady::time_point> m_patched;
    std::optional<Steady::time_point> m_complete;
    std::thread m_thread;
};

long other_revision(const kube::KubeClient& client, const kube::Deployment& d) {
    auto revisions = client.deployment_revisions(d);
    if (!revisions) {
        return 0;
    }
    std::string current;
    for (const auto& r : *revisions) {
        if (r.current) {
            current = r.artifacts.empty() ? "" : r.artifacts[0];
        }
    }
    for (const auto& r : *revisions) {
        if (!r.current && !r.artifacts.empty() && r.artifacts[0] != current) {
            return r.number;
        }
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int runs = 5;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string(argv[i]) == "--runs") {
            runs = std::max(1, std::atoi(argv[i + 1]));
        }
    }
    const auto env = test::sandbox_env();
    test::TempDir state;
    std::map<std::string, std::string> run_env = env;
    run_env["XDG_STATE_HOME"] = state.path();
    test::ProcessOptions options;
    options.env = run_env;
    options.timeout = std::chrono::seconds(120);

    auto granted = test::run_oncall({"request-access", "payments", "--role", "deployer", "--for",
                                     "30m", "--reason", "benchmark of rollback latency", "-q"},
                                    options);
    if (granted.exit_code != 0) {
        fmt::print(stderr, "deploy_bench: request-access failed: {}\n", granted.err);
        return 1;
    }
    kube::Connection connection;
    connection.server = env.at("ONCALL_SANDBOX_URL");
    connection.namespace_name = "shop";
    connection.token = read_text(env.at("ONCALL_K8S_TOKEN_FILE"));
    connection.ca_file = env.at("ONCALL_SANDBOX_CA");
    const kube::KubeClient client(connection);

    Stats start_to_patch, complete_to_exit, notice_latency, command_total;
    for (int run = 0; run < runs; ++run) {
        // 1. The CLI end to end: start -> PATCH applied, rollout complete -> process exit.
        auto d = client.get_deployment("shop", "payments");
        if (!d) {
            fmt::print(stderr, "deploy_bench: {}\n", d.error().message);
            return 1;
        }
        long target = other_revision(client, *d);
        {
            ServerClock server(client, d->metadata.generation, d->metadata.resource_version);
            std::this_thread::sleep_for(std::chrono::milliseconds(200)); // the watch is established
            const auto t0 = Steady::now();
            auto r = test::run_oncall({"rollback", "payments", "--to-revision",
                                       std::to_string(target), "--yes", "--no-verify", "-q",
                                       "--reason", "benchmark of rollback latency"},
                                      options);
            const auto t_exit = Steady::now();
            if (r.exit_code != 0) {
                fmt::print(stderr, "deploy_bench: rollback failed (exit {}): {}\n", r.exit_code,
                           r.err);
                return 1;
            }
            for (int i = 0; i < 50 && !server.complete(); ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            command_total.add(ms(t_exit - t0));
            if (auto p = server.patched()) {
                start_to_patch.add(ms(*p - t0));
            }
            if (auto c = server.complete()) {
                complete_to_exit.add(ms(t_exit - *c));
            }
        }
        // 2. In-process: the server's completion vs. wait_for_rollout noticing it.
        d = client.get_deployment("shop", "payments");
        target = other_revision(client, *d);
        {
            ServerClock server(client, d->metadata.generation, d->metadata.resource_version);
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            auto r = test::run_oncall({"rollback", "payments", "--to-revision",
                                       std::to_string(target), "--yes", "--no-wait", "-q",
                                       "--reason", "benchmark of watch latency"},
                                      options);
            if (r.exit_code != 0) {
                fmt::print(stderr, "deploy_bench: rollback failed (exit {}): {}\n", r.exit_code,
                           r.err);
                return 1;
            }
            std::optional<Steady::time_point> noticed;
            ops::WaitOptions wait;
            wait.timeout = std::chrono::seconds(60);
            wait.on_update = [&](const ops::RolloutStatus& s) {
                if (s.state == ops::RolloutState::complete && !noticed) {
                    noticed = Steady::now();
                }
            };
            auto w = ops::wait_for_rollout(client, "shop", "payments", wait);
            for (int i = 0; i < 50 && !server.complete(); ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            if (w && noticed && server.complete()) {
                notice_latency.add(ms(*noticed - *server.complete()));
            }
        }
    }
    fmt::print("deploy_bench: {} runs against {}\n", runs, connection.server);
    fmt::print("  command start -> PATCH applied on the server : {}\n", start_to_patch.line());
    fmt::print("  rollout complete on server -> noticed (watch): {}\n", notice_latency.line());
    fmt::print("  rollout complete on server -> oncall exited  : {}\n", complete_to_exit.line());
    fmt::print("  whole rollback command (wait, no verify)     : {}\n", command_total.line());
    curl_global_cleanup();
    return 0;
}
