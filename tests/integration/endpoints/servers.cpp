#include "servers.h"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <signal.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace oncall::test {

Daemon::Daemon(std::vector<std::string> argv, std::string log_file) : m_log(std::move(log_file)) {
    std::vector<char*> args;
    for (auto& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    m_pid = ::fork();
    if (m_pid == 0) {
        ::setpgid(0, 0);
        const int fd = ::open(m_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, 0);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    REQUIRE(m_pid > 0);
    ::setpgid(m_pid, m_pid);
}

Daemon::~Daemon() {
    if (m_pid <= 0) {
        return;
    }
    ::kill(-m_pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
        if (::waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(-m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
}

bool Daemon::running() const {
    return m_pid > 0 && ::waitpid(m_pid, nullptr, WNOHANG) == 0;
}

std::string Daemon::log() const {
    std::ifstream in(m_log);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

std::string bcrypt_line(const std::string& user, const std::string& password) {
    // -i reads the password from stdin, so it is not on a command line.
    ProcessOptions o;
    o.stdin_data = password + "\n";
    const auto r = run_process({"htpasswd", "-niB", "-C", "5", user}, o);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::string line = r.out.substr(0, r.out.find('\n'));
    REQUIRE(line.rfind(user + ":$2", 0) == 0);
    return line;
}

void wait_until_ready(const Daemon& daemon, const std::vector<std::string>& curl_args) {
    std::vector<std::string> argv{"curl", "-sf", "-o", "/dev/null", "--max-time", "2"};
    argv.insert(argv.end(), curl_args.begin(), curl_args.end());
    for (int i = 0; i < 200; ++i) {
        if (run_process(argv).exit_code == 0) {
            return;
        }
        if (!daemon.running()) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("server did not become ready; its log:\n" << daemon.log());
}

std::map<std::string, std::string> cluster_env() {
    return sandbox_env();
}

std::string write_config(const TempDir& dir, const std::string& prometheus,
                         const std::string& alertmanager, const std::string& registry,
                         const std::string& services, const std::string& server) {
    const auto env = cluster_env();
    std::string text = "current-context: c\ncontexts:\n  c:\n    kubernetes:\n";
    text += "      server: " + (server.empty() ? env.at("ONCALL_SANDBOX_URL") : server) + "\n";
    text += "      namespace: shop\n";
    text += "      token-file: " + env.at("ONCALL_K8S_TOKEN_FILE") + "\n";
    text += "      ca-file: " + env.at("ONCALL_SANDBOX_CA") + "\n";
    if (!prometheus.empty()) {
        text += "    prometheus: " + prometheus + "\n";
    }
    if (!alertmanager.empty()) {
        text += "    alertmanager: " + alertmanager + "\n";
    }
    if (!registry.empty()) {
        text += "    registry: " + registry + "\n";
    }
    text += "    access:\n      require-grant: true\n      roles:\n"
            "        deployer: { service-account: oncall-deployer, max: 1h }\n"
            "services:\n  checkout:\n    slo: { error-ratio: 0.01, latency-p99: 0.5 }\n"
            "  payments:\n    slo: { error-ratio: 0.01, latency-p99: 0.5 }\n" +
            services;
    return dir.write("config.yaml", text, 0600);
}

ProcessResult oncall_with(const std::string& config, const TempDir& state,
                          const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env) {
    ProcessOptions o;
    o.env = cluster_env();
    o.env["ONCALL_CONFIG"] = config;
    o.env["XDG_STATE_HOME"] = state.path();
    for (const auto& [k, v] : env) {
        o.env[k] = v;
    }
    o.unset_env = {"ONCALL_CONTEXT", "NO_COLOR", "DOCKER_CONFIG", "REGISTRY_AUTH_FILE",
                   "XDG_RUNTIME_DIR"};
    for (const auto& [k, v] : env) {
        o.unset_env.erase(std::remove(o.unset_env.begin(), o.unset_env.end(), k),
                          o.unset_env.end());
    }
    o.timeout = std::chrono::seconds(120);
    return run_oncall(args, o);
}

nlohmann::json json_of(const ProcessResult& r) {
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
}

nlohmann::json source_of(const nlohmann::json& report, const std::string& name) {
    for (const auto& s : report.at("sources")) {
        if (s.at("name") == name) {
            return s;
        }
    }
    FAIL("no source " << name << " in " << report.dump());
    return {};
}

std::string base64(const std::string& bytes) {
    static const char* k_alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (const unsigned char c : bytes) {
        buffer = (buffer << 8u) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(k_alphabet[(buffer >> static_cast<unsigned>(bits)) & 0x3Fu]);
        }
    }
    if (bits > 0) {
        out.push_back(k_alphabet[(buffer << static_cast<unsigned>(6 - bits)) & 0x3Fu]);
    }
    while (out.size() % 4 != 0) {
        out.push_back('=');
    }
    return out;
}

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

std::string all_files_under(const std::string& dir) {
    std::string out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
        if (entry.is_regular_file()) {
            std::ifstream in(entry.path(), std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            out += ss.str();
        }
    }
    return out;
}

} // namespace oncall::test
