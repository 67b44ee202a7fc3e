// sandbox_api_bench: how fast the practice cluster's simulated Kubernetes API answers, how fast a
// watch change reaches many watchers, and how long a 3-replica roll-out takes.
//
//   examples/sandbox/sandbox up --state-dir DIR
//   ONCALL_SANDBOX_STATE=DIR build/<preset>/tests/bench/sandbox_api_bench [--requests N]
//   [--watchers W]
//
// 1. N sequential GETs of one Deployment (one kept-alive HTTPS connection): mean, p50, p99.
// 2. N/10 sequential pod lists and TokenRequests.
// 3. W concurrent watches: time from a PATCH's answer until every watcher has seen the change.
// 4. A restart of payments (template annotation): time until the Deployment reports the roll-out
// done.

#include "process.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Target {
    std::string url, ca, token;
};

Target target() {
    const auto env = oncall::test::sandbox_env();
    Target t{env.at("ONCALL_SANDBOX_URL"), env.at("ONCALL_SANDBOX_CA"), ""};
    std::ifstream in(env.at("ONCALL_K8S_TOKEN_FILE"));
    std::getline(in, t.token);
    return t;
}

httplib::Client client_for(const Target& t) {
    httplib::Client c(t.url);
    c.set_ca_cert_path(t.ca.c_str());
    c.enable_server_certificate_verification(true);
    c.set_keep_alive(true);
    c.set_read_timeout(60, 0);
    c.set_tcp_nodelay(true);
    return c;
}

httplib::Headers auth(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
}

void report(const char* what, std::vector<double> ms) {
    std::sort(ms.begin(), ms.end());
    double sum = 0;
    for (double v : ms)
        sum += v;
    std::printf("%-34s n=%-5zu mean %7.2f ms  p50 %7.2f ms  p99 %7.2f ms\n", what, ms.size(),
                sum / static_cast<double>(ms.size()), ms[ms.size() / 2],
                ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]);
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

} // namespace

int main(int argc, char** argv) {
    int requests = 500;
    int watchers = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--requests")
            requests = std::stoi(argv[i + 1]);
        if (flag == "--watchers")
            watchers = std::stoi(argv[i + 1]);
    }
    const Target t = target();
    auto c = client_for(t);

    std::vector<double> gets;
    for (int i = 0; i < requests; ++i) {
        const auto start = Clock::now();
        auto r = c.Get("/apis/apps/v1/namespaces/shop/deployments/checkout", auth(t.token));
        if (!r || r->status != 200)
            return std::fprintf(stderr, "GET failed\n"), 1;
        gets.push_back(ms_since(start));
    }
    report("GET deployment", gets);

    std::vector<double> lists, tokens;
    std::string deployer;
    for (int i = 0; i < std::max(1, requests / 10); ++i) {
        auto start = Clock::now();
        auto r = c.Get("/api/v1/namespaces/shop/pods?labelSelector=app%3Dcheckout", auth(t.token));
        if (!r || r->status != 200)
            return std::fprintf(stderr, "list failed\n"), 1;
        lists.push_back(ms_since(start));
        start = Clock::now();
        auto tr =
            c.Post("/api/v1/namespaces/shop/serviceaccounts/oncall-deployer/token", auth(t.token),
                   R"({"spec":{"expirationSeconds":600}})", "application/json");
        if (!tr || tr->status != 201)
            return std::fprintf(stderr, "TokenRequest failed\n"), 1;
        tokens.push_back(ms_since(start));
        deployer = json::parse(tr->body)["status"]["token"];
    }
    report("LIST pods (label selector)", lists);
    report("POST TokenRequest", tokens);

    // Watch fan-out.
    auto current = json::parse(
        c.Get("/apis/apps/v1/namespaces/shop/deployments/checkout", auth(t.token))->body);
    const std::string rv = current["metadata"]["resourceVersion"];
    const std::string marker = "bench-" + std::to_string(Clock::now().time_since_epoch().count());
    std::atomic<int> seen{0};
    std::vector<Clock::time_point> seen_at(static_cast<std::size_t>(watchers));
    std::vector<std::thread> threads;
    for (int w = 0; w < watchers; ++w) {
        threads.emplace_back([&, w] {
            auto wc = client_for(t);
            std::string buffer;
            wc.Get(("/apis/apps/v1/namespaces/shop/"
                    "deployments?watch=1&timeoutSeconds=30&fieldSelector=metadata.name%3Dcheckout&"
                    "resourceVersion=" +
                    rv)
                       .c_str(),
                   auth(t.token), [&](const char* d, size_t n) {
                       buffer.append(d, n);
                       if (buffer.find(marker) != std::string::npos) {
                           seen_at[static_cast<std::size_t>(w)] = Clock::now();
                           ++seen;
                           return false;
                       }
                       return true;
                   });
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500)); // let every watch connect
    const auto patched_at = Clock::now();
    auto p = c.Patch("/apis/apps/v1/namespaces/shop/deployments/checkout", auth(deployer),
                     json{{"metadata", {{"annotations", {{"bench/marker", marker}}}}}}.dump(),
                     "application/merge-patch+json");
    if (!p || p->status != 200)
        return std::fprintf(stderr, "PATCH failed\n"), 1;
    for (auto& th : threads)
        th.join();
    std::vector<double> fanout;
    for (const auto& at : seen_at)
        fanout.push_back(std::chrono::duration<double, std::milli>(at - patched_at).count());
    std::printf("watch fan-out: %d/%d watchers saw the change\n", seen.load(), watchers);
    report("PATCH -> watcher sees MODIFIED", fanout);

    // Roll-out of payments (restartedAt annotation in the template).
    auto before = json::parse(
        c.Get("/apis/apps/v1/namespaces/shop/deployments/payments", auth(t.token))->body);
    const auto start = Clock::now();
    auto rp =
        c.Patch("/apis/apps/v1/namespaces/shop/deployments/payments", auth(deployer),
                json{{"spec",
                      {{"template",
                        {{"metadata",
                          {{"annotations", {{"kubectl.kubernetes.io/restartedAt", marker}}}}}}}}}}
                    .dump(),
                "application/strategic-merge-patch+json");
    if (!rp || rp->status != 200)
        return std::fprintf(stderr, "restart PATCH failed\n"), 1;
    const int generation = json::parse(rp->body)["metadata"]["generation"];
    const int replicas = before["spec"]["replicas"];
    while (true) {
        auto d = json::parse(
            c.Get("/apis/apps/v1/namespaces/shop/deployments/payments", auth(t.token))->body);
        const auto& s = d["status"];
        if (s.value("observedGeneration", 0) >= generation &&
            s.value("updatedReplicas", 0) == replicas &&
            s.value("availableReplicas", 0) == replicas && s.value("replicas", 0) == replicas) {
            break;
        }
        if (ms_since(start) > 120000)
            return std::fprintf(stderr, "roll-out did not finish in 120 s\n"), 1;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::printf("roll-out of %d replicas (restart): %.2f s\n", replicas, ms_since(start) / 1000.0);
    return 0;
}
