#pragma once
// What history, status, rollback and redeploy share: the Kubernetes client of the context, and the
// flags of a change turned into a request for ops::run_change_in_context.

#include "app_context.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/ops/deploy.h"

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace oncall::app {

/// The Kubernetes client of the selected context (fail()s on bad settings).
kube::KubeClient make_kube_client(AppContext& ctx);

/// Flags shared by rollback and redeploy.
struct ChangeFlags {
    std::string service;
    std::string reason;
    bool dry_run = false;
    bool yes = false;
    bool no_wait = false;
    bool no_verify = false;
    bool require_verification = false;
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

/// Refuses option values of `cmd` that are one of its own flags ("--reason --dry-run"): such a
/// value is almost always a forgotten argument (exit 2).
void refuse_flags_as_values(const CLI::App& cmd);

/// Runs a rollback or redeploy end to end (`cmd` is its subcommand, for the flag checks).
void run_change(AppContext& ctx, const CLI::App& cmd, ops::DeployAction action,
                const ChangeFlags& flags);

} // namespace oncall::app
