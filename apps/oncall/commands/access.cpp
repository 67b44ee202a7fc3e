// oncall access list | access revoke SERVICE [--role ROLE]

#include "commands.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/core/duration.h"
#include "oncall/core/time.h"
#include "oncall/ops/access.h"
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
    const auto roles = ops::effective_roles(context.access);
    for (const auto& g : grants) {
        const auto role = roles.find(g.role);
        const auto role_max = role == roles.end() ? std::chrono::seconds(0) : role->second.max;
        if (auto doubt = ops::grant_expiry_doubt(g, role_max)) {
            ctx.warn(*doubt); // already starts with "warning:"
        }
    }
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
