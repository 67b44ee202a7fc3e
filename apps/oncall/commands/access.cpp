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

void run_list(AppContext& ctx) {
    const auto& context = ctx.context();
    print_grants(ctx, context.name, unwrap(ops::GrantStore::open_default().list(context.name)));
}

void run_revoke(AppContext& ctx, const std::string& service_name, const std::string& role) {
    const auto& context = ctx.context();
    const auto service = ctx.service(service_name);
    const auto client = unwrap(kube::KubeClient::create(context.kubernetes, ctx.logger()));
    const ops::AccessStores stores{ops::GrantStore::open_default(), ops::default_audit_path()};
    print_revoked(ctx, unwrap(ops::revoke_access(client, context, service, role, stores)));
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
