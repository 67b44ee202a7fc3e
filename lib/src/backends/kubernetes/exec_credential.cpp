// Exec credential plugins: KUBERNETES_EXEC_INFO, running the plugin under a deadline, decoding its
// ExecCredential, and the on-disk cache (0600 files in a 0700 folder).

#include "backends/kubernetes/exec_credential.h"

#include "backends/kubernetes/files.h"
#include "backends/text.h"
#include "oncall/core/duration.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace oncall::kube {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::size_t k_max_output = 1u << 20u;
constexpr auto k_expiry_margin = std::chrono::minutes(1);

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(std::max(n, 0)));
    return out;
}

fs::path cache_dir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg != nullptr && *xdg != '\0') {
        return fs::path(xdg) / "oncall" / "exec";
    }
    const char* home = std::getenv("HOME");
    return fs::path(home != nullptr ? home : "/tmp") / ".cache" / "oncall" / "exec";
}

Error plugin_error(const ExecConfig& exec, const std::string& what) {
    return make_error(Errc::access_denied,
                      fmt::format("exec credential plugin {}: {}", exec.command, what));
}

// $ONCALL_EXEC_TIMEOUT, else the caller's deadline for a plugin without the terminal (a command's
// source deadline), else 60s; 5 minutes for a plugin that has the terminal (a login).
std::chrono::milliseconds plugin_deadline(bool interactive, std::chrono::milliseconds requested) {
    if (const char* env = std::getenv("ONCALL_EXEC_TIMEOUT"); env != nullptr && *env != '\0') {
        if (auto d = parse_duration(env); d && d->count() > 0) {
            return *d;
        }
    }
    if (interactive) {
        return std::chrono::minutes(5);
    }
    return requested.count() > 0 ? requested : std::chrono::seconds(60);
}

// Decodes a plugin's stdout. The text is never quoted in errors: it may hold a credential.
Result<ExecCredential> decode_credential(const ExecConfig& exec, const std::string& out) {
    const json doc = json::parse(out, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return plugin_error(
            exec, fmt::format("its output ({} bytes) is not an ExecCredential JSON object; run the "
                              "command by hand to see what it prints",
                              out.size()));
    }
    const auto str = [&](const json& o, const char* key) -> std::string {
        const auto it = o.find(key);
        return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (str(doc, "kind") != "ExecCredential") {
        return plugin_error(exec, "its output is not an ExecCredential (kind)");
    }
    if (str(doc, "apiVersion") != exec.api_version) {
        return plugin_error(
            exec, fmt::format("is configured to use API version {}, plugin returned version {}",
                              exec.api_version, str(doc, "apiVersion")));
    }
    const auto status = doc.find("status");
    if (status == doc.end() || !status->is_object()) {
        return plugin_error(exec, "it didn't return a status field");
    }
    ExecCredential c;
    c.token = str(*status, "token");
    c.client_cert_pem = str(*status, "clientCertificateData");
    c.client_key_pem = str(*status, "clientKeyData");
    if (c.token.empty() && c.client_cert_pem.empty() && c.client_key_pem.empty()) {
        return plugin_error(exec, "it didn't return a token or cert/key pair");
    }
    if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
        return plugin_error(exec, "it returned only certificate or key, not both");
    }
    const std::string expires = str(*status, "expirationTimestamp");
    if (!expires.empty()) {
        auto t = parse_rfc3339(expires);
        if (!t) {
            return plugin_error(exec, "its expirationTimestamp is not an RFC 3339 time");
        }
        c.expires = *t;
    }
    return c;
}

// Runs the plugin: the environment plus exec.env plus KUBERNETES_EXEC_INFO, stdin only when
// interactive, stderr passed through, stdout captured (bounded); stopped at the deadline.
Result<std::string> run_plugin(const Connection& connection, bool interactive,
                               std::chrono::milliseconds deadline_length) {
    const ExecConfig& exec = *connection.exec;
    std::map<std::string, std::string> overrides;
    for (const auto& [name, value] : exec.env) {
        overrides[name] = value;
    }
    overrides["KUBERNETES_EXEC_INFO"] = exec_info(connection, interactive);
    std::vector<std::string> env_storage;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const std::string name(entry.substr(0, entry.find('=')));
        if (overrides.count(name) == 0) {
            env_storage.emplace_back(entry);
        }
    }
    for (const auto& [name, value] : overrides) {
        env_storage.push_back(name + "=" + value);
    }
    std::vector<char*> envp;
    for (auto& e : env_storage) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    std::vector<std::string> arg_storage{exec.command};
    arg_storage.insert(arg_storage.end(), exec.args.begin(), exec.args.end());
    std::vector<char*> argv;
    for (auto& a : arg_storage) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);

    int out_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        return make_error(Errc::io, fmt::format("cannot create a pipe for the exec plugin: {}",
                                                std::strerror(errno)));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    if (!interactive) {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (!interactive) {
        flags |= POSIX_SPAWN_SETPGROUP; // its own group, so a hung plugin and its children can be
                                        // stopped
        posix_spawnattr_setpgroup(&attr, 0);
    }
    posix_spawnattr_setflags(&attr, flags);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    pid_t pid = 0;
    const int spawned =
        ::posix_spawnp(&pid, exec.command.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(out_pipe[1]);
    if (spawned != 0) {
        ::close(out_pipe[0]);
        if (spawned == ENOENT || spawned == EACCES || spawned == ENOTDIR) {
            std::string message = fmt::format("executable {} not found{}", exec.command,
                                              spawned == EACCES ? " or not executable" : "");
            if (!exec.install_hint.empty()) {
                message += "\n\nIt looks like you are trying to use a client-go credential plugin "
                           "that is not "
                           "installed.\n\n" +
                           exec.install_hint;
            } else {
                message += "; install it, or fix users[].user.exec.command in the kubeconfig";
            }
            return make_error(Errc::access_denied, message);
        }
        return plugin_error(exec, fmt::format("cannot start it: {}", std::strerror(spawned)));
    }

    const auto deadline = std::chrono::steady_clock::now() + deadline_length;
    std::string out;
    bool too_large = false;
    bool timed_out = false;
    char buffer[8192];
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{out_pipe[0], POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            continue;
        }
        const ssize_t n = ::read(out_pipe[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        if (out.size() + static_cast<std::size_t>(n) > k_max_output) {
            too_large = true;
            break;
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out_pipe[0]);
    int status = 0;
    if (timed_out || too_large) {
        ::kill(interactive ? pid : -pid, SIGTERM);
        for (int i = 0; i < 20; ++i) {
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                pid = 0;
                break;
            }
            ::usleep(50 * 1000);
        }
        if (pid != 0) {
            ::kill(interactive ? pid : -pid, SIGKILL);
            ::waitpid(pid, &status, 0);
        }
        if (timed_out) {
            return plugin_error(
                exec, fmt::format("did not finish within {} and was stopped; check that it works "
                                  "when run by hand (set ONCALL_EXEC_TIMEOUT to allow longer)",
                                  format_duration(deadline_length)));
        }
        return plugin_error(exec, "its output is larger than 1 MiB");
    }
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        return plugin_error(exec, fmt::format("failed with exit code {}", WEXITSTATUS(status)));
    }
    if (WIFSIGNALED(status)) {
        return plugin_error(exec, fmt::format("was killed by signal {}", WTERMSIG(status)));
    }
    return out;
}

std::optional<ExecCredential> read_cache(const std::string& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || st.st_uid != ::getuid() || (st.st_mode & 077) != 0) {
        return std::nullopt;
    }
    auto text = read_file(file, "exec credential cache");
    if (!text) {
        return std::nullopt;
    }
    const json doc = json::parse(*text, nullptr, false);
    if (!doc.is_object()) {
        return std::nullopt;
    }
    ExecCredential c;
    c.token = doc.value("token", "");
    c.client_cert_pem = doc.value("client_certificate_data", "");
    c.client_key_pem = doc.value("client_key_data", "");
    auto expires = parse_rfc3339(doc.value("expires", ""));
    if (!expires || (c.token.empty() && c.client_cert_pem.empty())) {
        return std::nullopt;
    }
    c.expires = *expires;
    c.from_cache = true;
    return c;
}

void write_cache(const std::string& file, const ExecCredential& c) {
    std::error_code ec;
    const fs::path dir = fs::path(file).parent_path();
    fs::create_directories(dir, ec);
    if (ec) {
        return;
    }
    ::chmod(dir.c_str(), 0700);
    json doc{{"token", c.token},
             {"client_certificate_data", c.client_cert_pem},
             {"client_key_data", c.client_key_pem},
             {"expires", format_rfc3339(*c.expires)}};
    const std::string tmp = fmt::format("{}.{}.tmp", file, ::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return;
    }
    const std::string text = doc.dump();
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::fchmod(fd, 0600);
    ::close(fd);
    if (!written || ::rename(tmp.c_str(), file.c_str()) != 0) {
        ::unlink(tmp.c_str());
    }
}

} // namespace

std::string exec_cache_file(const ExecConfig& exec, const std::string& server) {
    json key = json::array({exec.command, exec.args, json::array(), server});
    for (const auto& [name, value] : exec.env) {
        key[2].push_back(json::array({name, value}));
    }
    return (cache_dir() / (backends::sha256_hex(key.dump()) + ".json")).string();
}

std::string exec_info(const Connection& connection, bool interactive) {
    const ExecConfig& exec = *connection.exec;
    ordered_json spec = ordered_json::object();
    if (exec.provide_cluster_info) {
        ordered_json cluster = ordered_json::object();
        cluster["server"] = connection.server;
        if (!connection.tls_server_name.empty()) {
            cluster["tls-server-name"] = connection.tls_server_name;
        }
        if (connection.insecure_skip_tls_verify) {
            cluster["insecure-skip-tls-verify"] = true;
        }
        if (auto ca = connection.ca_bundle(); ca && !ca->empty()) {
            cluster["certificate-authority-data"] = base64_encode(*ca);
        }
        if (!connection.proxy_url.empty()) {
            cluster["proxy-url"] = connection.proxy_url;
        }
        // As client-go encodes it: null without the cluster's client.authentication.k8s.io/exec
        // extension.
        cluster["config"] = connection.exec_cluster_json.empty()
                                ? ordered_json(nullptr)
                                : ordered_json::parse(connection.exec_cluster_json, nullptr, false);
        spec["cluster"] = std::move(cluster);
    }
    spec["interactive"] = interactive;
    ordered_json doc = ordered_json::object();
    doc["kind"] = "ExecCredential";
    doc["apiVersion"] = exec.api_version;
    doc["spec"] = std::move(spec);
    return doc.dump() + "\n"; // client-go's encoder ends the document with a newline
}

Result<ExecCredential> exec_credential(const Connection& connection, const ExecRun& run) {
    const ExecConfig& exec = *connection.exec;
    const std::string file = exec_cache_file(exec, connection.server);
    if (run.refresh) {
        ::unlink(file.c_str());
    } else if (auto cached = read_cache(file);
               cached && *cached->expires - k_expiry_margin > now()) {
        if (run.log) {
            run.log(fmt::format("exec plugin {}: using the cached credential (expires {})",
                                exec.command, format_rfc3339(*cached->expires)));
        }
        return std::move(*cached);
    }
    const bool terminal = ::isatty(0) != 0;
    bool interactive = false;
    if (exec.interactive_mode == "IfAvailable") {
        interactive = run.allow_interactive && terminal;
    } else if (exec.interactive_mode == "Always") {
        if (!run.allow_interactive) {
            return plugin_error(
                exec, "needs the terminal (interactiveMode Always) and is not started during "
                      "completion; run any oncall command once to log in");
        }
        if (!terminal) {
            return plugin_error(
                exec, "needs the terminal (interactiveMode Always) but standard input is not a "
                      "terminal; run oncall from a terminal once to log in");
        }
        interactive = true;
    }
    if (run.log) {
        run.log(fmt::format("exec plugin {}: running{}", exec.command,
                            interactive ? " (interactive)" : ""));
    }
    auto out = run_plugin(connection, interactive, plugin_deadline(interactive, run.deadline));
    if (!out) {
        return out.error();
    }
    auto credential = decode_credential(exec, *out);
    if (!credential) {
        return credential.error();
    }
    if (credential->expires) {
        write_cache(file, *credential);
    }
    return credential;
}

void apply_exec_credential(Connection& connection, const ExecCredential& credential) {
    connection.token = credential.token;
    if (!credential.client_cert_pem.empty()) {
        connection.client_cert_pem = credential.client_cert_pem;
        connection.client_key_pem = credential.client_key_pem;
        connection.client_cert_file.clear();
        connection.client_key_file.clear();
    }
}

} // namespace oncall::kube
