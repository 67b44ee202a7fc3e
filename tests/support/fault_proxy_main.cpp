// fault-proxy: the fault-injecting proxy as a program, for benchmark harnesses and manual runs.
//
//   fault-proxy --upstream http://127.0.0.1:9090 [--port N] [--ca-file F] [--insecure]
//               [--mode MODE] [--delay-ms N] [--status N] [--retry-after V] [--html-status N]
//               [--oversized-bytes N] [--oversized-declares-length] [--truncated-length-matches]
//               [--trickle-ms N] [--redirect URL] [--fault-count N] [--path PREFIX]
//
// Prints "listening on http://127.0.0.1:PORT" once ready, then serves until SIGINT/SIGTERM.
// Settings can be changed while it runs: GET /__fault-proxy/set?mode=status&status=503&delay-ms=100

#include "fault_proxy.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <curl/curl.h>
#include <string>
#include <thread>

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
    g_stop = 1;
}

int usage(const char* error) {
    std::fprintf(
        stderr,
        "fault-proxy: %s\n"
        "usage: fault-proxy --upstream URL [--port N] [--ca-file FILE] [--insecure] [--mode MODE]\n"
        "                   [--delay-ms N] [--status N] [--retry-after VALUE] [--html-status N]\n"
        "                   [--oversized-bytes N] [--oversized-declares-length] "
        "[--truncated-length-matches]\n"
        "                   [--trickle-ms N] [--redirect URL] [--fault-count N] [--path PREFIX]\n"
        "modes: pass status reset html_page truncated_json oversized slow_loris endless_chunked "
        "redirect\n"
        "       huge_headers garbage\n",
        error);
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    using namespace oncall::test;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    FaultProxy::Options options;
    FaultSettings settings;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (arg == "--help" || arg == "-h") {
            usage("a fault-injecting HTTP proxy for tests");
            return 0;
        }
        if (arg == "--insecure") {
            options.insecure = true;
        } else if (arg == "--oversized-declares-length" || arg == "--truncated-length-matches") {
            apply_fault_setting(settings, arg.substr(2), "true");
        } else if (arg == "--upstream" || arg == "--ca-file" || arg == "--port") {
            const char* v = value();
            if (v == nullptr) {
                return usage((arg + " needs a value").c_str());
            }
            if (arg == "--upstream") {
                options.upstream = v;
            } else if (arg == "--ca-file") {
                options.ca_file = v;
            } else {
                try {
                    options.port = std::stoi(v);
                } catch (const std::exception&) {
                    return usage("--port needs a number");
                }
            }
        } else if (arg.rfind("--", 0) == 0) {
            const char* v = value();
            if (v == nullptr) {
                return usage((arg + " needs a value").c_str());
            }
            if (const std::string error = apply_fault_setting(settings, arg.substr(2), v);
                !error.empty()) {
                return usage(error.c_str());
            }
        } else {
            return usage(("unexpected argument " + arg).c_str());
        }
    }
    if (options.upstream.empty() && settings.mode == FaultMode::pass) {
        return usage("--upstream is required");
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    try {
        FaultProxy proxy(options);
        proxy.set(settings);
        std::printf("listening on %s\n", proxy.url().c_str());
        std::fflush(stdout);
        while (g_stop == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        std::fprintf(stderr, "fault-proxy: %zu requests\n", proxy.request_count());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fault-proxy: %s\n", e.what());
        return 1;
    }
    curl_global_cleanup();
    return 0;
}
