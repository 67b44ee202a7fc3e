// oncall history SERVICE

#include "oncall/views/history.h"

#include "commands.h"
#include "deploy_flow.h"
#include "oncall/render/output.h"

#include <fmt/format.h>
#include <memory>

namespace oncall::app {

void register_history(CLI::App& app, AppContext& ctx) {
    auto* cmd = app.add_subcommand(
        "history", "Revisions of a service with their artifacts (digests) and times");
    cmd->group("Looking");
    auto service_name = std::make_shared<std::string>();
    cmd->add_option("SERVICE", *service_name, "Service")->required();
    cmd->callback([&ctx, service_name] {
        const auto service = ctx.service(*service_name);
        const auto client = make_kube_client(ctx);
        const auto deployment =
            unwrap(client.get_deployment(service.namespace_name, service.deployment));
        const auto revisions = unwrap(client.deployment_revisions(deployment));
        if (ctx.json()) {
            render::print_json(views::history_json(service, revisions));
        } else {
            fmt::print("{}", views::history_text(service, revisions, ctx.text_options()));
        }
    });
}

} // namespace oncall::app
