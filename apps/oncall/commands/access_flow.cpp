#include "access_flow.h"

#include "oncall/core/time.h"
#include "oncall/render/output.h"
#include "oncall/views/access.h"

#include <fmt/format.h>

namespace oncall::app {

void warn_notification(AppContext& ctx, const ops::NotifyOutcome& outcome) {
    if (outcome.attempted && !outcome.ok) {
        ctx.warn(fmt::format("warning: the notification was not delivered ({}); the audit log "
                             "records it",
                             outcome.detail));
    }
}

void warn_replaced(AppContext& ctx, const ops::IssuedGrant& issued) {
    if (!issued.replaced) {
        return;
    }
    const auto& grant = issued.grant;
    const auto& old = *issued.replaced;
    if (issued.replaced_revoked) {
        ctx.warn(fmt::format("note: replaced your earlier {} grant {} for {} (revoked)", old.role,
                             old.id, grant.service));
    } else {
        ctx.warn(fmt::format("warning: replaced your earlier {} grant {} for {}, but its secret "
                             "{}/{} could not be deleted; its token stays valid until {}: kubectl "
                             "delete secret -n {} {}",
                             old.role, old.id, grant.service, old.namespace_name, old.secret_name,
                             format_rfc3339(old.expires_at), old.namespace_name, old.secret_name));
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

void print_grant(AppContext& ctx, const ops::IssuedGrant& issued, const char* state) {
    warn_replaced(ctx, issued);
    if (ctx.json()) {
        render::print_json(views::request_access_json(issued.grant, state));
    } else {
        fmt::print("{}", views::request_access_text(issued.grant, ctx.text_options()));
    }
}

} // namespace oncall::app
