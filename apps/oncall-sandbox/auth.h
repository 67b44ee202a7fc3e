#pragma once
// Authentication and a small RBAC. The engineer's static bearer token reads everything, may use the
// service proxy (get and create on services/proxy) and mints access grants (Secrets
// oncall-grant-*, Events, TokenRequests for oncall-* service accounts);
// tokens minted by TokenRequest authenticate as their service account while unexpired and while
// the Secret they are bound to still exists; only an oncall-deployer token may patch or update
// Deployments, and only in its own namespace. People create CertificateSigningRequests; only the
// approvers' identity updates their approval subresource, patches grant Secrets (to store the
// sealed token) and mints tokens for the service accounts of roles that need approval. A token
// bound to a grant Secret labelled oncall.dev/service=NAME may write only Deployment NAME (the
// per-service admission policy a real cluster would add for oncall grants).

#include "status.h"
#include "store.h"

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace sandbox {

/// Who made a request.
struct UserInfo {
    std::string username;
    std::string uid;
    std::vector<std::string> groups;
    nlohmann::json extra = nlohmann::json::object();
    bool is_engineer = false; // a person (the engineers' or the approvers' token)
    bool is_approver =
        false; // the approvers' token: may approve requests and mint for roles that need approval
    std::string sa_namespace; // service-account tokens only
    std::string sa_name;
    std::string grant_service; // label oncall.dev/service of the Secret the token is bound to
};

/// What a request wants to do, in kube's authorizer terms.
struct RequestAttributes {
    std::string verb; // get, list, watch, create, update, patch, delete
    ResourceRef ref;
    std::string subresource; // "token", "log", ...
    std::string namespace_name;
    std::string name;        // from the path ("" for create and list)
    std::string object_name; // the name being created (from the body), for name-scoped rules
};

/// A token minted by the TokenRequest API.
struct MintedToken {
    std::string namespace_name;
    std::string service_account;
    std::string service_account_uid;
    std::chrono::system_clock::time_point issued_at;
    std::chrono::system_clock::time_point expires_at;
    std::string bound_kind; // "Secret" or ""
    std::string bound_name;
    std::string bound_uid;
    std::string jti;
};

class Authenticator {
public:
    Authenticator(std::string engineer_token, std::string engineer_name);

    /// Adds the approvers' identity (group oncall:approvers).
    void set_approver(std::string token, std::string name);

    /// Issues a JWT-shaped token for the service account; the sandbox remembers what it grants.
    std::string mint(const MintedToken& token);

    /// The user behind an Authorization header at `now`, or nullopt (401) for a missing, unknown,
    /// expired or revoked token. The caller holds the store's mutex.
    std::optional<UserInfo> authenticate(const std::string& authorization, const Store& store,
                                         std::chrono::system_clock::time_point now) const;

    /// The user of a verified client certificate: user name = subject CN, groups = each O plus
    /// system:authenticated, as kube-apiserver's x509 authenticator does. Certificate users have
    /// the engineer's permissions (the sandbox's RBAC knows one human role).
    static UserInfo certificate_user(const std::string& common_name,
                                     const std::vector<std::string>& organizations);

    /// Makes a minted token expire at `now` (the admin API's test hook); false for unknown tokens.
    bool expire(const std::string& token, std::chrono::system_clock::time_point now);

    /// The engineer's user name.
    const std::string& engineer_name() const { return m_engineer_name; }

private:
    std::string m_engineer_token;
    std::string m_engineer_name;
    std::string m_engineer_uid;
    std::string m_approver_token;
    std::string m_approver_name;
    std::string m_approver_uid;
    std::map<std::string, MintedToken> m_tokens;
};

/// Service accounts whose tokens only approvers may mint (roles with approval: required).
struct AuthorizationPolicy {
    std::vector<std::string> approval_required_accounts;
};

/// Whether the user may do what the attributes describe.
bool authorize(const UserInfo& user, const RequestAttributes& attributes,
               const AuthorizationPolicy& policy = {});

/// The 403 kube's RBAC answers for a denied request.
StatusError forbidden_for(const UserInfo& user, const RequestAttributes& attributes);

} // namespace sandbox
