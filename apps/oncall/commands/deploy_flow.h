#pragma once
// What history, status, rollback and redeploy share: building the backend clients from the
// context, and the plan -> confirm -> write -> wait -> verify -> audit flow of a change.

#include "app_context.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/backends/prometheus.h"
#include "oncall/backends/registry.h"
#include "oncall/ops/deploy.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oncall::app {

/// The Kubernetes client of the selected context (fail()s on bad settings).
kube::KubeClient make_kube_client(AppContext& ctx);

/// The Prometheus client of the selected context, or nullopt when none is configured.
std::optional<prometheus::Client> make_prometheus_client(AppContext& ctx);

/// Flags shared by rollback and redeploy.
struct ChangeFlags {
    std::string service;
    std::string reason;
    bool dry_run = false;
    bool yes = false;
    bool no_wait = false;
    bool no_verify = false;
    bool force = false;
    std::string timeout = "5m";
    std::string verify_window = "30s";
    // rollback
    std::optional<long> to_revision;
    // redeploy
    std::vector<std::string> images;
    bool auto_rollback = false;
};

/// Adds the shared flags to a subcommand.
void add_change_flags(CLI::App& cmd, ChangeFlags& flags);

/// Runs a rollback or redeploy end to end.
void run_change(AppContext& ctx, ops::DeployAction action, const ChangeFlags& flags);

} // namespace oncall::app
