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

} // namespace

std::string request_access_text(const ops::Grant& grant, const TextOptions& options) {
    const auto left =
        std::chrono::duration_cast<std::chrono::seconds>(grant.time_left(options.now));
    std::string out;
    out +=
        fmt::format("Granted role {} on {} (namespace {}) to {}, grant {}.\n", sanitize(grant.role),
                    sanitize(grant.service), sanitize(grant.namespace_name),
                    sanitize(grant.requester), sanitize(grant.id));
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

nlohmann::json request_access_json(const ops::Grant& grant) {
    return {
        {"service", grant.service},
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

} // namespace oncall::views
