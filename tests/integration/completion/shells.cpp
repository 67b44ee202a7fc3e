#include "shells.h"

#include <algorithm>
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <netinet/in.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace oncall::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) {
            out.push_back(line);
        }
    }
    return out;
}

std::string suite_dir() {
    return required_env("ONCALL_SOURCE_DIR") + "/tests/integration/completion";
}

int bound_socket(int& port_out) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("socket failed");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("bind failed");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_out = ntohs(addr.sin_port);
    return fd;
}

} // namespace

std::string completions_dir() {
    return required_env("ONCALL_SOURCE_DIR") + "/completions";
}

bool contains(const std::vector<std::string>& items, const std::string& value) {
    return std::find(items.begin(), items.end(), value) != items.end();
}

int closed_port() {
    int port = 0;
    ::close(bound_socket(port));
    return port;
}

Blackhole::Blackhole() {
    m_fd = bound_socket(m_port);
    ::listen(m_fd, 1); // never accepted: connections queue (or their SYNs are dropped) and hang
}

Blackhole::~Blackhole() {
    if (m_fd >= 0) {
        ::close(m_fd);
    }
}

CompletionWorld::CompletionWorld(const std::string& config_yaml) {
    m_config = m_dir.write("config.yaml", config_yaml, 0600);
    std::filesystem::create_directories(m_dir.path() + "/home");
    std::filesystem::create_directories(m_dir.path() + "/state");
}

ProcessOptions CompletionWorld::options() const {
    ProcessOptions o;
    const auto bin_dir = std::filesystem::path(required_env("ONCALL_BIN")).parent_path().string();
    const char* path = std::getenv("PATH");
    o.env["PATH"] = bin_dir + ":" + (path != nullptr ? path : "/usr/bin:/bin");
    o.env["ONCALL_CONFIG"] = m_config;
    o.env["XDG_STATE_HOME"] = m_dir.path() + "/state";
    o.env["XDG_CONFIG_HOME"] = m_dir.path() + "/home/.config";
    o.env["XDG_DATA_HOME"] = m_dir.path() + "/home/.local/share";
    o.env["HOME"] = m_dir.path() + "/home";
    o.env["TERM"] = "xterm";
    o.unset_env = {"ONCALL_CONTEXT", "ONCALL_COMPLETION_TIMEOUT", "BASH_ENV", "ENV", "ZDOTDIR"};
    o.timeout = std::chrono::seconds(30);
    for (const auto& [k, v] : m_env) {
        o.env[k] = v;
    }
    return o;
}

std::vector<std::string> CompletionWorld::run_lines(const std::vector<std::string>& argv,
                                                    const char* what) const {
    const auto r = run_process(argv, options());
    INFO(what << " stderr: " << r.err);
    REQUIRE_FALSE(r.timed_out);
    REQUIRE(r.exit_code == 0);
    return lines_of(r.out);
}

std::vector<std::string> CompletionWorld::bash(const std::string& line) const {
    return run_lines({"bash", "--norc", "--noprofile", suite_dir() + "/bash_complete.sh",
                      completions_dir() + "/oncall.bash", line},
                     "bash");
}

std::vector<std::string> CompletionWorld::fish(const std::string& line) const {
    std::string quoted = "'";
    for (const char c : line) {
        if (c == '\'' || c == '\\') {
            quoted += '\\';
        }
        quoted += c;
    }
    quoted += "'";
    auto out = run_lines({"fish", "--no-config", "-c",
                          "source " + completions_dir() + "/oncall.fish; complete -C " + quoted},
                         "fish");
    for (auto& l : out) {
        l = l.substr(0, l.find('\t'));
    }
    return out;
}

std::vector<std::string> CompletionWorld::zsh(const std::string& line) const {
    const auto out_dir = m_dir.path() + "/zsh";
    std::filesystem::create_directories(out_dir);
    return run_lines(
        {"zsh", "-f", suite_dir() + "/zsh_complete.zsh", completions_dir(), out_dir, line}, "zsh");
}

ProcessResult CompletionWorld::complete(const std::vector<std::string>& words) const {
    std::vector<std::string> args{"__complete", "--no-descriptions", "--"};
    args.insert(args.end(), words.begin(), words.end());
    return run_oncall(args, options());
}

} // namespace oncall::test
