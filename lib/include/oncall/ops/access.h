#pragma once
// Use cases of just-in-time access: issuing a grant (validate, identify, Secret, bound token,
// Event, local store, audit), revoking it, and choosing the credential rollback and redeploy
// write with.

#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/ops/grants.h"
#include "oncall/ops/notify.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace oncall::kube {
class KubeClient;
struct Connection;
} // namespace oncall::kube

namespace oncall::ops {

/// What `oncall request-access` asks for.
struct AccessRequest {
    std::string role;
    std::string duration; // as typed (--for)
    std::string reason;
    std::string ticket;
};

/// A request checked without talking to any server: role known, reason meaningful, duration
/// parsed and within the role's max.
struct ValidatedRequest {
    config::Role role;
    std::chrono::seconds duration{0};
    std::string reason; // trimmed
    std::string ticket;
};

/// Checks a request against the context's access config (nothing is sent anywhere).
Result<ValidatedRequest> validate_request(const config::AccessConfig& access,
                                          const AccessRequest& request);

/// Where request_access keeps what it produces.
struct AccessStores {
    GrantStore grants;
    std::string audit_path;
};

/// What request_access issued, and the earlier grant for the same key it replaced (if any).
struct IssuedGrant {
    Grant grant;
    std::optional<Grant> replaced; // the previous grant for this context + service + role
    bool replaced_revoked = false; // its Secret was deleted (or already gone)
    NotifyOutcome notified;        // break-glass roles notify; others do not attempt
};

/// Issues a grant for `service`: SelfSubjectReview, service-account cap, grant Secret, bound
/// TokenRequest, Event, local store, audit line. A failure after the Secret exists deletes it
/// again; errors from the server are explained (403 -> exit 4, 422 -> exit 2). An earlier grant
/// for the same key is revoked once the new one is stored. `progress` receives redacted lines
/// for -v.
Result<IssuedGrant> request_access(const kube::KubeClient& client, const config::Context& context,
                                   const config::Service& service, const AccessRequest& request,
                                   const AccessStores& stores,
                                   const std::function<void(std::string_view)>& progress = {});

/// What revoke_access did.
struct RevokeResult {
    Grant grant;
    bool secret_deleted = false; // false when the Secret was already gone
};

/// Revokes the local grants for `service` in the context (all roles, or only `role`): deletes
/// each grant Secret (the server then refuses the token), removes the local grant, audits it.
/// No local grant is an Errc::not_found error.
Result<std::vector<RevokeResult>>
revoke_access(const kube::KubeClient& client, const config::Context& context,
              const config::Service& service, const std::string& role, const AccessStores& stores);

/// The credential for a write to `service`: with access.require-grant, the token of an active
/// deployer grant for exactly this service, context and namespace, minted by the server that
/// `connection` (the resolved connection the write will use) points at and trusted the same way;
/// otherwise nullopt token (the context's own credentials).
struct WriteAccess {
    std::optional<std::string> bearer_token; // the grant's token; never print it
    std::optional<Grant> grant;
    std::optional<std::string> warning; // under 5 minutes left
};

/// How a connection trusts its server, as grants record it: "ca-sha256:<hex>" of the CA bundle
/// in use, "system-roots", "plain-http" or "insecure-skip-tls-verify". An unreadable CA file is an
/// error.
Result<std::string> server_identity(const kube::Connection& connection);

/// Picks the write credential or fails with exit 4 and the exact request-access line. A grant
/// minted by another server (scheme, host, port, path compared normalised), or trusted through
/// another CA, or recorded without the server's identity (older grants) is refused before
/// anything is sent.
Result<WriteAccess> write_access_for(const config::Context& context, const config::Service& service,
                                     const kube::Connection& connection, const GrantStore& store);

/// Same, with the user's default store.
Result<WriteAccess> write_access_for(const config::Context& context, const config::Service& service,
                                     const kube::Connection& connection);

/// Rewrites a 401/403 that the server gave a grant token into an access-denied error that says
/// the grant was refused (revoked or expired) and gives the request-access line; other errors
/// pass through unchanged.
Error explain_grant_refusal(Error error, const config::Context& context,
                            const std::string& service);

} // namespace oncall::ops
