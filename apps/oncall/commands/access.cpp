// oncall access list | revoke SERVICE [--role ROLE] | pending [SERVICE] | approve GRANT [--for DUR]
//        | deny GRANT --reason TEXT | wait GRANT [--wait DUR]

#include "access_output.h"
#include "commands.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/core/duration.h"
#include "oncall/core/time.h"
#include "oncall/ops/access.h"
#include "oncall/ops/approvals.h"
#include "oncall/ops/audit.h"
#include "oncall/render/output.h"
#include "oncall/render/table.h"

#include <fmt/format.h>

#include <memory>

namespace oncall::app {
namespace {

std::string time_left_text(const ops::Grant& g, TimePoint ref) {
    if (g.expired(ref)) {
        return "expired " + format_age(g.expires_at, ref);
    }
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(g.time_left(ref));
    return format_duration(std::chrono::milliseconds(std::max<long long>(left.count(), 1) * 1000)) +
           " left";
}

void run_list(AppContext& ctx) {
    const auto& context = ctx.context();
    const auto grants = unwrap(ops::GrantStore::open_default().list(context.name));
    const auto ref = now();
    if (ctx.json()) {
        nlohmann::json items = nlohmann::json::array();
        for (const auto& g : grants) {
            const auto left = std::chrono::duration_cast<std::chrono::seconds>(g.time_left(ref));
            items.push_back({{"service", g.service},
                             {"namespace", g.namespace_name},
                             {"role", g.role},
                             {"expires_at", format_rfc3339(g.expires_at)},
                             {"expired", g.expired(ref)},
                             {"time_left_seconds", std::max<long long>(left.count(), 0)},
                             {"grant", g.id},
                             {"requester", g.requester},
                             {"reason", g.reason}});
        }
        render::print_json({{"context", context.name}, {"grants", items}});
        return;
    }
    if (grants.empty()) {
        if (!ctx.options.quiet) {
            fmt::print("No grants in context {}. Ask for one with: {}\n", context.name,
                       ops::request_access_command("SERVICE"));
        }
        return;
    }
    render::Table table;
    table.column("SERVICE").column("ROLE").column("GRANT").column("EXPIRES").column("LEFT").column(
        "REASON", render::Align::left, true);
    const auto& style = ctx.style();
    for (const auto& g : grants) {
        const std::string left = time_left_text(g, ref);
        const auto color = g.expired(ref) ? render::Color::gray
                           : g.time_left(ref) < ops::k_grant_warning_threshold
                               ? render::Color::yellow
                               : render::Color::green;
        table.row({g.service, g.role, g.id, format_local(g.expires_at),
                   render::paint(left, color, style), g.reason});
    }
    fmt::print("{}", table.render(style.width));
}

void run_revoke(AppContext& ctx, const std::string& service_name, const std::string& role) {
    const auto& context = ctx.context();
    const auto service = ctx.service(service_name);
    const auto client = unwrap(kube::KubeClient::create(context.kubernetes, ctx.logger()));
    const ops::AccessStores stores{ops::GrantStore::open_default(), ops::default_audit_path()};
    const auto results = unwrap(ops::revoke_access(client, context, service, role, stores));
    if (ctx.json()) {
        nlohmann::json items = nlohmann::json::array();
        for (const auto& r : results) {
            items.push_back({{"service", r.grant.service},
                             {"role", r.grant.role},
                             {"grant", r.grant.id},
                             {"secret_deleted", r.secret_deleted}});
        }
        render::print_json({{"revoked", items}});
        return;
    }
    for (const auto& r : results) {
        if (r.secret_deleted) {
            fmt::print("Revoked the {} grant {} for {}: secret {}/{} deleted, its token no longer "
                       "works.\n",
                       r.grant.role, r.grant.id, r.grant.service, r.grant.namespace_name,
                       r.grant.secret_name);
        } else {
            fmt::print("Removed the {} grant {} for {}: its secret {}/{} was already gone, so its "
                       "token no longer works.\n",
                       r.grant.role, r.grant.id, r.grant.service, r.grant.namespace_name,
                       r.grant.secret_name);
        }
    }
}

void run_pending(AppContext& ctx, const std::string& service) {
    const auto& context = ctx.context();
    if (!service.empty()) {
        (void)ctx.service(service); // a bad name is refused before any request
    }
    const auto client = unwrap(kube::KubeClient::create(context.kubernetes, ctx.logger()));
    print_pending(ctx, unwrap(ops::list_pending(client, service)));
}

void run_approve(AppContext& ctx, const ops::ApproveRequest& request) {
    const auto& context = ctx.context();
    const auto client = unwrap(kube::KubeClient::create(context.kubernetes, ctx.logger()));
    const ops::ServiceLookup services = [&ctx](const std::string& name) -> Result<config::Service> {
        return ctx.service(name);
    };
    print_approved(ctx, unwrap(ops::approve_request(
                            client, context, services, request, ops::default_audit_path(),
                            [&ctx](std::string_view line) { ctx.debug(line); })));
}

void run_deny(AppContext& ctx, const std::string& grant, const std::string& reason) {
    const auto& context = ctx.context();
    const auto client = unwrap(kube::KubeClient::create(context.kubernetes, ctx.logger()));
    print_denied(ctx, unwrap(ops::deny_request(client, context, grant, reason,
                                               ops::default_audit_path())));
}

void run_wait(AppContext& ctx, const std::string& grant, const std::string& wait) {
    const auto& context = ctx.context();
    auto timeout = context.access.approval_timeout;
    if (!wait.empty()) {
        timeout = unwrap(ops::parse_grant_duration(wait));
    }
    const auto client = unwrap(kube::KubeClient::create(context.kubernetes, ctx.logger()));
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
    wait->callback([&ctx, wait_grant, wait_for_flag] { run_wait(ctx, *wait_grant, *wait_for_flag); });
}

} // namespace oncall::app
