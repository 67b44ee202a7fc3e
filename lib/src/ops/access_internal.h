#pragma once
// Pieces shared by self-service grants (access.cpp) and two-person grants (approvals.cpp).

#include "oncall/backends/kubernetes.h"
#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/ops/grants.h"

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace oncall::ops::detail {

/// "30m", "1h".
std::string fmt_seconds(std::chrono::seconds s);
/// Text without leading and trailing white space.
std::string trimmed(const std::string& text);
/// The max of the named role in the context (0 when unknown).
std::chrono::seconds role_max_of(const config::Context& context, const std::string& role);
/// Passes a line to `progress` when set.
void say(const std::function<void(std::string_view)>& progress, const std::string& line);
/// Words for a refusal of the grant Secret.
Error explain_secret_refusal(Error e, const kube::KubeClient& client, const std::string& ns,
                             const std::string& user);
/// Words for a refusal of the TokenRequest.
Error explain_token_refusal(Error e, const std::string& ns, const std::string& account,
                            std::chrono::seconds duration, const std::string& user);
/// Deletes the grant Secret after a later step failed; appends what happened to `error`.
Error undo_secret(Error error, const kube::KubeClient& client, const std::string& ns,
                  const std::string& name, const std::function<void(std::string_view)>& progress);
/// A grant of `context_name` pinned to the API server `client` talks to (its URL and identity);
/// the caller fills in the rest.
Result<Grant> grant_on_server(const kube::KubeClient& client, const std::string& context_name);
/// The audit record of a grant event.
nlohmann::json grant_audit_record(const Grant& g, const std::string& action,
                                  const std::string& result);

} // namespace oncall::ops::detail
