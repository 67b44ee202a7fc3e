// Crash safety of the local records: kill -9 of oncall at any point of a rollback (or of a grant
// request) leaves the audit log parseable and the grant store consistent; a full disk under the
// audit log makes a change fail before it reports success.

#include "hostile.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/mount.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

using namespace oncall::test;
using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// Starts oncall with the workstation's environment, waits `after`, then kill -9s it (if it is
/// still running). Returns true when the kill landed before the process ended by itself.
bool run_and_kill(const std::map<std::string, std::string>& env,
                  const std::vector<std::string>& args, std::chrono::milliseconds after) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string kv = *e;
        if (env.count(kv.substr(0, kv.find('='))) == 0) {
            env_strings.push_back(kv);
        }
    }
    for (const auto& [k, v] : env) {
        env_strings.push_back(k + "=" + v);
    }
    std::vector<char*> envp;
    for (auto& s : env_strings) {
        envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    std::vector<std::string> argv_strings{required_env("ONCALL_BIN")};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) {
        argv.push_back(s.data());
    }
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    std::this_thread::sleep_for(after);
    int status = 0;
    const bool ended = ::waitpid(pid, &status, WNOHANG) == pid;
    if (!ended) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    return !ended;
}

/// Every grant file (not a hidden temporary) parses, and `oncall access list` works.
void check_grant_store(const HostileWorkstation& ws, const std::string& when) {
    INFO(when);
    if (fs::exists(ws.grants_dir())) {
        for (const auto& entry : fs::directory_iterator(ws.grants_dir())) {
            const std::string name = entry.path().filename().string();
            if (name.rfind('.', 0) == 0) {
                continue; // a temporary the store writes before its atomic rename
            }
            INFO(name);
            const auto j = json::parse(read_text(entry.path().string()), nullptr, false);
            CHECK_FALSE(j.is_discarded());
        }
    }
    const auto list = ws.oncall({"access", "list", "-o", "json"});
    INFO(list.err);
    CHECK(list.exit_code == 0);
    CHECK_FALSE(json::parse(list.out, nullptr, false).is_discarded());
}

/// A revision of `service` that is not the current one (rollbacks renumber revisions, as kubectl's
/// do).
std::string other_revision(const HostileWorkstation& ws, const std::string& service) {
    const auto r = ws.oncall({"history", service, "-o", "json"});
    REQUIRE(r.exit_code == 0);
    const auto j = json::parse(r.out);
    for (const auto& rev : j.at("revisions")) {
        if (!rev.value("current", false)) {
            return std::to_string(rev.at("revision").get<long>());
        }
    }
    FAIL("no revision other than the current one");
    return {};
}

std::map<std::string, std::string> env_of(const HostileWorkstation& ws) {
    return {{"ONCALL_CONFIG", ws.config_file()}, {"XDG_STATE_HOME", ws.state_dir()}};
}

} // namespace

TEST_CASE(
    "kill -9 at any point of a rollback leaves the audit log parseable and the grants consistent",
    "[records]") {
    HostileWorkstation ws;
    ws.grant("checkout");
    // Every request to the cluster takes 25 ms longer, so the kills land between the steps of a
    // rollback (reads, plan, PATCH, Event, watch, audit) rather than all before the first one.
    FaultSettings slow;
    slow.delay = 25ms;
    ws.kube().set(slow);
    const std::vector<std::string> base{"rollback",     "checkout",
                                        "--yes",        "--no-verify",
                                        "--reason",     "crash-safety: kill -9 during a rollback",
                                        "--to-revision"};
    // One uninterrupted run first: how long a rollback takes here, to spread the kill points over
    // it.
    const auto started = std::chrono::steady_clock::now();
    auto first = base;
    first.push_back(other_revision(ws, "checkout"));
    const auto r = ws.oncall(first);
    const auto full = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    INFO(r.err);
    REQUIRE((r.exit_code == 0 || r.exit_code == 7));
    std::string why;
    REQUIRE(audit_log_parseable(ws.audit_file(), why));

    int killed = 0;
    constexpr int k_points = 16;
    for (int i = 0; i < k_points; ++i) {
        auto args = base;
        args.push_back(other_revision(ws, "checkout"));
        const auto at = std::chrono::milliseconds(full.count() * i / k_points);
        killed += run_and_kill(env_of(ws), args, at) ? 1 : 0;
        INFO("kill -9 after " << at.count() << " ms of a " << full.count() << " ms rollback");
        CHECK(audit_log_parseable(ws.audit_file(), why));
        INFO(why);
        check_grant_store(ws, fmt::format("after a kill at {} ms", at.count()));
    }
    fmt::print("RECORDS | rollback of {} ms killed at {} points, {} before it ended\n",
               full.count(), k_points, killed);
    CHECK(killed > k_points / 2);
    // The tool still works afterwards: a plain rollback goes through and appends a whole line.
    ws.kube().set(FaultSettings{});
    auto again = base;
    again.push_back(other_revision(ws, "checkout"));
    const auto after = ws.oncall(again);
    INFO(after.err);
    CHECK((after.exit_code == 0 || after.exit_code == 7));
    CHECK(audit_log_parseable(ws.audit_file(), why));
}

TEST_CASE("kill -9 during grant requests leaves the grant store consistent", "[records]") {
    HostileWorkstation ws;
    FaultSettings slow;
    slow.delay = 25ms;
    ws.kube().set(slow);
    const std::vector<std::string> args{
        "request-access", "payments", "--role",   "deployer",
        "--for",          "10m",      "--reason", "crash-safety: kill -9 during a grant request"};
    const auto started = std::chrono::steady_clock::now();
    const auto r = ws.oncall(args);
    const auto full = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    constexpr int k_points = 12;
    for (int i = 0; i < k_points; ++i) {
        const auto at = std::chrono::milliseconds(full.count() * i / k_points);
        run_and_kill(env_of(ws), args, at);
        std::string why;
        INFO("kill -9 after " << at.count() << " ms of a " << full.count() << " ms request");
        CHECK(audit_log_parseable(ws.audit_file(), why));
        INFO(why);
        check_grant_store(ws, fmt::format("after a kill at {} ms", at.count()));
    }
    // A leftover temporary from an interrupted save is never taken for a grant.
    fs::create_directories(ws.grants_dir());
    std::ofstream(ws.grants_dir() + "/.tmp-grant-crashed") << "{\"context\": \"sandb";
    fs::permissions(ws.grants_dir() + "/.tmp-grant-crashed",
                    fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    check_grant_store(ws, "with a half-written temporary");
}

namespace {

/// A directory whose file system is full: a small tmpfs (when this process may mount), else a
/// directory whose audit.jsonl is a symlink to /dev/full. Either way the audit log refuses the line
/// (ENOSPC on the tmpfs; the symlink is never followed).
class FullDisk {
public:
    explicit FullDisk(const std::string& state_dir) : m_dir(state_dir + "/oncall") {
        fs::create_directories(m_dir);
        if (::mount("tmpfs", m_dir.c_str(), "tmpfs", 0, "size=64k,mode=0700") == 0) {
            m_mounted = true;
            method = "a full 64 KiB tmpfs";
        } else {
            fs::create_symlink("/dev/full", m_dir + "/audit.jsonl");
            method = "audit.jsonl -> /dev/full (no mount permission)";
        }
    }
    ~FullDisk() {
        if (m_mounted) {
            ::umount2(m_dir.c_str(), MNT_DETACH);
        }
    }
    /// Fills the tmpfs (no-op for /dev/full).
    void fill() const {
        if (!m_mounted) {
            return;
        }
        {
            std::ofstream filler(m_dir + "/filler", std::ios::binary);
            const std::string block(4096, 'x');
            while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) &&
                   filler.flush()) {
            }
        }
        // The audit log's last page may still have room (tmpfs allocates whole pages): fill it
        // with newlines, one byte at a time, until the file system refuses.
        const int fd =
            ::open((m_dir + "/audit.jsonl").c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
        while (fd >= 0 && ::write(fd, "\n", 1) == 1) {
        }
        if (fd >= 0) {
            ::close(fd);
        }
    }
    std::string method;

private:
    std::string m_dir;
    bool m_mounted = false;
};

} // namespace

TEST_CASE("a full disk under the audit log fails the change before it reports success",
          "[records]") {
    HostileWorkstation ws;
    FullDisk disk(ws.state_dir());
    ws.grant("checkout"); // the grant file fits; the disk is filled after it
    disk.fill();
    fmt::print("RECORDS | full disk simulated with {}\n", disk.method);
    const auto before = ws.deployment("checkout");
    const auto r =
        ws.oncall({"rollback", "checkout", "--yes", "--no-wait", "--to-revision",
                   other_revision(ws, "checkout"), "--reason",
                   "crash-safety: rollback with a full disk under the audit log", "-o", "json"});
    INFO(r.out << "\n" << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("audit") != std::string::npos);
    CHECK(r.out.find("\"done\"") == std::string::npos); // no success document
    const auto text = ws.oncall({"rollback", "checkout", "--yes", "--no-wait", "--to-revision",
                                 other_revision(ws, "checkout"), "--reason",
                                 "crash-safety: rollback with a full disk under the audit log"});
    INFO(text.out << "\n" << text.err);
    CHECK(text.exit_code != 0);
    CHECK(text.out.find("now") == std::string::npos); // no "rollback: checkout now ..." line
    CHECK(text.err.find("audit") != std::string::npos);
    CHECK(text.err.find("nothing was changed") != std::string::npos);
    // Write-ahead: the intent could not be recorded, so nothing reached the cluster.
    const auto after = ws.deployment("checkout");
    CHECK(after.at("metadata").at("resourceVersion") ==
          before.at("metadata").at("resourceVersion"));
    CHECK(after.at("metadata").at("generation") == before.at("metadata").at("generation"));

    // A grant request with a full disk fails too (its audit line cannot be written).
    const auto grant =
        ws.oncall({"request-access", "payments", "--role", "deployer", "--for", "10m", "--reason",
                   "crash-safety: grant with a full disk under the audit log"});
    INFO(grant.out << "\n" << grant.err);
    CHECK(grant.exit_code != 0);
}
