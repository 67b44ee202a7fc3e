// oncall access list | access revoke SERVICE [--role ROLE]

#include "commands.h"
#include "oncall/backends/clients.h"
#include "oncall/ops/access.h"
#include "oncall/ops/audit.h"
#include "oncall/render/output.h"
#include "oncall/views/access.h"

#include <fmt/format.h>

#include <memory>

namespace oncall::app {
namespace {

void run_list(AppContext& ctx) {
    const auto& context = ctx.context();
    const auto grants = unwrap(ops::GrantStore::open_default().list(context.name));
    const auto options = ctx.text_options();
    if (ctx.json()) {
        render::print_json(views::grant_list_json(context.name, grants, options.now));
    } else if (!grants.empty() || !ctx.options.quiet) {
        fmt::print("{}", views::grant_list_text(context.name, grants, options));
    }
}

void run_revoke(AppContext& ctx, const std::string& service_name, const std::string& role) {
    const auto& context = ctx.context();
    const auto service = ctx.service(service_name);
    const auto client = unwrap(backends::make_kube_client(context, ctx.logger()));
    const ops::AccessStores stores{ops::GrantStore::open_default(), ops::default_audit_path()};
    const auto results = unwrap(ops::revoke_access(client, context, service, role, stores));
    if (ctx.json()) {
        render::print_json(views::revoke_json(results));
    } else {
        fmt::print("{}", views::revoke_text(results));
    }
}

} // namespace

void register_access(CLI::App& app, AppContext& ctx) {
    auto* cmd = app.add_subcommand("access", "List or revoke your access grants");
    cmd->require_subcommand(1);

    auto* list = cmd->add_subcommand("list", "Your grants in the current context, with time left");
    list->callback([&ctx] { run_list(ctx); });

    auto* revoke = cmd->add_subcommand(
        "revoke", "Revoke your grant for SERVICE now (the server stops accepting its token)");
    auto service = std::make_shared<std::string>();
    auto role = std::make_shared<std::string>();
    revoke->add_option("SERVICE", *service, "Service whose grant to revoke")->required();
    revoke->add_option("--role", *role, "Only this role's grant (default: every role)");
    revoke->callback([&ctx, service, role] { run_revoke(ctx, *service, *role); });
}

} // namespace oncall::app
