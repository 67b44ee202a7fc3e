// oncall access list | revoke SERVICE [--role ROLE] | pending [SERVICE] | approve GRANT [--for DUR]
//        | deny GRANT --reason TEXT | wait GRANT [--wait DUR]

#include "oncall/ops/access.h"

#include "access_flow.h"
#include "commands.h"
#include "oncall/backends/clients.h"
#include "oncall/core/duration.h"
#include "oncall/ops/approvals.h"
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
    // Expiry is the token's own (see GrantStore); a file that claimed more is said so.
    const auto roles = ops::effective_roles(context.access);
    for (const auto& g : grants) {
        const auto role = roles.find(g.role);
        const auto role_max = role == roles.end() ? std::chrono::seconds(0) : role->second.max;
        if (auto doubt = ops::grant_expiry_doubt(g, role_max)) {
            ctx.warn(*doubt); // already starts with "warning:"
        }
    }
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

void run_pending(AppContext& ctx, const std::string& service) {
    const auto& context = ctx.context();
    if (!service.empty()) {
        (void)ctx.service(service); // a bad name is refused before any request
    }
    const auto client = unwrap(backends::make_kube_client(context, ctx.logger()));
    const auto requests = unwrap(ops::list_pending(client, service));
    if (ctx.json()) {
        render::print_json(views::pending_json(requests));
    } else {
        fmt::print("{}", views::pending_text(requests, ctx.text_options(), ctx.options.quiet));
    }
}

void run_approve(AppContext& ctx, const ops::ApproveRequest& request) {
    const auto& context = ctx.context();
    const auto client = unwrap(backends::make_kube_client(context, ctx.logger()));
    const ops::ServiceLookup services = [&ctx](const std::string& name) -> Result<config::Service> {
        return ctx.service(name);
    };
    const auto approved =
        unwrap(ops::approve_request(client, context, services, request, ops::default_audit_path(),
                                    [&ctx](std::string_view line) { ctx.debug(line); }));
    warn_notification(ctx, approved.notified);
    if (approved.capped) {
        ctx.warn(fmt::format("note: capped to {} by {} (asked for {})",
                             format_duration(std::chrono::milliseconds(approved.granted)),
                             approved.capped_by,
                             format_duration(std::chrono::milliseconds(approved.requested))));
    }
    if (ctx.json()) {
        render::print_json(views::approved_json(approved));
    } else {
        fmt::print("{}", views::approved_text(approved));
    }
}

void run_deny(AppContext& ctx, const std::string& grant, const std::string& reason) {
    const auto& context = ctx.context();
    const auto client = unwrap(backends::make_kube_client(context, ctx.logger()));
    const auto denied =
        unwrap(ops::deny_request(client, context, grant, reason, ops::default_audit_path()));
    warn_notification(ctx, denied.notified);
    if (ctx.json()) {
        render::print_json(views::denied_json(denied));
    } else {
        fmt::print("{}", views::denied_text(denied));
    }
}

void run_wait(AppContext& ctx, const std::string& grant, const std::string& wait) {
    const auto& context = ctx.context();
    auto timeout = context.access.approval_timeout;
    if (!wait.empty()) {
        timeout = unwrap(ops::parse_grant_duration(wait));
    }
    const auto client = unwrap(backends::make_kube_client(context, ctx.logger()));
    const ops::AccessStores stores{ops::GrantStore::open_default(), ops::default_audit_path()};
    print_grant(ctx, unwrap(wait_for(ctx, client, context, grant, stores, timeout)), "approved");
}

} // namespace

void register_access(CLI::App& app, AppContext& ctx) {
    auto* cmd = app.add_subcommand(
        "access", "Your access grants, and the requests that need a second person's approval");
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

    auto* pending = cmd->add_subcommand(
        "pending", "Access requests waiting for a second person's approval (with who asked)");
    auto pending_service = std::make_shared<std::string>();
    pending->add_option("SERVICE", *pending_service, "Only requests for this service");
    pending->callback([&ctx, pending_service] { run_pending(ctx, *pending_service); });

    auto* approve = cmd->add_subcommand(
        "approve", "Approve someone else's access request: mint its token, sealed to their key");
    auto approve_request = std::make_shared<ops::ApproveRequest>();
    approve->add_option("GRANT", approve_request->grant, "Grant id (from oncall access pending)")
        ->required();
    approve->add_option("--for", approve_request->duration,
                        "Grant less time than asked (capped by the role and service account)");
    approve->callback([&ctx, approve_request] { run_approve(ctx, *approve_request); });

    auto* deny = cmd->add_subcommand("deny", "Deny an access request, saying why");
    auto deny_grant = std::make_shared<std::string>();
    auto deny_reason = std::make_shared<std::string>();
    deny->add_option("GRANT", *deny_grant, "Grant id (from oncall access pending)")->required();
    deny->add_option("--reason", *deny_reason, "Why it is denied (the requester sees it)")
        ->required();
    deny->callback([&ctx, deny_grant, deny_reason] { run_deny(ctx, *deny_grant, *deny_reason); });

    auto* wait = cmd->add_subcommand(
        "wait", "Wait for your access request to be approved, then store its grant");
    auto wait_grant = std::make_shared<std::string>();
    auto wait_for_flag = std::make_shared<std::string>();
    wait->add_option("GRANT", *wait_grant, "Grant id of your request")->required();
    wait->add_option("--wait", *wait_for_flag,
                     "How long to wait (default access.approval-timeout, 15m)");
    wait->callback(
        [&ctx, wait_grant, wait_for_flag] { run_wait(ctx, *wait_grant, *wait_for_flag); });
}

} // namespace oncall::app
