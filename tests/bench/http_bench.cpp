// http_bench: what concurrency and connection reuse buy the HTTP client, against local servers.
//
//   build/<preset>/tests/bench/http_bench [--requests N] [--delay-ms D] [--small N]
//
// 1. N requests to a server that delays each by D ms: sequential perform() vs perform_all().
// 2. The same through the fault-injecting proxy adding D ms (the proxy's own overhead included).
// 3. Small GETs per second: sequential perform() (reused connection) and perform_all batches.

#include "fault_proxy.h"
#include "oncall/http/client.h"
#include "test_server.h"

#include <chrono>
#include <cstdio>
#include <curl/curl.h>
#include <string>

using namespace oncall;
using namespace oncall::test;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Args {
    int requests = 20;
    int delay_ms = 100;
    int small = 2000;
};

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const int value = std::stoi(argv[i + 1]);
        if (flag == "--requests") {
            a.requests = value;
        } else if (flag == "--delay-ms") {
            a.delay_ms = value;
        } else if (flag == "--small") {
            a.small = value;
        }
    }
    return a;
}

int failures(const std::vector<Result<http::Response>>& results) {
    int n = 0;
    for (const auto& r : results) {
        n += (r.ok() && r->status == 200) ? 0 : 1;
    }
    return n;
}

void compare(const char* label, const http::Client& client, const std::string& url, const Args& a) {
    std::vector<http::Request> requests(static_cast<std::size_t>(a.requests));
    for (auto& r : requests) {
        r.url = url;
    }
    auto start = Clock::now();
    int sequential_failures = 0;
    for (const auto& r : requests) {
        auto res = client.perform(r);
        sequential_failures += (res.ok() && res->status == 200) ? 0 : 1;
    }
    const double sequential = seconds_since(start);
    start = Clock::now();
    const auto results = client.perform_all(requests, requests.size());
    const double parallel = seconds_since(start);
    start = Clock::now();
    const auto bounded = client.perform_all(requests, 8);
    const double parallel8 = seconds_since(start);
    std::printf("%-28s sequential %7.3f s | perform_all %7.3f s (x%.1f) | perform_all max 8 %7.3f "
                "s | failures %d/%d/%d\n",
                label, sequential, parallel, sequential / parallel, parallel8, sequential_failures,
                failures(results), failures(bounded));
}

} // namespace

int main(int argc, char** argv) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const Args a = parse(argc, argv);
    {
        TestServer server;
        server.on("GET", "/slow",
                  [&](const httplib::Request&, httplib::Response& res, std::size_t) {
                      server.sleep(std::chrono::milliseconds(a.delay_ms));
                      res.set_content(R"({"status":"success"})", "application/json");
                  });
        server.on("GET", "/small",
                  [](const httplib::Request&, httplib::Response& res, std::size_t) {
                      res.set_content(R"({"status":"success","data":[]})", "application/json");
                  });
        server.start();

        http::ClientOptions options;
        options.retry = http::RetryPolicy::none();
        const http::Client client(options);

        std::printf("http_bench: %d requests, server delay %d ms, libcurl %s\n", a.requests,
                    a.delay_ms, curl_version_info(CURLVERSION_NOW)->version);
        compare("direct", client, server.url("/slow"), a);

        FaultProxy::Options proxy_options;
        proxy_options.upstream = server.url();
        FaultProxy proxy(proxy_options);
        FaultSettings delay;
        delay.delay = std::chrono::milliseconds(a.delay_ms);
        proxy.set(delay);
        compare("via fault-proxy (+delay)", client, proxy.url("/small"), a);

        http::Request small;
        small.url = server.url("/small");
        auto start = Clock::now();
        int failed = 0;
        for (int i = 0; i < a.small; ++i) {
            auto r = client.perform(small);
            failed += (r.ok() && r->status == 200) ? 0 : 1;
        }
        double elapsed = seconds_since(start);
        std::printf("small GETs, sequential perform: %d in %.3f s = %.0f req/s (%.3f ms each), "
                    "failures %d\n",
                    a.small, elapsed, a.small / elapsed, 1000.0 * elapsed / a.small, failed);

        std::vector<http::Request> batch(static_cast<std::size_t>(a.small), small);
        start = Clock::now();
        const auto results = client.perform_all(batch, 8);
        elapsed = seconds_since(start);
        std::printf("small GETs, perform_all max 8:  %d in %.3f s = %.0f req/s, failures %d\n",
                    a.small, elapsed, a.small / elapsed, failures(results));
    }
    curl_global_cleanup();
    return 0;
}
