#pragma once
// One register function per subcommand; register_all() is the single list of them.

#include "app_context.h"

#include <CLI/CLI.hpp>

namespace oncall::app {

void register_version(CLI::App& app, AppContext& ctx);
void register_config(CLI::App& app, AppContext& ctx);
void register_triage(CLI::App& app, AppContext& ctx);
void register_history(CLI::App& app, AppContext& ctx);
void register_status(CLI::App& app, AppContext& ctx);
void register_rollback(CLI::App& app, AppContext& ctx);
void register_redeploy(CLI::App& app, AppContext& ctx);
void register_request_access(CLI::App& app, AppContext& ctx);
void register_access(CLI::App& app, AppContext& ctx);
void register_silence(CLI::App& app, AppContext& ctx);
void register_completion(CLI::App& app, AppContext& ctx);

/// Registers every subcommand, in the order `oncall --help` lists them.
inline void register_all(CLI::App& app, AppContext& ctx) {
    register_version(app, ctx);
    register_config(app, ctx);
    register_triage(app, ctx);
    register_history(app, ctx);
    register_status(app, ctx);
    register_rollback(app, ctx);
    register_redeploy(app, ctx);
    register_request_access(app, ctx);
    register_access(app, ctx);
    register_silence(app, ctx);
    register_completion(app, ctx);
}

} // namespace oncall::app
