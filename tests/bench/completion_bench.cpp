// completion_bench: how long one TAB takes, i.e. one run of `oncall __complete`, process start-up
// included, in the situations a shell meets.
//
//   ONCALL_BIN=build/dev/apps/oncall/oncall build/dev/tests/bench/completion_bench [--runs N]
//
// With ONCALL_SANDBOX_STATE set to a running practice cluster's state directory, the services and
// revisions look-ups against it are measured too (cold: empty cache; warm: answered from the
// cache).

#include "process.h"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace oncall::test;
using Clock = std::chrono::steady_clock;

namespace {

// A loopback listener that never accepts (port > 0), or a port just closed (listen = false).
struct Port {
    int fd = -1;
    int port = 0;
    explicit Port(bool listen) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        socklen_t len = sizeof addr;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        port = ntohs(addr.sin_port);
        if (listen) {
            ::listen(fd, 1);
        } else {
            ::close(fd);
            fd = -1;
        }
    }
    ~Port() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

std::string config_for(const std::string& server) {
    return "current-context: local\ncontexts:\n  local:\n    kubernetes: { server: \"" + server +
           "\", namespace: shop }\n  prod:\n    kubernetes: { server: \"http://127.0.0.1:1\" }\n"
           "services:\n  checkout: {}\n  payments: {}\n";
}

// Runs one TAB `runs` times; `fresh_state` empties the cache before each run.
void measure(const char* label, const std::string& config, const std::vector<std::string>& words,
             int runs, bool fresh_state) {
    TempDir dir;
    const auto config_path = dir.write("config.yaml", config);
    std::vector<double> ms;
    std::string answer;
    for (int i = 0; i < runs; ++i) {
        const auto state =
            dir.path() + "/state" + (fresh_state ? std::to_string(i) : std::string{});
        ProcessOptions o;
        o.env = {{"ONCALL_CONFIG", config_path}, {"XDG_STATE_HOME", state}};
        o.unset_env = {"ONCALL_CONTEXT"};
        o.timeout = std::chrono::seconds(30);
        std::vector<std::string> args{"__complete", "--no-descriptions", "--"};
        args.insert(args.end(), words.begin(), words.end());
        const auto start = Clock::now();
        const auto r = run_oncall(args, o);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        answer = r.out;
        if (r.timed_out || r.exit_code != 0) {
            std::printf("%-44s run %d failed (exit %d)\n", label, i, r.exit_code);
        }
    }
    std::sort(ms.begin(), ms.end());
    std::replace(answer.begin(), answer.end(), '\n', ' ');
    if (answer.size() > 40) {
        answer = answer.substr(0, 37) + "...";
    }
    std::printf("%-44s min %7.1f  median %7.1f  max %7.1f ms   -> %s\n", label, ms.front(),
                ms[ms.size() / 2], ms.back(), answer.c_str());
}

} // namespace

int main(int argc, char** argv) {
    int runs = 15;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::string(argv[i]) == "--runs") {
            runs = std::max(1, std::atoi(argv[i + 1]));
        }
    }
    std::printf("one TAB = one `oncall __complete` process; %d runs each\n", runs);
    const Port closed(false);
    const auto down = config_for("http://127.0.0.1:" + std::to_string(closed.port));
    measure("commands (no look-up)", down, {"conf"}, runs, true);
    measure("contexts from the configuration", down, {"--context", ""}, runs, true);
    measure("services, API port closed, cold", down, {"status", ""}, runs, true);
    measure("services, API port closed, failure cached", down, {"status", ""}, runs, false);
    {
        const Port hole(true);
        const auto blackholed = config_for("http://127.0.0.1:" + std::to_string(hole.port));
        measure("services, API blackholed, cold", blackholed, {"status", ""}, std::min(runs, 5),
                true);
        measure("services, API blackholed, failure cached", blackholed, {"status", ""}, runs,
                false);
    }
    if (const char* state = std::getenv("ONCALL_SANDBOX_STATE");
        state != nullptr && *state != '\0') {
        std::ifstream in(sandbox_env().at("ONCALL_CONFIG"));
        std::stringstream text;
        text << in.rdbuf();
        measure("services from the sandbox, cold", text.str(), {"status", ""}, runs, true);
        measure("services from the sandbox, cached", text.str(), {"status", ""}, runs, false);
        measure("revisions of checkout, cold", text.str(),
                {"rollback", "checkout", "--to-revision", ""}, runs, true);
        measure("revisions of checkout, cached", text.str(),
                {"rollback", "checkout", "--to-revision", ""}, runs, false);
    } else {
        std::printf("(set ONCALL_SANDBOX_STATE to a running sandbox's state directory to measure "
                    "look-ups against it)\n");
    }
    return 0;
}
