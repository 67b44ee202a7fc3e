#pragma once
// The Kubernetes calls behind access grants, on top of the generic KubeClient: who am I
// (SelfSubjectReview), a service account's duration cap, the grant Secret that records a grant and
// revokes its token when deleted, and the bound service-account token (TokenRequest).

#include "oncall/backends/kubernetes.h"
#include "oncall/core/result.h"
#include "oncall/core/time.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oncall::kube {

/// Label that marks the objects oncall manages.
inline constexpr const char* k_managed_by_label = "app.kubernetes.io/managed-by";
/// Label holding the grant id on a grant Secret.
inline constexpr const char* k_grant_label = "oncall.dev/grant";

/// The authenticated user, as the API server sees it.
struct Identity {
    std::string username;
    std::string uid;
    std::vector<std::string> groups;
};

/// POST authentication.k8s.io/v1 SelfSubjectReview: who the context's credentials are.
Result<Identity> self_subject_review(const KubeClient& client);

/// Decodes a SelfSubjectReview response (status.userInfo).
Result<Identity> decode_self_subject_review(const nlohmann::json& object);

/// GET a ServiceAccount's metadata (for its oncall.dev/max-duration annotation).
Result<ObjectMeta> get_service_account(const KubeClient& client, const std::string& ns,
                                       const std::string& name);

/// What a grant Secret records (as annotations and labels; it carries no data).
struct GrantSecret {
    std::string namespace_name;
    std::string name; // oncall-grant-<id>
    std::string grant_id;
    std::string service;
    std::string role;
    std::string service_account;
    std::string requester;
    std::string reason;
    std::string ticket;
    TimePoint expires_at{};
    std::string approver;     // two-person grants: who approved (annotation oncall.dev/approver)
    bool break_glass = false; // annotation oncall.dev/break-glass: "true"
};

/// The Secret object for `grant` (labels managed-by=oncall, grant id, service and role;
/// annotations requester, role, service, reason, ticket, expiry).
nlohmann::json grant_secret_object(const GrantSecret& grant);

/// POST the grant Secret; returns the created object's metadata (its uid binds the token).
Result<ObjectMeta> create_grant_secret(const KubeClient& client, const GrantSecret& grant);

/// A bound service-account token.
struct IssuedToken {
    std::string token;
    std::optional<TimePoint> expires_at; // status.expirationTimestamp
};

/// The TokenRequest body: expirationSeconds and boundObjectRef to the Secret (name and uid).
nlohmann::json token_request_object(std::int64_t expiration_seconds, const std::string& secret_name,
                                    const std::string& secret_uid);

/// Decodes a TokenRequest response (status.token, status.expirationTimestamp).
Result<IssuedToken> decode_token_request(const nlohmann::json& object);

/// POST .../serviceaccounts/<account>/token bound to the Secret.
Result<IssuedToken> request_bound_token(const KubeClient& client, const std::string& ns,
                                        const std::string& account, std::int64_t expiration_seconds,
                                        const std::string& secret_name,
                                        const std::string& secret_uid);

/// DELETE a Secret.
Result<void> delete_secret(const KubeClient& client, const std::string& ns,
                           const std::string& name);

/// GET a Secret's metadata.
Result<ObjectMeta> get_secret(const KubeClient& client, const std::string& ns,
                              const std::string& name);

/// Secrets in `ns` labelled managed-by=oncall that carry a grant id (the grant records).
Result<std::vector<ObjectMeta>> list_grant_secrets(const KubeClient& client, const std::string& ns);

// ---- two-person grants: CertificateSigningRequests with oncall's own signer ----

/// signerName of grant requests (no signer ever issues a certificate for it).
inline constexpr const char* k_grant_signer = "oncall.dev/access-grant";
/// Reason of the Approved condition that `oncall access approve` adds.
inline constexpr const char* k_oncall_approve_reason = "OncallApprove";

/// A condition of a CertificateSigningRequest (Approved, Denied, Failed).
struct CsrCondition {
    std::string type;
    std::string status;
    std::string reason;
    std::string message;
    std::optional<TimePoint> last_update;
};

/// A certificates.k8s.io/v1 CertificateSigningRequest, as far as grants need it.
struct CertificateRequest {
    ObjectMeta metadata;
    std::string request_pem;     // spec.request, base64-decoded
    bool request_decodes = true; // false when spec.request is not base64
    std::string signer_name;
    std::string username; // set by the API server from the requester's credentials
    std::vector<std::string> groups;
    std::vector<CsrCondition> conditions;
    nlohmann::json object; // as read (sent back on the approval subresource)

    /// The condition of that type with status True, if any.
    const CsrCondition* condition(const std::string& type) const;
    bool approved() const { return condition("Approved") != nullptr; }
    bool denied() const { return condition("Denied") != nullptr; }
    bool failed() const { return condition("Failed") != nullptr; }
};

/// Decodes a CSR object (tolerant of missing fields, strict about types).
Result<CertificateRequest> decode_certificate_request(const nlohmann::json& object);

/// POST a grant CSR named `name` holding `request_pem`, signer k_grant_signer, with `labels`.
Result<CertificateRequest> create_grant_csr(const KubeClient& client, const std::string& name,
                                            const std::string& request_pem,
                                            const std::map<std::string, std::string>& labels);

/// GET one CSR.
Result<CertificateRequest> get_csr(const KubeClient& client, const std::string& name);

/// Every CSR whose signer is k_grant_signer (field selector spec.signerName).
Result<List<CertificateRequest>> list_grant_csrs(const KubeClient& client);

/// PUT the CSR back on its approval subresource with one more condition (type Approved or
/// Denied, status True); the resourceVersion it was read at makes a concurrent change a 409.
Result<CertificateRequest> add_csr_condition(const KubeClient& client,
                                             const CertificateRequest& csr, const std::string& type,
                                             const std::string& reason, const std::string& message);

/// Waits (by watch) until the CSR `name` changes after `resource_version` or `timeout` passes;
/// true when it changed.
Result<bool> wait_csr_change(const KubeClient& client, const std::string& name,
                             const std::string& resource_version, std::chrono::seconds timeout);

/// GET a whole Secret (data included).
Result<nlohmann::json> get_secret_object(const KubeClient& client, const std::string& ns,
                                         const std::string& name);

/// Waits (by watch) until the Secret `name` in `ns` is added or changed after `resource_version`
/// (a list's resourceVersion when it does not exist yet) or `timeout` passes; true when it did.
Result<bool> wait_secret_change(const KubeClient& client, const std::string& ns,
                                const std::string& name, const std::string& resource_version,
                                std::chrono::seconds timeout);

/// The resourceVersion of the Secrets collection of `ns` (to watch a Secret not created yet).
Result<std::string> secrets_resource_version(const KubeClient& client, const std::string& ns);

/// Merge-patches one data key of a Secret (value already base64) and, in the same write, the
/// given annotations.
Result<void> patch_secret_data(const KubeClient& client, const std::string& ns,
                               const std::string& name, const std::string& key,
                               const std::string& base64_value,
                               const std::map<std::string, std::string>& annotations = {});

} // namespace oncall::kube
