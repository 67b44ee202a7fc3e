#pragma once
// Real servers for the endpoints suite, each started once per test case that needs it: Prometheus,
// Alertmanager and docker-registry on loopback with the web and auth settings a test asks for,
// and the oncall configuration that points at the suite's practice cluster.

#include "process.h"

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oncall::test {

/// A program running in the background in its own process group; stopped (TERM, then KILL) on
/// destruction. Its output goes to LOG.
class Daemon {
public:
    Daemon(std::vector<std::string> argv, std::string log_file);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;
    bool running() const;
    std::string log() const;

private:
    int m_pid = -1;
    std::string m_log;
};

/// A loopback port nobody listens on right now.
int free_port();

/// "user:$2y$..." from `htpasswd -nbB` (bcrypt), as Prometheus' web config and the registry want.
std::string bcrypt_line(const std::string& user, const std::string& password);

/// Runs curl with `args` until it exits 0 (or ~20 s pass); FAILs with the daemon's log otherwise.
void wait_until_ready(const Daemon& daemon, const std::vector<std::string>& curl_args);

/// The practice cluster of this suite ($ONCALL_SANDBOX_STATE/env).
std::map<std::string, std::string> cluster_env();

/// An oncall configuration file (0600) for the suite's cluster with the given YAML for the
/// context's prometheus, alertmanager and registry entries ("" leaves one out), extra lines under
/// services:, and another API server URL (a proxy in front of the sandbox) when `server` is set.
std::string write_config(const TempDir& dir, const std::string& prometheus,
                         const std::string& alertmanager, const std::string& registry = "",
                         const std::string& services = "", const std::string& server = "");

/// Runs oncall with the suite's cluster environment, ONCALL_CONFIG=config and XDG_STATE_HOME in
/// `state`, plus `env`.
ProcessResult oncall_with(const std::string& config, const TempDir& state,
                          const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env = {});

/// The JSON document on stdout (FAILs with the output when it is not one).
nlohmann::json json_of(const ProcessResult& r);

/// The entry of `sources` with this name.
nlohmann::json source_of(const nlohmann::json& report, const std::string& name);

/// Standard base64 of `bytes` (as docker's config.json stores user:password).
std::string base64(const std::string& bytes);

/// A file's text without its trailing newline.
std::string file_text(const std::string& path);

/// Every file under `dir`, concatenated (to look for leaked secrets in state and audit files).
std::string all_files_under(const std::string& dir);

} // namespace oncall::test
