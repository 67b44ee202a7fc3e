#pragma once
// What the access commands share besides their output (which is in lib/views): the warnings on
// stderr about a replaced grant or an undelivered notification, and the wait for an approval.

#include "app_context.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/ops/access.h"
#include "oncall/ops/approvals.h"

#include <chrono>
#include <string>

namespace oncall::app {

/// Warns (stderr) when a notification was attempted and failed.
void warn_notification(AppContext& ctx, const ops::NotifyOutcome& outcome);

/// Warns (stderr) about the earlier grant a new one replaced, and whether its token was revoked.
void warn_replaced(AppContext& ctx, const ops::IssuedGrant& issued);

/// Waits for the grant of request `grant`, telling the user what they must know on the way.
Result<ops::IssuedGrant> wait_for(AppContext& ctx, const kube::KubeClient& client,
                                  const config::Context& context, const std::string& grant,
                                  const ops::AccessStores& stores, std::chrono::seconds timeout);

/// A stored grant on stdout (text or JSON) after the warnings; `state` is granted or approved.
void print_grant(AppContext& ctx, const ops::IssuedGrant& issued, const char* state);

} // namespace oncall::app
