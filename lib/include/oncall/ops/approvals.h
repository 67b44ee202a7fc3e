#pragma once
// Two-person grants. The request is a CertificateSigningRequest with oncall's own signer: the API
// server attests who asked (spec.username), the signed PKCS#10 request fixes what was asked, RBAC
// decides who may approve (the CSR approval subresource), and the approver's token reaches the
// requester only as a box sealed to the requester's key, stored in the grant Secret.

#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/core/time.h"
#include "oncall/ops/access.h"
#include "oncall/ops/notify.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oncall::kube {
class KubeClient;
}

namespace oncall::ops {

/// Secret data key holding the sealed token.
inline constexpr const char* k_sealed_token_key = "sealed-token";

/// The message a requester sees when the CSR was approved by something other than oncall (e.g.
/// `kubectl certificate approve`), which issues no token.
inline constexpr const char* k_approved_without_token =
    "approved, but no token was issued: approve with oncall access approve";

/// The command a second person runs: `oncall access approve ID --context NAME`.
std::string approve_command(const std::string& grant_id, const std::string& context);

/// What request_approval sent.
struct RequestedApproval {
    std::string grant;    // grant id
    std::string csr_name; // oncall-grant-<id>
    std::string service;
    std::string namespace_name;
    std::string role;
    std::string requester; // from a SelfSubjectReview
    std::string reason;
    std::string ticket;
    std::chrono::seconds duration{0};
    TimePoint requested_at{};
    NotifyOutcome notified;
};

/// Files a request for an approval-required role: Ed25519 key (0600 in the grant store), CSR,
/// Event AccessRequested, notification, audit line. Nothing is granted yet.
Result<RequestedApproval>
request_approval(const kube::KubeClient& client, const config::Context& context,
                 const config::Service& service, const AccessRequest& request,
                 const AccessStores& stores,
                 const std::function<void(std::string_view)>& progress = {});

/// How wait_for_grant waits.
struct GrantWaitOptions {
    std::chrono::seconds timeout{15 * 60};
    /// Things the requester must be told while waiting (e.g. k_approved_without_token), once each.
    std::function<void(std::string_view)> notice;
    std::function<void(std::string_view)> progress;
};

/// Waits by watch until the request `grant_id` (made on this machine) is approved and its sealed
/// token arrives (then opens it, stores the grant 0600, deletes the request key, audits), is
/// denied (Errc::access_denied), or the timeout passes (Errc::wait_timeout; the request stays
/// pending). A sealed token that does not open is Errc::access_denied and nothing is stored.
Result<IssuedGrant> wait_for_grant(const kube::KubeClient& client, const config::Context& context,
                                   const std::string& grant_id, const AccessStores& stores,
                                   const GrantWaitOptions& options);

/// One request in `access pending`.
struct PendingRequest {
    std::string grant; // id (CSR name without oncall-grant-)
    std::string csr_name;
    std::string service;
    std::string namespace_name;
    std::string role;
    std::string requester; // spec.username (attested)
    std::string reason;
    std::string ticket;
    std::chrono::seconds requested_for{0};
    std::optional<TimePoint> requested_at;
    bool valid = true; // false: never approvable, `problem` says why
    std::string problem;
};

/// Requests with oncall's signer and neither Approved nor Denied, oldest first (only those for
/// `service` when given; invalid ones are always listed).
Result<std::vector<PendingRequest>> list_pending(const kube::KubeClient& client,
                                                 const std::string& service = {});

/// What `access approve` asks.
struct ApproveRequest {
    std::string grant;    // id, or oncall-grant-<id>
    std::string duration; // --for as typed; empty: what was requested
};

/// What approve_request did.
struct ApprovedGrant {
    std::string grant;
    std::string service;
    std::string namespace_name;
    std::string role;
    std::string requester;
    std::string approver;
    std::chrono::seconds requested{0};
    std::chrono::seconds granted{0};
    bool capped = false;
    std::string capped_by; // "the role's max 1h", "service account shop/x caps grants at 30m", ...
    TimePoint expires_at{};
    NotifyOutcome notified;
};

/// Finds the configured Service of a name (the approver's view of where it lives).
using ServiceLookup = std::function<Result<config::Service>(const std::string& name)>;

/// Approves a request: refuses invalid, denied, approved and self-made requests and planted grant
/// Secrets; adds the Approved condition; creates the grant Secret (approver and requester
/// annotated); mints the bound token for min(requested, --for, role max, service-account cap);
/// stores it sealed to the requester's key; Event AccessApproved; notification; audit line.
Result<ApprovedGrant> approve_request(const kube::KubeClient& client,
                                      const config::Context& context, const ServiceLookup& services,
                                      const ApproveRequest& request, const std::string& audit_path,
                                      const std::function<void(std::string_view)>& progress = {});

/// What deny_request did.
struct DeniedRequest {
    std::string grant;
    std::string service;
    std::string role;
    std::string requester;
    std::string approver;
    std::string reason;
    NotifyOutcome notified;
};

/// Denies a pending request: Denied condition (with the reason), Event AccessDenied,
/// notification, audit line.
Result<DeniedRequest> deny_request(const kube::KubeClient& client, const config::Context& context,
                                   const std::string& grant, const std::string& reason,
                                   const std::string& audit_path);

/// Minimum length of a break-glass reason, in characters after trimming.
inline constexpr std::size_t k_min_break_glass_reason_length = 20;

} // namespace oncall::ops
