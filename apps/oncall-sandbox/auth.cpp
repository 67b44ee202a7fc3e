#include "auth.h"

#include "objects.h"

#include <algorithm>

namespace sandbox {

using nlohmann::json;

Authenticator::Authenticator(std::string engineer_token, std::string engineer_name)
    : m_engineer_token(std::move(engineer_token)), m_engineer_name(std::move(engineer_name)),
      m_engineer_uid(new_uid()) {}

std::string Authenticator::mint(const MintedToken& token) {
    const auto secs = [](std::chrono::system_clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    };
    json header = {{"alg", "RS256"}, {"kid", "oncall-sandbox"}};
    json kube = {
        {"namespace", token.namespace_name},
        {"serviceaccount", {{"name", token.service_account}, {"uid", token.service_account_uid}}}};
    if (!token.bound_kind.empty()) {
        kube["secret"] = {{"name", token.bound_name}, {"uid", token.bound_uid}};
    }
    json payload = {
        {"aud", json::array({"https://kubernetes.default.svc.cluster.local"})},
        {"exp", secs(token.expires_at)},
        {"iat", secs(token.issued_at)},
        {"iss", "https://kubernetes.default.svc.cluster.local"},
        {"jti", token.jti},
        {"kubernetes.io", kube},
        {"nbf", secs(token.issued_at)},
        {"sub", "system:serviceaccount:" + token.namespace_name + ":" + token.service_account}};
    const std::string jwt =
        base64url(header.dump()) + "." + base64url(payload.dump()) + "." + random_base64url(64);
    m_tokens[jwt] = token;
    return jwt;
}

void Authenticator::set_approver(std::string token, std::string name) {
    m_approver_token = std::move(token);
    m_approver_name = std::move(name);
    m_approver_uid = new_uid();
}

UserInfo Authenticator::certificate_user(const std::string& common_name,
                                         const std::vector<std::string>& organizations) {
    UserInfo u;
    u.username = common_name;
    u.groups = organizations;
    u.groups.push_back("system:authenticated");
    u.is_engineer = true;
    return u;
}

bool Authenticator::expire(const std::string& token, std::chrono::system_clock::time_point now) {
    auto it = m_tokens.find(token);
    if (it == m_tokens.end())
        return false;
    it->second.expires_at = std::min(it->second.expires_at, now);
    return true;
}

std::optional<UserInfo>
Authenticator::authenticate(const std::string& authorization, const Store& store,
                            std::chrono::system_clock::time_point now) const {
    static const std::string prefix = "Bearer ";
    if (authorization.size() <= prefix.size() ||
        authorization.compare(0, prefix.size(), prefix) != 0) {
        return std::nullopt;
    }
    std::string token = authorization.substr(prefix.size());
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
        token.pop_back();
    if (!m_engineer_token.empty() && token == m_engineer_token) {
        UserInfo u;
        u.username = m_engineer_name;
        u.uid = m_engineer_uid;
        u.groups = {"oncall:engineers", "system:authenticated"};
        u.is_engineer = true;
        return u;
    }
    if (!m_approver_token.empty() && token == m_approver_token) {
        UserInfo u;
        u.username = m_approver_name;
        u.uid = m_approver_uid;
        u.groups = {"oncall:approvers", "oncall:engineers", "system:authenticated"};
        u.is_engineer = true;
        u.is_approver = true;
        return u;
    }
    auto it = m_tokens.find(token);
    if (it == m_tokens.end())
        return std::nullopt;
    const MintedToken& t = it->second;
    if (now >= t.expires_at)
        return std::nullopt;
    std::string grant_service;
    if (t.bound_kind == "Secret") {
        auto secret = store.get("secrets", t.namespace_name, t.bound_name);
        if (!secret || str_at(*secret, "metadata", "uid") != t.bound_uid)
            return std::nullopt;
        grant_service = str_at(*secret, "metadata", "labels", "oncall.dev/service");
    }
    auto sa = store.get("serviceaccounts", t.namespace_name, t.service_account);
    if (!sa || str_at(*sa, "metadata", "uid") != t.service_account_uid)
        return std::nullopt;
    UserInfo u;
    u.username = "system:serviceaccount:" + t.namespace_name + ":" + t.service_account;
    u.uid = t.service_account_uid;
    u.groups = {"system:serviceaccounts", "system:serviceaccounts:" + t.namespace_name,
                "system:authenticated"};
    u.extra = {{"authentication.kubernetes.io/credential-id", json::array({"JTI=" + t.jti})}};
    u.sa_namespace = t.namespace_name;
    u.sa_name = t.service_account;
    u.grant_service = grant_service;
    return u;
}

static bool has_prefix(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

bool authorize(const UserInfo& user, const RequestAttributes& a,
               const AuthorizationPolicy& policy) {
    const bool read = a.verb == "get" || a.verb == "list" || a.verb == "watch";
    if (a.ref.group == "authentication.k8s.io" && a.ref.resource == "selfsubjectreviews") {
        return a.verb == "create"; // every authenticated user may ask who they are
    }
    if (user.is_engineer) {
        if (read)
            return true;
        if (a.ref.group.empty() && a.ref.resource == "secrets") {
            const std::string& name = a.verb == "create" ? a.object_name : a.name;
            const bool verb_ok =
                a.verb == "create" || a.verb == "delete" || (user.is_approver && a.verb == "patch");
            return verb_ok && a.subresource.empty() && has_prefix(name, "oncall-grant-");
        }
        if (a.ref.group.empty() && a.ref.resource == "events")
            return a.verb == "create";
        // Monitoring through the service proxy: Prometheus takes its queries as POSTs.
        if (a.ref.group.empty() && a.ref.resource == "services" && a.subresource == "proxy") {
            return a.verb == "create";
        }
        if (a.ref.group.empty() && a.ref.resource == "serviceaccounts" &&
            a.subresource == "token") {
            const auto& gated = policy.approval_required_accounts;
            if (std::find(gated.begin(), gated.end(), a.name) != gated.end() && !user.is_approver)
                return false;
            return a.verb == "create" && has_prefix(a.name, "oncall-");
        }
        if (a.ref.group == "certificates.k8s.io" &&
            a.ref.resource == "certificatesigningrequests") {
            if (a.subresource.empty())
                return a.verb == "create";
            // The approval subresource (with RBAC's "approve" on signers oncall.dev/access-grant).
            return a.subresource == "approval" && user.is_approver &&
                   (a.verb == "update" || a.verb == "patch");
        }
        return false;
    }
    if (user.sa_name.empty())
        return false;
    // Service accounts read, but not Secrets (their tokens must not read grant records).
    if (read)
        return !(a.ref.group.empty() && a.ref.resource == "secrets");
    if (user.sa_name == "oncall-deployer" && a.namespace_name == user.sa_namespace) {
        if (a.ref.group == "apps" && a.ref.resource == "deployments" &&
            (a.subresource.empty() || a.subresource == "scale")) {
            if (!user.grant_service.empty() && a.name != user.grant_service)
                return false;
            return a.verb == "patch" || a.verb == "update";
        }
        if (a.ref.group.empty() && a.ref.resource == "events")
            return a.verb == "create";
    }
    return false;
}

StatusError forbidden_for(const UserInfo& user, const RequestAttributes& a) {
    return forbidden(a.ref, a.subresource, a.name, user.username, a.verb, a.namespace_name);
}

} // namespace sandbox
