// Output of the access commands (request-access, access list|revoke|pending|approve|deny|wait):
// text and JSON in one place.

#include "access_output.h"

#include "oncall/core/duration.h"
#include "oncall/core/time.h"
#include "oncall/render/output.h"
#include "oncall/render/table.h"

#include <cstdio>
#include <fmt/format.h>

namespace oncall::app {
namespace {

// A string someone else wrote, made safe for a terminal: control characters become \u00XX.
std::string printable(const std::string& text) {
    std::string out;
    for (const unsigned char c : text) {
        if (c < 0x20 || c == 0x7f) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

nlohmann::json or_null(const std::string& s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

std::string next_command(const ops::Grant& g) {
    if (g.role == ops::k_deployer_role) {
        return fmt::format("oncall rollback {}   (or: oncall redeploy {})", g.service, g.service);
    }
    return fmt::format("oncall triage {}", g.service);
}

std::string time_left_text(const ops::Grant& g, TimePoint ref) {
    if (g.expired(ref)) {
        return "expired " + format_age(g.expires_at, ref);
    }
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(g.time_left(ref));
    return format_duration(std::chrono::milliseconds(std::max<long long>(left.count(), 1) * 1000)) +
           " left";
}

} // namespace

void print_grants(AppContext& ctx, const std::string& context_name,
                  const std::vector<ops::Grant>& grants) {
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
                             {"approver", g.approver.empty() ? nlohmann::json(nullptr)
                                                             : nlohmann::json(g.approver)},
                             {"break_glass", g.break_glass},
                             {"reason", g.reason}});
        }
        render::print_json({{"context", context_name}, {"grants", items}});
        return;
    }
    if (grants.empty()) {
        if (!ctx.options.quiet) {
            fmt::print("No grants in context {}. Ask for one with: {}\n", context_name,
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

void print_revoked(AppContext& ctx, const std::vector<ops::RevokeResult>& results) {
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

void warn_notification(AppContext& ctx, const ops::NotifyOutcome& outcome) {
    if (outcome.attempted && !outcome.ok) {
        ctx.warn(fmt::format("warning: the notification was not delivered ({}); the audit log "
                             "records it",
                             outcome.detail));
    }
}

Result<ops::IssuedGrant> wait_for(AppContext& ctx, const kube::KubeClient& client,
                                  const config::Context& context, const std::string& grant,
                                  const ops::AccessStores& stores, std::chrono::seconds timeout) {
    ops::GrantWaitOptions options;
    options.timeout = timeout;
    options.notice = [&ctx](std::string_view line) { ctx.warn(line); };
    options.progress = [&ctx](std::string_view line) { ctx.debug(line); };
    return ops::wait_for_grant(client, context, grant, stores, options);
}

void print_request_filed(AppContext& ctx, const ops::RequestedApproval& r,
                         const std::string& context, std::chrono::seconds timeout, bool no_wait) {
    if (ctx.options.quiet && !ctx.json()) {
        return;
    }
    // The approver's line goes to stderr with -o json, so stdout stays one document.
    const auto out = ctx.json() ? stderr : stdout;
    fmt::print(out, "Role {} on {} needs a second person's approval; request {} filed as {}.\n",
               r.role, r.service, r.grant, r.requester);
    fmt::print(out, "Ask an approver to run:\n  {}\n", ops::approve_command(r.grant, context));
    if (no_wait) {
        fmt::print(out, "Not waiting. Resume with: oncall access wait {}\n", r.grant);
    } else {
        fmt::print(out,
                   "Waiting up to {} for the approval (Ctrl-C stops waiting; resume with: "
                   "oncall access wait {})\n",
                   format_duration(std::chrono::milliseconds(timeout)), r.grant);
    }
    std::fflush(out);
}

void print_pending_json(const ops::RequestedApproval& r) {
    render::print_json(
        {{"service", r.service},
         {"namespace", r.namespace_name},
         {"role", r.role},
         {"requester", r.requester},
         {"expires_at", nullptr},
         {"grant", r.grant},
         {"reason", r.reason},
         {"ticket", r.ticket.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.ticket)},
         {"state", "pending"},
         {"approver", nullptr},
         {"requested_for", format_duration(std::chrono::milliseconds(r.duration))}});
}

void print_grant(AppContext& ctx, const ops::IssuedGrant& issued, const char* state) {
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
        render::print_json({{"service", grant.service},
                            {"state", state},
                            {"approver", grant.approver.empty() ? nlohmann::json(nullptr)
                                                                : nlohmann::json(grant.approver)},
                            {"break_glass", grant.break_glass},
                            {"namespace", grant.namespace_name},
                            {"role", grant.role},
                            {"requester", grant.requester},
                            {"issued_at", format_rfc3339(grant.issued_at)},
                            {"expires_at", format_rfc3339(grant.expires_at)},
                            {"grant", grant.id},
                            {"reason", grant.reason},
                            {"ticket", grant.ticket.empty() ? nlohmann::json(nullptr)
                                                            : nlohmann::json(grant.ticket)}});
        return;
    }
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(grant.time_left(now()));
    if (grant.break_glass) {
        fmt::print("BREAK-GLASS: granted role {} on {} (namespace {}) to {}, grant {}; this is "
                   "recorded as a Warning event and announced.\n",
                   grant.role, grant.service, grant.namespace_name, grant.requester, grant.id);
    } else if (!grant.approver.empty()) {
        fmt::print("Approved by {}: granted role {} on {} (namespace {}) to {}, grant {}.\n",
                   printable(grant.approver), grant.role, grant.service, grant.namespace_name,
                   grant.requester, grant.id);
    } else {
        fmt::print("Granted role {} on {} (namespace {}) to {}, grant {}.\n", grant.role,
                   grant.service, grant.namespace_name, grant.requester, grant.id);
    }
    fmt::print(
        "  expires   {} local, {} UTC; {} left\n", format_local(grant.expires_at),
        format_rfc3339(grant.expires_at),
        format_duration(std::chrono::milliseconds(std::max<long long>(left.count(), 0) * 1000)));
    fmt::print("  reason    {}\n", grant.reason);
    if (!grant.ticket.empty()) {
        fmt::print("  ticket    {}\n", grant.ticket);
    }
    fmt::print("  record    secret {}/{} (delete it to revoke)\n", grant.namespace_name,
               grant.secret_name);
    fmt::print("Next: {}\n", next_command(grant));
    fmt::print("Done early? oncall access revoke {}\n", grant.service);
}

void print_pending(AppContext& ctx, const std::vector<ops::PendingRequest>& requests) {
    if (ctx.json()) {
        nlohmann::json items = nlohmann::json::array();
        for (const auto& r : requests) {
            nlohmann::json item = {
                {"grant", r.grant},
                {"service", or_null(r.service)},
                {"namespace", or_null(r.namespace_name)},
                {"role", or_null(r.role)},
                {"requester", r.requester},
                {"reason", or_null(r.reason)},
                {"ticket", or_null(r.ticket)},
                {"requested_for", r.valid ? nlohmann::json(format_duration(
                                                std::chrono::milliseconds(r.requested_for)))
                                          : nlohmann::json(nullptr)},
                {"requested_at", r.requested_at ? nlohmann::json(format_rfc3339(*r.requested_at))
                                                : nlohmann::json(nullptr)},
                {"valid", r.valid},
                {"problem", or_null(r.problem)}};
            items.push_back(item);
        }
        render::print_json({{"requests", items}});
        return;
    }
    if (requests.empty()) {
        if (!ctx.options.quiet) {
            fmt::print("No pending access requests.\n");
        }
        return;
    }
    render::Table table;
    table.column("GRANT")
        .column("SERVICE")
        .column("ROLE")
        .column("FOR")
        .column("REQUESTER")
        .column("AGE")
        .column("REASON", render::Align::left, true);
    const auto ref = now();
    for (const auto& r : requests) {
        table.row(
            {r.grant, r.valid ? r.service : "(invalid)", printable(r.role),
             r.valid ? format_duration(std::chrono::milliseconds(r.requested_for)) : "-",
             printable(r.requester), r.requested_at ? format_age(*r.requested_at, ref) : "-",
             r.valid ? printable(r.reason) : "INVALID, never approvable: " + printable(r.problem)});
    }
    fmt::print("{}", table.render(ctx.style().width));
    if (!ctx.options.quiet) {
        fmt::print("Approve one with: oncall access approve GRANT   (or deny: oncall access deny "
                   "GRANT --reason \"...\")\n");
    }
}

void print_approved(AppContext& ctx, const ops::ApprovedGrant& a) {
    warn_notification(ctx, a.notified);
    if (a.capped) {
        ctx.warn(fmt::format("note: capped to {} by {} (asked for {})",
                             format_duration(std::chrono::milliseconds(a.granted)), a.capped_by,
                             format_duration(std::chrono::milliseconds(a.requested))));
    }
    if (ctx.json()) {
        render::print_json({{"grant", a.grant},
                            {"service", a.service},
                            {"namespace", a.namespace_name},
                            {"role", a.role},
                            {"requester", a.requester},
                            {"approver", a.approver},
                            {"expires_at", format_rfc3339(a.expires_at)},
                            {"granted_for", format_duration(std::chrono::milliseconds(a.granted))},
                            {"capped", a.capped},
                            {"capped_by", or_null(a.capped_by)}});
        return;
    }
    fmt::print("Approved request {}: role {} on {} (namespace {}) for {}, until {} UTC ({}{}).\n",
               a.grant, a.role, a.service, a.namespace_name, printable(a.requester),
               format_rfc3339(a.expires_at), format_duration(std::chrono::milliseconds(a.granted)),
               a.capped ? ", capped by " + a.capped_by : "");
    fmt::print("  The token is sealed to the requester's key in secret {}/oncall-grant-{}; only "
               "their machine can open it.\n",
               a.namespace_name, a.grant);
    fmt::print("  Revoke it early: kubectl delete secret -n {} oncall-grant-{}\n", a.namespace_name,
               a.grant);
}

void print_denied(AppContext& ctx, const ops::DeniedRequest& d) {
    warn_notification(ctx, d.notified);
    if (ctx.json()) {
        render::print_json({{"grant", d.grant},
                            {"service", or_null(d.service)},
                            {"role", or_null(d.role)},
                            {"requester", d.requester},
                            {"approver", d.approver},
                            {"reason", d.reason},
                            {"state", "denied"}});
        return;
    }
    fmt::print("Denied request {} by {}{}.\n", d.grant, printable(d.requester),
               d.role.empty() ? "" : fmt::format(" (role {} on {})", d.role, d.service));
}

} // namespace oncall::app
