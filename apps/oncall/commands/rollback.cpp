// oncall rollback SERVICE [--to-revision N] ...

#include "commands.h"
#include "deploy_flow.h"

#include <memory>

namespace oncall::app {

void register_rollback(CLI::App& app, AppContext& ctx) {
    auto* cmd =
        app.add_subcommand("rollback", "Return a service to an earlier revision's artifacts");
    cmd->group("Fixes");
    auto flags = std::make_shared<ChangeFlags>();
    add_change_flags(*cmd, *flags);
    auto revision = std::make_shared<long>(0);
    cmd->add_option("--to-revision", *revision,
                    "Revision to return to (default: the newest earlier revision that was healthy "
                    "while it ran)");
    cmd->callback([&ctx, flags, revision, cmd] {
        if (cmd->count("--to-revision") > 0) {
            flags->to_revision = *revision;
        }
        run_change(ctx, *cmd, ops::DeployAction::rollback, *flags);
    });
}

} // namespace oncall::app
