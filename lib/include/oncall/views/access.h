#pragma once
// `oncall request-access` and `oncall access list|revoke`: grants as text and JSON (tokens never).

#include "oncall/ops/access.h"
#include "oncall/ops/grants.h"
#include "oncall/views/view.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oncall::views {

/// The grant just issued: role, service, expiry (local and UTC) and time left, reason, ticket, the
/// Secret that records it, and what to type next.
std::string request_access_text(const ops::Grant& grant, const TextOptions& options);

/// The JSON document of an issued grant.
nlohmann::json request_access_json(const ops::Grant& grant);

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
