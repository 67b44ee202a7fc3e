#pragma once
// Output of the access commands: text and JSON in one place, apart from the commands that fetch
// what they print.

#include "app_context.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/ops/access.h"
#include "oncall/ops/approvals.h"

#include <chrono>
#include <string>
#include <vector>

namespace oncall::app {

/// access list: the grants of a context, with time left.
void print_grants(AppContext& ctx, const std::string& context_name,
                  const std::vector<ops::Grant>& grants);

/// access revoke.
void print_revoked(AppContext& ctx, const std::vector<ops::RevokeResult>& results);

/// Warns (stderr) when a notification was attempted and failed.
void warn_notification(AppContext& ctx, const ops::NotifyOutcome& outcome);

/// Waits for the grant of request `grant`, telling the user what they must know on the way.
Result<ops::IssuedGrant> wait_for(AppContext& ctx, const kube::KubeClient& client,
                                  const config::Context& context, const std::string& grant,
                                  const ops::AccessStores& stores, std::chrono::seconds timeout);

/// "Role X needs a second person's approval ..." and the approver's line.
void print_request_filed(AppContext& ctx, const ops::RequestedApproval& r,
                         const std::string& context, std::chrono::seconds timeout, bool no_wait);

/// request-access -o json of a request still pending.
void print_pending_json(const ops::RequestedApproval& r);

/// A stored grant (text or JSON); `state` is granted or approved.
void print_grant(AppContext& ctx, const ops::IssuedGrant& issued, const char* state);

/// access pending.
void print_pending(AppContext& ctx, const std::vector<ops::PendingRequest>& requests);

/// access approve.
void print_approved(AppContext& ctx, const ops::ApprovedGrant& a);

/// access deny.
void print_denied(AppContext& ctx, const ops::DeniedRequest& d);

} // namespace oncall::app
