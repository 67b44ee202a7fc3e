#pragma once
// Access notifications: one JSON POST to a webhook (Slack, Mattermost or anything that takes
// JSON) for access_requested, access_approved, access_denied and break_glass. A notification
// never blocks what it reports: it has a 2 s deadline, and its failure is a value to warn about
// and to audit.

#include "oncall/config/config.h"
#include "oncall/core/result.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace oncall::ops {

/// What a notification says (every field of DESIGN.md; empty strings are sent as null).
struct Notification {
    std::string event; // access_requested | access_approved | access_denied | break_glass
    std::string service;
    std::string role;
    std::string grant;
    std::string requester;
    std::string approver;
    std::string reason;
    std::string ticket;
    std::string expires_at; // RFC 3339, or empty
    std::string context;
};

/// The one-line summary a chat webhook shows, e.g. "BREAK-GLASS: alice took role breakglass on
/// checkout until ...: <reason>".
std::string notification_text(const Notification& n);

/// The JSON body: every field plus `text`.
nlohmann::json notification_body(const Notification& n);

/// Deadline of a notification POST.
inline constexpr std::chrono::seconds k_notify_timeout{2};

/// What became of a notification, for the audit line: "sent", "not-configured" or
/// "failed: <why>".
struct NotifyOutcome {
    bool attempted = false;
    bool ok = false;
    std::string detail; // "sent", "not configured", or the failure
    /// The audit value of the outcome.
    std::string audit_value() const;
};

/// Sends `n` to the configured webhook (URL from the environment variable or the file; never
/// logged, since webhook URLs embed secrets). Not configured: not attempted.
NotifyOutcome send_notification(const config::NotifyConfig& notify, const Notification& n);

} // namespace oncall::ops
