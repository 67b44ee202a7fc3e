#pragma once
// Exec credential plugins (client.authentication.k8s.io/v1 and v1beta1), run as client-go runs
// them, with a deadline, and their credentials cached on disk until shortly before they expire.

#include "oncall/backends/kubernetes.h"
#include "oncall/core/time.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace oncall::kube {

/// What an exec plugin returned.
struct ExecCredential {
    std::string token;
    std::string client_cert_pem;
    std::string client_key_pem;
    std::optional<TimePoint> expires;
    bool from_cache = false;
};

/// How to obtain a credential.
struct ExecRun {
    bool allow_interactive = true; // false: never hand the plugin the terminal (completion)
    bool refresh = false;          // drop the cached credential and run the plugin (after a 401)
    std::function<void(std::string_view)> log;
    std::chrono::milliseconds deadline{
        0}; // without the terminal: the deadline (0: 60s); $ONCALL_EXEC_TIMEOUT wins
};

/// The credential of `connection.exec`: from the cache when still valid (until one minute before
/// expirationTimestamp), else by running the plugin. Failures are Errc::access_denied (exit 4):
/// a plugin that is not installed (with its installHint), exits non-zero, prints something other
/// than an ExecCredential, or runs past the deadline ($ONCALL_EXEC_TIMEOUT, else run.deadline, else
/// 60s; 5m when it has the terminal).
Result<ExecCredential> exec_credential(const Connection& connection, const ExecRun& run);

/// Puts a credential into a connection (token, or client certificate and key).
void apply_exec_credential(Connection& connection, const ExecCredential& credential);

/// The cache file of a plugin for a server: $XDG_CACHE_HOME/oncall/exec/<sha256 of command, args,
/// env and server>.json.
std::string exec_cache_file(const ExecConfig& exec, const std::string& server);

/// KUBERNETES_EXEC_INFO for a connection, as client-go encodes it.
std::string exec_info(const Connection& connection, bool interactive);

} // namespace oncall::kube
