// oncall redeploy SERVICE [--image [CONTAINER=]REF]... ...

#include "commands.h"
#include "deploy_flow.h"

#include <memory>

namespace oncall::app {

void register_redeploy(CLI::App& app, AppContext& ctx) {
    auto* cmd = app.add_subcommand(
        "redeploy", "Fresh instances of the same artifacts, or new artifacts pinned by digest");
    cmd->group("Fixes");
    auto flags = std::make_shared<ChangeFlags>();
    add_change_flags(*cmd, *flags);
    cmd->add_option(
           "--image", flags->images,
           "[CONTAINER=]REF to run instead; tags are resolved to digests through the registry")
        ->take_all()
        ->allow_extra_args(false);
    cmd->add_flag(
        "--auto-rollback", flags->auto_rollback,
        "Return to the previous revision when the new one fails to roll out or breaches its SLO "
        "(never on no evidence: an inconclusive verification then exits 7 and changes nothing)");
    cmd->callback(
        [&ctx, flags, cmd] { run_change(ctx, *cmd, ops::DeployAction::redeploy, *flags); });
}

} // namespace oncall::app
