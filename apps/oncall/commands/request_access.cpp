// oncall request-access SERVICE --role ROLE --for DUR --reason TEXT [--ticket ID]

#include "access_flow.h"
#include "commands.h"
#include "deploy_flow.h"
#include "oncall/backends/clients.h"
#include "oncall/core/time.h"
#include "oncall/ops/access.h"
#include "oncall/ops/approvals.h"
#include "oncall/ops/audit.h"
#include "oncall/render/output.h"
#include "oncall/views/access.h"

#include <cstdio>
#include <fmt/format.h>
#include <memory>

namespace oncall::app {
namespace {

struct RequestAccessFlags {
    std::string service;
    ops::AccessRequest request;
    std::string wait;
    bool no_wait = false;
};

void run(AppContext& ctx, const RequestAccessFlags& flags) {
    const auto& context = ctx.context();
    const auto service = ctx.service(flags.service);
    // Checked before any connection is made: a bad request changes nothing anywhere.
    const auto valid = unwrap(ops::validate_request(context.access, flags.request));
    if (!valid.role.approval_required && (flags.no_wait || !flags.wait.empty())) {
        fail(make_error(Errc::usage,
                        fmt::format("--wait and --no-wait apply to roles that need approval; "
                                    "role {} is granted at once",
                                    valid.role.name)));
    }
    auto timeout = context.access.approval_timeout;
    if (!flags.wait.empty()) {
        timeout = unwrap(ops::parse_grant_duration(flags.wait));
    }
    const auto client = unwrap(backends::make_kube_client(context, ctx.logger()));
    const ops::AccessStores stores{ops::GrantStore::open_default(), ops::default_audit_path()};
    const auto progress = [&ctx](std::string_view line) { ctx.debug(line); };
    if (valid.role.approval_required) {
        const auto requested = unwrap(
            ops::request_approval(client, context, service, flags.request, stores, progress));
        warn_notification(ctx, requested.notified);
        if (!ctx.options.quiet || ctx.json()) {
            // The approver's line goes to stderr with -o json, so stdout stays one document.
            const auto out = ctx.json() ? stderr : stdout;
            fmt::print(out, "{}",
                       views::request_filed_text(requested, context.name, timeout, flags.no_wait));
            std::fflush(out);
        }
        if (flags.no_wait) {
            if (ctx.json()) {
                render::print_json(views::request_filed_json(requested));
            }
            return;
        }
        const auto issued =
            unwrap(wait_for(ctx, client, context, requested.grant, stores, timeout));
        print_grant(ctx, issued, "approved");
        return;
    }
    const auto issued =
        unwrap(ops::request_access(client, context, service, flags.request, stores, progress));
    warn_notification(ctx, issued.notified);
    print_grant(ctx, issued, "granted");
}

} // namespace

void register_request_access(CLI::App& app, AppContext& ctx) {
    auto flags = std::make_shared<RequestAccessFlags>();
    auto* cmd = app.add_subcommand(
        "request-access", "Get a short-lived, logged credential for one role on one service");
    cmd->add_option("SERVICE", flags->service, "Service to get access to")->required();
    cmd->add_option("--role", flags->request.role,
                    "Role (from the context's access.roles), e.g. deployer")
        ->required();
    cmd->add_option("--for", flags->request.duration,
                    "How long, e.g. 30m (capped by the role's max)")
        ->required();
    cmd->add_option("--reason", flags->request.reason, "Why: what is broken and what you will do")
        ->required();
    cmd->add_option("--ticket", flags->request.ticket, "Incident or ticket id");
    cmd->add_option("--wait", flags->wait,
                    "Roles that need approval: how long to wait for it (default "
                    "access.approval-timeout, 15m)");
    cmd->add_flag("--no-wait", flags->no_wait,
                  "Roles that need approval: file the request and return (resume with oncall "
                  "access wait GRANT)");
    cmd->callback([&ctx, flags, cmd] {
        refuse_flags_as_values(*cmd);
        run(ctx, *flags);
    });
}

} // namespace oncall::app
