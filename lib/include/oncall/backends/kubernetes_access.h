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
    std::string name;            // oncall-grant-<id>
    std::string grant_id;
    std::string service;
    std::string role;
    std::string service_account;
    std::string requester;
    std::string reason;
    std::string ticket;
    TimePoint expires_at{};
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
                                        const std::string& account,
                                        std::int64_t expiration_seconds,
                                        const std::string& secret_name,
                                        const std::string& secret_uid);

/// DELETE a Secret.
Result<void> delete_secret(const KubeClient& client, const std::string& ns,
                           const std::string& name);

} // namespace oncall::kube
