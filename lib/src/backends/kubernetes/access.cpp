#include "oncall/backends/kubernetes_access.h"

#include "oncall/core/time.h"
#include "oncall/http/client.h"

#include <fmt/format.h>

namespace oncall::kube {
namespace {

using nlohmann::json;

std::string secrets_path(const std::string& ns) {
    return fmt::format("/api/v1/namespaces/{}/secrets", http::url_encode(ns));
}

const json* find_object(const json& parent, const char* key) {
    if (!parent.is_object()) {
        return nullptr;
    }
    const auto it = parent.find(key);
    return (it != parent.end() && it->is_object()) ? &*it : nullptr;
}

std::string string_field(const json& parent, const char* key) {
    if (!parent.is_object()) {
        return {};
    }
    const auto it = parent.find(key);
    return (it != parent.end() && it->is_string()) ? it->get<std::string>() : std::string{};
}

} // namespace

Result<Identity> decode_self_subject_review(const json& object) {
    const json* status = find_object(object, "status");
    const json* user = status != nullptr ? find_object(*status, "userInfo") : nullptr;
    if (user == nullptr) {
        return make_error(Errc::bad_response,
                          "SelfSubjectReview: the answer has no status.userInfo");
    }
    Identity id;
    id.username = string_field(*user, "username");
    id.uid = string_field(*user, "uid");
    if (const auto it = user->find("groups"); it != user->end() && it->is_array()) {
        for (const auto& g : *it) {
            if (g.is_string()) {
                id.groups.push_back(g.get<std::string>());
            }
        }
    }
    if (id.username.empty()) {
        return make_error(Errc::bad_response,
                          "SelfSubjectReview: the answer names no user (status.userInfo.username)");
    }
    return id;
}

Result<Identity> self_subject_review(const KubeClient& client) {
    const json body = {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "SelfSubjectReview"}};
    auto answer = client.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", body);
    if (!answer) {
        auto e = std::move(answer).error();
        e.message = fmt::format("cannot find out who you are (SelfSubjectReview at {}): {}",
                                client.connection().server, e.message);
        return e;
    }
    return decode_self_subject_review(*answer);
}

Result<ObjectMeta> get_service_account(const KubeClient& client, const std::string& ns,
                                       const std::string& name) {
    auto answer = client.get(fmt::format("/api/v1/namespaces/{}/serviceaccounts/{}",
                                         http::url_encode(ns), http::url_encode(name)));
    if (!answer) {
        auto e = std::move(answer).error();
        if (e.code == Errc::not_found) {
            e.message = fmt::format("service account {}/{} does not exist on {}; the cluster is "
                                    "not set up for this role (ask the cluster administrators, or "
                                    "fix the role's service-account in the configuration)",
                                    ns, name, client.connection().server);
        }
        return e;
    }
    return decode_metadata(*answer);
}

json grant_secret_object(const GrantSecret& grant) {
    json annotations = {{"oncall.dev/requester", grant.requester},
                        {"oncall.dev/role", grant.role},
                        {"oncall.dev/service", grant.service},
                        {"oncall.dev/service-account", grant.service_account},
                        {"oncall.dev/reason", grant.reason},
                        {"oncall.dev/expires-at", format_rfc3339(grant.expires_at)}};
    if (!grant.ticket.empty()) {
        annotations["oncall.dev/ticket"] = grant.ticket;
    }
    return {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"type", "Opaque"},
            {"metadata",
             {{"name", grant.name},
              {"namespace", grant.namespace_name},
              {"labels",
               {{k_managed_by_label, "oncall"},
                {k_grant_label, grant.grant_id},
                {"oncall.dev/service", grant.service},
                {"oncall.dev/role", grant.role}}},
              {"annotations", annotations}}}};
}

Result<ObjectMeta> create_grant_secret(const KubeClient& client, const GrantSecret& grant) {
    auto answer = client.post(secrets_path(grant.namespace_name), grant_secret_object(grant));
    if (!answer) {
        return std::move(answer).error();
    }
    auto meta = decode_metadata(*answer);
    if (meta && meta->uid.empty()) {
        return make_error(Errc::bad_response,
                          fmt::format("the API server created secret {}/{} without a uid",
                                      grant.namespace_name, grant.name));
    }
    return meta;
}

json token_request_object(std::int64_t expiration_seconds, const std::string& secret_name,
                          const std::string& secret_uid) {
    return {{"apiVersion", "authentication.k8s.io/v1"},
            {"kind", "TokenRequest"},
            {"spec",
             {{"expirationSeconds", expiration_seconds},
              {"boundObjectRef",
               {{"kind", "Secret"}, {"apiVersion", "v1"}, {"name", secret_name},
                {"uid", secret_uid}}}}}};
}

Result<IssuedToken> decode_token_request(const json& object) {
    const json* status = find_object(object, "status");
    if (status == nullptr) {
        return make_error(Errc::bad_response, "TokenRequest: the answer has no status");
    }
    IssuedToken t;
    t.token = string_field(*status, "token");
    if (t.token.empty()) {
        return make_error(Errc::bad_response, "TokenRequest: the answer holds no token");
    }
    const std::string expiry = string_field(*status, "expirationTimestamp");
    if (!expiry.empty()) {
        auto parsed = parse_rfc3339(expiry);
        if (!parsed) {
            return make_error(Errc::bad_response,
                              "TokenRequest: status.expirationTimestamp is not a time");
        }
        t.expires_at = *parsed;
    }
    return t;
}

Result<IssuedToken> request_bound_token(const KubeClient& client, const std::string& ns,
                                        const std::string& account,
                                        std::int64_t expiration_seconds,
                                        const std::string& secret_name,
                                        const std::string& secret_uid) {
    auto answer = client.post(fmt::format("/api/v1/namespaces/{}/serviceaccounts/{}/token",
                                          http::url_encode(ns), http::url_encode(account)),
                              token_request_object(expiration_seconds, secret_name, secret_uid));
    if (!answer) {
        return std::move(answer).error();
    }
    return decode_token_request(*answer);
}

Result<void> delete_secret(const KubeClient& client, const std::string& ns,
                           const std::string& name) {
    return client.del(fmt::format("{}/{}", secrets_path(ns), http::url_encode(name)));
}

} // namespace oncall::kube
