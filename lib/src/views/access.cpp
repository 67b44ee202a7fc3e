#include "oncall/views/access.h"

#include "oncall/core/duration.h"
#include "oncall/render/sanitize.h"
#include "oncall/render/table.h"

#include <algorithm>
#include <fmt/format.h>

namespace oncall::views {
namespace {

using render::sanitize;

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

nlohmann::json access_or_null(const std::string& s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

std::string access_duration_text(std::chrono::seconds d) {
    return format_duration(std::chrono::milliseconds(d));
}

} // namespace

std::string request_access_text(const ops::Grant& grant, const TextOptions& options) {
    const auto left =
        std::chrono::duration_cast<std::chrono::seconds>(grant.time_left(options.now));
    std::string out;
    if (grant.break_glass) {
        out += fmt::format(
            "BREAK-GLASS: granted role {} on {} (namespace {}) to {}, grant {}; this "
            "is recorded as a Warning event and announced.\n",
            sanitize(grant.role), sanitize(grant.service), sanitize(grant.namespace_name),
            sanitize(grant.requester), sanitize(grant.id));
    } else if (!grant.approver.empty()) {
        out += fmt::format(
            "Approved by {}: granted role {} on {} (namespace {}) to {}, grant {}.\n",
            sanitize(grant.approver), sanitize(grant.role), sanitize(grant.service),
            sanitize(grant.namespace_name), sanitize(grant.requester), sanitize(grant.id));
    } else {
        out += fmt::format("Granted role {} on {} (namespace {}) to {}, grant {}.\n",
                           sanitize(grant.role), sanitize(grant.service),
                           sanitize(grant.namespace_name), sanitize(grant.requester),
                           sanitize(grant.id));
    }
    out += fmt::format(
        "  expires   {} local, {} UTC; {} left\n", format_local(grant.expires_at),
        format_rfc3339(grant.expires_at),
        format_duration(std::chrono::milliseconds(std::max<long long>(left.count(), 0) * 1000)));
    out += fmt::format("  reason    {}\n", sanitize(grant.reason));
    if (!grant.ticket.empty()) {
        out += fmt::format("  ticket    {}\n", sanitize(grant.ticket));
    }
    out += fmt::format("  record    secret {}/{} (delete it to revoke)\n",
                       sanitize(grant.namespace_name), sanitize(grant.secret_name));
    out += fmt::format("Next: {}\n", sanitize(next_command(grant)));
    out += fmt::format("Done early? oncall access revoke {}\n", sanitize(grant.service));
    return out;
}

nlohmann::json request_access_json(const ops::Grant& grant, const std::string& state) {
    return {
        {"service", grant.service},
        {"state", state},
        {"approver", access_or_null(grant.approver)},
        {"break_glass", grant.break_glass},
        {"namespace", grant.namespace_name},
        {"role", grant.role},
        {"requester", grant.requester},
        {"issued_at", format_rfc3339(grant.issued_at)},
        {"expires_at", format_rfc3339(grant.expires_at)},
        {"grant", grant.id},
        {"reason", grant.reason},
        {"ticket", grant.ticket.empty() ? nlohmann::json(nullptr) : nlohmann::json(grant.ticket)}};
}

std::string grant_list_text(const std::string& context, const std::vector<ops::Grant>& grants,
                            const TextOptions& options) {
    if (grants.empty()) {
        return fmt::format("No grants in context {}. Ask for one with: {}\n", sanitize(context),
                           ops::request_access_command("SERVICE"));
    }
    render::Table table;
    table.column("SERVICE").column("ROLE").column("GRANT").column("EXPIRES").column("LEFT").column(
        "REASON", render::Align::left, true);
    for (const auto& g : grants) {
        const auto color = g.expired(options.now) ? render::Color::gray
                           : g.time_left(options.now) < ops::k_grant_warning_threshold
                               ? render::Color::yellow
                               : render::Color::green;
        table.row({sanitize(g.service), sanitize(g.role), sanitize(g.id),
                   format_local(g.expires_at),
                   render::paint(time_left_text(g, options.now), color, options.style),
                   sanitize(g.reason)});
    }
    return table.render(options.style.width);
}

nlohmann::json grant_list_json(const std::string& context, const std::vector<ops::Grant>& grants,
                               TimePoint now) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& g : grants) {
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(g.time_left(now));
        items.push_back({{"service", g.service},
                         {"namespace", g.namespace_name},
                         {"role", g.role},
                         {"expires_at", format_rfc3339(g.expires_at)},
                         {"expired", g.expired(now)},
                         {"time_left_seconds", std::max<long long>(left.count(), 0)},
                         {"grant", g.id},
                         {"requester", g.requester},
                         {"approver", access_or_null(g.approver)},
                         {"break_glass", g.break_glass},
                         {"reason", g.reason}});
    }
    return {{"context", context}, {"grants", items}};
}

std::string revoke_text(const std::vector<ops::RevokeResult>& results) {
    std::string out;
    for (const auto& r : results) {
        const auto& g = r.grant;
        out +=
            r.secret_deleted
                ? fmt::format("Revoked the {} grant {} for {}: secret {}/{} deleted, its token no "
                              "longer works.\n",
                              sanitize(g.role), sanitize(g.id), sanitize(g.service),
                              sanitize(g.namespace_name), sanitize(g.secret_name))
                : fmt::format("Removed the {} grant {} for {}: its secret {}/{} was already gone, "
                              "so its token no longer works.\n",
                              sanitize(g.role), sanitize(g.id), sanitize(g.service),
                              sanitize(g.namespace_name), sanitize(g.secret_name));
    }
    return out;
}

nlohmann::json revoke_json(const std::vector<ops::RevokeResult>& results) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& r : results) {
        items.push_back({{"service", r.grant.service},
                         {"role", r.grant.role},
                         {"grant", r.grant.id},
                         {"secret_deleted", r.secret_deleted}});
    }
    return {{"revoked", items}};
}

std::string request_filed_text(const ops::RequestedApproval& r, const std::string& context,
                               std::chrono::seconds timeout, bool no_wait) {
    std::string out = fmt::format(
        "Role {} on {} needs a second person's approval; request {} filed as {}.\n",
        sanitize(r.role), sanitize(r.service), sanitize(r.grant), sanitize(r.requester));
    out += fmt::format("Ask an approver to run:\n  {}\n",
                       sanitize(ops::approve_command(r.grant, context)));
    if (no_wait) {
        out += fmt::format("Not waiting. Resume with: oncall access wait {}\n", sanitize(r.grant));
    } else {
        out += fmt::format("Waiting up to {} for the approval (Ctrl-C stops waiting; resume with: "
                           "oncall access wait {})\n",
                           access_duration_text(timeout), sanitize(r.grant));
    }
    return out;
}

nlohmann::json request_filed_json(const ops::RequestedApproval& r) {
    return {{"service", r.service},
            {"namespace", r.namespace_name},
            {"role", r.role},
            {"requester", r.requester},
            {"expires_at", nullptr},
            {"grant", r.grant},
            {"reason", r.reason},
            {"ticket", access_or_null(r.ticket)},
            {"state", "pending"},
            {"approver", nullptr},
            {"requested_for", access_duration_text(r.duration)}};
}

std::string pending_text(const std::vector<ops::PendingRequest>& requests,
                         const TextOptions& options, bool quiet) {
    if (requests.empty()) {
        return quiet ? "" : "No pending access requests.\n";
    }
    render::Table table;
    table.column("GRANT")
        .column("SERVICE")
        .column("ROLE")
        .column("FOR")
        .column("REQUESTER")
        .column("AGE")
        .column("REASON", render::Align::left, true);
    for (const auto& r : requests) {
        table.row(
            {sanitize(r.grant), r.valid ? sanitize(r.service) : "(invalid)", sanitize(r.role),
             r.valid ? access_duration_text(r.requested_for) : "-", sanitize(r.requester),
             r.requested_at ? format_age(*r.requested_at, options.now) : "-",
             r.valid ? sanitize(r.reason) : "INVALID, never approvable: " + sanitize(r.problem)});
    }
    std::string out = table.render(options.style.width);
    if (!quiet) {
        out += "Approve one with: oncall access approve GRANT   (or deny: oncall access deny "
               "GRANT --reason \"...\")\n";
    }
    return out;
}

nlohmann::json pending_json(const std::vector<ops::PendingRequest>& requests) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& r : requests) {
        items.push_back(
            {{"grant", r.grant},
             {"service", access_or_null(r.service)},
             {"namespace", access_or_null(r.namespace_name)},
             {"role", access_or_null(r.role)},
             {"requester", r.requester},
             {"reason", access_or_null(r.reason)},
             {"ticket", access_or_null(r.ticket)},
             {"requested_for", r.valid ? nlohmann::json(access_duration_text(r.requested_for))
                                       : nlohmann::json(nullptr)},
             {"requested_at", r.requested_at ? nlohmann::json(format_rfc3339(*r.requested_at))
                                             : nlohmann::json(nullptr)},
             {"valid", r.valid},
             {"problem", access_or_null(r.problem)}});
    }
    return {{"requests", items}};
}

std::string approved_text(const ops::ApprovedGrant& a) {
    std::string out = fmt::format(
        "Approved request {}: role {} on {} (namespace {}) for {}, until {} UTC ({}{}).\n",
        sanitize(a.grant), sanitize(a.role), sanitize(a.service), sanitize(a.namespace_name),
        sanitize(a.requester), format_rfc3339(a.expires_at), access_duration_text(a.granted),
        a.capped ? ", capped by " + sanitize(a.capped_by) : "");
    out += fmt::format("  The token is sealed to the requester's key in secret {}/oncall-grant-{}; "
                       "only their machine can open it.\n",
                       sanitize(a.namespace_name), sanitize(a.grant));
    out += fmt::format("  Revoke it early: kubectl delete secret -n {} oncall-grant-{}\n",
                       sanitize(a.namespace_name), sanitize(a.grant));
    return out;
}

nlohmann::json approved_json(const ops::ApprovedGrant& a) {
    return {{"grant", a.grant},
            {"service", a.service},
            {"namespace", a.namespace_name},
            {"role", a.role},
            {"requester", a.requester},
            {"approver", a.approver},
            {"expires_at", format_rfc3339(a.expires_at)},
            {"granted_for", access_duration_text(a.granted)},
            {"capped", a.capped},
            {"capped_by", access_or_null(a.capped_by)}};
}

std::string denied_text(const ops::DeniedRequest& d) {
    return fmt::format(
        "Denied request {} by {}{}.\n", sanitize(d.grant), sanitize(d.requester),
        d.role.empty() ? ""
                       : fmt::format(" (role {} on {})", sanitize(d.role), sanitize(d.service)));
}

nlohmann::json denied_json(const ops::DeniedRequest& d) {
    return {{"grant", d.grant},
            {"service", access_or_null(d.service)},
            {"role", access_or_null(d.role)},
            {"requester", d.requester},
            {"approver", d.approver},
            {"reason", d.reason},
            {"state", "denied"}};
}

} // namespace oncall::views
