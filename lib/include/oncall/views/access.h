#pragma once
// `oncall request-access` and `oncall access list|revoke`: grants as text and JSON (tokens never).

#include "oncall/ops/access.h"
#include "oncall/ops/approvals.h"
#include "oncall/ops/grants.h"
#include "oncall/views/view.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oncall::views {

/// The grant just issued (or approved, or taken by break-glass): role, service, expiry (local and
/// UTC) and time left, reason, ticket, the Secret that records it, and what to type next.
std::string request_access_text(const ops::Grant& grant, const TextOptions& options);

/// The JSON document of an issued grant; `state` is granted or approved.
nlohmann::json request_access_json(const ops::Grant& grant, const std::string& state = "granted");

/// "Role X needs a second person's approval ...", the approver's command and how to resume.
std::string request_filed_text(const ops::RequestedApproval& request, const std::string& context,
                               std::chrono::seconds timeout, bool no_wait);

/// The JSON document of a request filed and not waited for (state pending).
nlohmann::json request_filed_json(const ops::RequestedApproval& request);

/// access pending: the requests as a table with a hint, or a line when there is none.
std::string pending_text(const std::vector<ops::PendingRequest>& requests,
                         const TextOptions& options, bool quiet);

/// The JSON document of pending requests.
nlohmann::json pending_json(const std::vector<ops::PendingRequest>& requests);

/// access approve: what was granted, to whom, until when, and how to revoke it.
std::string approved_text(const ops::ApprovedGrant& approved);

/// The JSON document of an approval.
nlohmann::json approved_json(const ops::ApprovedGrant& approved);

/// access deny.
std::string denied_text(const ops::DeniedRequest& denied);

/// The JSON document of a denial.
nlohmann::json denied_json(const ops::DeniedRequest& denied);

/// The grants of a context as a table (time left coloured), or a hint when there is none.
std::string grant_list_text(const std::string& context, const std::vector<ops::Grant>& grants,
                            const TextOptions& options);

/// The JSON document of the grants of a context.
nlohmann::json grant_list_json(const std::string& context, const std::vector<ops::Grant>& grants,
                               TimePoint now);

/// One sentence per revoked grant.
std::string revoke_text(const std::vector<ops::RevokeResult>& results);

/// The JSON document of revoked grants.
nlohmann::json revoke_json(const std::vector<ops::RevokeResult>& results);

} // namespace oncall::views
