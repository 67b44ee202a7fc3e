#pragma once
// The workstation of the hostile-server and crash-safety suites: the practice cluster's
// configuration with each backend behind a fault proxy of its own, a private state directory
// (grants, audit log), and helpers to run oncall and to look at what reached the cluster.

#include "fault_proxy.h"
#include "process.h"
#include "test_server.h"

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oncall::test {

/// A practice-cluster client whose four backends are reached through fault proxies.
class HostileWorkstation {
public:
    HostileWorkstation();

    FaultProxy& kube() { return *m_kube; }
    FaultProxy& prometheus() { return *m_prometheus; }
    FaultProxy& alertmanager() { return *m_alertmanager; }
    FaultProxy& registry() { return *m_registry; }

    /// Runs oncall with this workstation's configuration and state (stdin not a terminal).
    ProcessResult oncall(const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;

    /// Gets a deployer grant for `service` (through the proxies, in pass mode).
    void grant(const std::string& service);

    /// What the configuration file may change from the proxied default.
    struct ConfigOverrides {
        std::string kube_url;                           // instead of the kube proxy
        std::string kube_ca;                            // instead of the practice cluster's CA
        std::string registry_url;                       // instead of the registry proxy
        std::string registry_token_env;                 // registry token-env
        std::vector<std::string> checkout_repositories; // services.checkout.repositories
    };

    /// Rewrites the configuration file (the practice cluster's, with the proxies' URLs).
    void write_config(const ConfigOverrides& overrides = {});

    /// Sets all four proxies back to pass mode and forgets their recorded requests.
    void reset_proxies();

    /// Requests that reached the cluster through the kube proxy with a writing method (other than
    /// SelfSubjectReviews, which store nothing).
    std::vector<ProxiedRequest> kube_writes() const;

    /// The Deployment as the cluster holds it now (read directly, not through the proxy).
    nlohmann::json deployment(const std::string& name) const;

    std::string env(const std::string& key) const { return m_env.at(key); }
    void set_env(const std::string& key, const std::string& value) { m_env[key] = value; }
    const std::string& state_dir() const { return m_state.path(); }
    std::string audit_file() const { return m_state.path() + "/oncall/audit.jsonl"; }
    std::string grants_dir() const { return m_state.path() + "/oncall/grants"; }
    std::string config_file() const { return m_files.path() + "/config.yaml"; }
    std::string engineer_token() const;

private:
    std::map<std::string, std::string> m_sandbox;
    std::map<std::string, std::string> m_env;
    TempDir m_files;
    TempDir m_state;
    std::unique_ptr<FaultProxy> m_kube;
    std::unique_ptr<FaultProxy> m_prometheus;
    std::unique_ptr<FaultProxy> m_alertmanager;
    std::unique_ptr<FaultProxy> m_registry;
};

/// Reads a whole file ("" when it does not exist).
/// True when every line of the file is a complete JSON object and the file ends with a newline
/// (an empty or missing file counts as parseable); `why` says what is wrong otherwise.
bool audit_log_parseable(const std::string& path, std::string& why);

} // namespace oncall::test
