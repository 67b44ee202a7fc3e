// triage_bench: wall time of `oncall triage checkout` with every backend 100 ms away.
//
//   ONCALL_SANDBOX_STATE=/tmp/sb build/dev/tests/bench/triage_bench [--runs N] [--delay-ms MS]
//   [--lookback-min M]
//
// Needs a running practice cluster (examples/sandbox/sandbox up --state-dir /tmp/sb). A fault proxy
// in front of Prometheus, Alertmanager and the Kubernetes API adds the delay to every request. The
// triage of checkout runs through the library code path oncall uses (ops::collect + build_report):
//   concurrent   all sources at once, Prometheus' queries on one multi handle (what oncall does);
//   sequential   the same requests one after another;
//   chains       each source alone; the slowest is the floor concurrent triage can reach.
// Then the overview of every service (bounded parallelism) against one service at a time.

#include "fault_proxy.h"
#include "oncall/config/config.h"
#include "oncall/ops/triage.h"
#include "process.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <curl/curl.h>
#include <fmt/format.h>
#include <string>
#include <vector>

using namespace oncall;
using Steady = std::chrono::steady_clock;

namespace {

double ms(Steady::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

struct Stats {
    std::vector<double> values;
    void add(double v) { values.push_back(v); }
    double median() const {
        auto v = values;
        std::sort(v.begin(), v.end());
        return v.empty() ? 0.0 : v[v.size() / 2];
    }
    std::string line() const {
        if (values.empty()) {
            return "no samples";
        }
        auto v = values;
        std::sort(v.begin(), v.end());
        return fmt::format("n={} min={:.0f} median={:.0f} max={:.0f} ms", v.size(), v.front(),
                           median(), v.back());
    }
};

struct Proxies {
    test::FaultProxy prometheus;
    test::FaultProxy alertmanager;
    test::FaultProxy kubernetes;
    std::size_t total() const {
        return prometheus.request_count() + alertmanager.request_count() +
               kubernetes.request_count();
    }
    void clear() {
        prometheus.clear_requests();
        alertmanager.clear_requests();
        kubernetes.clear_requests();
    }
};

test::FaultProxy::Options upstream(const std::string& url, const std::string& ca = "") {
    test::FaultProxy::Options o;
    o.upstream = url;
    o.ca_file = ca;
    return o;
}

[[noreturn]] void die(const std::string& what) {
    fmt::print(stderr, "triage_bench: {}\n", what);
    std::exit(1);
}

} // namespace

int main(int argc, char** argv) {
    int runs = 5;
    int delay_ms = 100;
    int lookback_min = 180;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--runs") {
            runs = std::max(1, std::atoi(argv[i + 1]));
        } else if (flag == "--lookback-min") {
            lookback_min = std::max(0, std::atoi(argv[i + 1]));
        } else if (flag == "--delay-ms") {
            delay_ms = std::max(0, std::atoi(argv[i + 1]));
        } else {
            die("unknown flag " + flag);
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const auto env = test::sandbox_env();
    auto cfg = config::load_config(env.at("ONCALL_CONFIG"));
    if (!cfg) {
        die(cfg.error().message);
    }
    auto ctx = config::select_context(*cfg, std::string("sandbox"));
    if (!ctx) {
        die(ctx.error().message);
    }
    Proxies proxies{
        test::FaultProxy(upstream(env.at("PROMETHEUS_URL"))),
        test::FaultProxy(upstream(env.at("ALERTMANAGER_URL"))),
        test::FaultProxy(upstream(env.at("ONCALL_SANDBOX_URL"), env.at("ONCALL_SANDBOX_CA")))};
    test::FaultSettings delay;
    delay.delay = std::chrono::milliseconds(delay_ms);
    proxies.prometheus.set(delay);
    proxies.alertmanager.set(delay);
    proxies.kubernetes.set(delay);
    config::Context proxied = *ctx;
    proxied.prometheus.urls = {proxies.prometheus.url()};
    proxied.alertmanager.urls = {proxies.alertmanager.url()};
    proxied.kubernetes.server = proxies.kubernetes.url();

    auto svc = config::service_for(*cfg, proxied, "checkout");
    if (!svc) {
        die(svc.error().message);
    }
    ops::TriageRequest req;
    req.service = "checkout";
    req.source_timeout = std::chrono::seconds(20);
    req.lookback = std::chrono::minutes(lookback_min);

    const auto run = [&](const config::Context& c, bool sequential, Stats& stats,
                         std::size_t& requests) {
        proxies.clear();
        auto r = req;
        r.sequential = sequential;
        const auto start = Steady::now();
        auto facts = ops::collect(c, *svc, r);
        const auto report = facts ? ops::build_report(*facts) : ops::TriageReport{};
        stats.add(ms(Steady::now() - start));
        requests = proxies.total();
        if (!facts) {
            die("triage failed: " + (facts ? std::string("no verdict") : facts.error().message));
        }
        for (const auto& s : report.sources) {
            if (!s.ok && !s.skipped) {
                die(fmt::format("source {} failed: {}", s.name, s.error ? s.error->message : "?"));
            }
        }
    };
    const auto only = [&](const std::string& name) {
        config::Context c = proxied;
        if (name != "prometheus") {
            c.prometheus.urls.clear();
        }
        if (name != "alertmanager") {
            c.alertmanager.urls.clear();
        }
        if (name != "kubernetes") {
            c.kubernetes.server.clear();
        }
        return c;
    };

    fmt::print("triage_bench: checkout, every backend request delayed by {} ms, {} runs each\n",
               delay_ms, runs);
    Stats concurrent;
    Stats sequential;
    std::size_t concurrent_requests = 0;
    std::size_t sequential_requests = 0;
    std::vector<std::pair<std::string, Stats>> chains = {
        {"prometheus", {}}, {"alertmanager", {}}, {"kubernetes", {}}};
    std::vector<std::size_t> chain_requests(chains.size());
    run(proxied, false, concurrent, concurrent_requests); // warm-up (TLS session, connections)
    concurrent = {};
    for (int i = 0; i < runs; ++i) {
        run(proxied, false, concurrent, concurrent_requests);
        run(proxied, true, sequential, sequential_requests);
        for (std::size_t k = 0; k < chains.size(); ++k) {
            run(only(chains[k].first), false, chains[k].second, chain_requests[k]);
        }
    }
    double slowest = 0.0;
    std::string slowest_name;
    for (std::size_t k = 0; k < chains.size(); ++k) {
        fmt::print("  chain {:<13} {:>3} requests  {}\n", chains[k].first, chain_requests[k],
                   chains[k].second.line());
        if (chains[k].second.median() > slowest) {
            slowest = chains[k].second.median();
            slowest_name = chains[k].first;
        }
    }
    fmt::print("  concurrent          {:>3} requests  {}\n", concurrent_requests,
               concurrent.line());
    fmt::print("  sequential          {:>3} requests  {}\n", sequential_requests,
               sequential.line());
    fmt::print("  concurrent / slowest chain ({}): {:.2f}x (target <= 1.30x)\n", slowest_name,
               concurrent.median() / slowest);
    fmt::print("  sequential / concurrent: {:.2f}x\n", sequential.median() / concurrent.median());

    // The overview of every service.
    auto [names, list_error] = ops::overview_services(*cfg, proxied);
    if (list_error) {
        die("listing services: " + list_error->message);
    }
    Stats parallel4;
    Stats serial;
    std::size_t overview_requests = 0;
    for (int i = 0; i < runs; ++i) {
        proxies.clear();
        auto start = Steady::now();
        const auto lines = ops::overview(*cfg, proxied, names, req, 4);
        parallel4.add(ms(Steady::now() - start));
        overview_requests = proxies.total();
        start = Steady::now();
        (void)ops::overview(*cfg, proxied, names, req, 1);
        serial.add(ms(Steady::now() - start));
        if (i == 0) {
            for (const auto& l : lines) {
                fmt::print("    {:<10} {:<9} {}\n", l.service, ops::verdict_name(l.verdict),
                           l.summary.substr(0, 70));
            }
        }
    }
    fmt::print("  overview of {} services, 4 at a time: {:>3} requests  {}\n", names.size(),
               overview_requests, parallel4.line());
    fmt::print("  overview of {} services, 1 at a time:               {}\n", names.size(),
               serial.line());
    curl_global_cleanup();
    return 0;
}
