// oncall request-access SERVICE --role ROLE --for DUR --reason TEXT [--ticket ID]

#include "commands.h"
#include "deploy_flow.h"
#include "oncall/backends/clients.h"
#include "oncall/core/time.h"
#include "oncall/ops/access.h"
#include "oncall/ops/audit.h"
#include "oncall/render/output.h"
#include "oncall/views/access.h"

#include <fmt/format.h>

#include <memory>

namespace oncall::app {
namespace {

struct RequestAccessFlags {
    std::string service;
    ops::AccessRequest request;
};

void run(AppContext& ctx, const RequestAccessFlags& flags) {
    const auto& context = ctx.context();
    const auto service = ctx.service(flags.service);
    // Checked before any connection is made: a bad request changes nothing anywhere.
    unwrap(ops::validate_request(context.access, flags.request));
    const auto client = unwrap(backends::make_kube_client(context, ctx.logger()));
    const ops::AccessStores stores{ops::GrantStore::open_default(), ops::default_audit_path()};
    const auto issued = unwrap(ops::request_access(
        client, context, service, flags.request, stores,
        [&ctx](std::string_view line) { ctx.debug(line); }));
    const auto& grant = issued.grant;
    if (issued.replaced) {
        if (issued.replaced_revoked) {
            ctx.warn(fmt::format("note: replaced your earlier {} grant {} for {} (revoked)",
                                 issued.replaced->role, issued.replaced->id, grant.service));
        } else {
            ctx.warn(fmt::format("warning: replaced your earlier {} grant {} for {}, but its "
                                 "secret {}/{} could not be deleted; its token stays valid until "
                                 "{}: kubectl delete secret -n {} {}",
                                 issued.replaced->role, issued.replaced->id, grant.service,
                                 issued.replaced->namespace_name, issued.replaced->secret_name,
                                 format_rfc3339(issued.replaced->expires_at),
                                 issued.replaced->namespace_name, issued.replaced->secret_name));
        }
    }

    if (ctx.json()) {
        render::print_json(views::request_access_json(grant));
    } else {
        fmt::print("{}", views::request_access_text(grant, ctx.text_options()));
    }
}

} // namespace

void register_request_access(CLI::App& app, AppContext& ctx) {
    auto flags = std::make_shared<RequestAccessFlags>();
    auto* cmd = app.add_subcommand(
        "request-access",
        "Get a short-lived, logged credential for one role on one service");
    cmd->add_option("SERVICE", flags->service, "Service to get access to")->required();
    cmd->add_option("--role", flags->request.role, "Role (from the context's access.roles), e.g. deployer")
        ->required();
    cmd->add_option("--for", flags->request.duration, "How long, e.g. 30m (capped by the role's max)")
        ->required();
    cmd->add_option("--reason", flags->request.reason, "Why: what is broken and what you will do")
        ->required();
    cmd->add_option("--ticket", flags->request.ticket, "Incident or ticket id");
    cmd->callback([&ctx, flags, cmd] {
        refuse_flags_as_values(*cmd);
        run(ctx, *flags);
    });
}

} // namespace oncall::app
