#include "oncall/backends/kubernetes_access.h"
#include "oncall/core/time.h"
#include "oncall/http/client.h"

#include <algorithm>
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
    if (!grant.approver.empty()) {
        annotations["oncall.dev/approver"] = grant.approver;
    }
    if (grant.break_glass) {
        annotations["oncall.dev/break-glass"] = "true";
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
               {{"kind", "Secret"},
                {"apiVersion", "v1"},
                {"name", secret_name},
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
                                        const std::string& account, std::int64_t expiration_seconds,
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

Result<ObjectMeta> get_secret(const KubeClient& client, const std::string& ns,
                              const std::string& name) {
    auto answer = client.get(fmt::format("{}/{}", secrets_path(ns), http::url_encode(name)));
    if (!answer) {
        return std::move(answer).error();
    }
    return decode_metadata(*answer);
}

Result<std::vector<ObjectMeta>> list_grant_secrets(const KubeClient& client,
                                                   const std::string& ns) {
    ListOptions options;
    options.label_selector = fmt::format("{}=oncall,{}", k_managed_by_label, k_grant_label);
    auto answer = client.list(secrets_path(ns), options);
    if (!answer) {
        return std::move(answer).error();
    }
    std::vector<ObjectMeta> out;
    for (const auto& item : answer->items) {
        auto meta = decode_metadata(item);
        if (!meta) {
            return std::move(meta).error();
        }
        out.push_back(std::move(meta).value());
    }
    return out;
}

// ---- CertificateSigningRequests ----

namespace {

constexpr const char* k_csr_path = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

std::string csr_path(const std::string& name) {
    return fmt::format("{}/{}", k_csr_path, http::url_encode(name));
}

Result<std::string> decode_base64(const std::string& text) {
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned value = 0;
    int bits = 0;
    std::size_t pad = 0;
    for (const char c : text) {
        if (c == '=') {
            ++pad;
            continue;
        }
        if (c == '\n' || c == '\r') {
            continue;
        }
        const auto pos = alphabet.find(c);
        if (pos == std::string::npos || pad > 0) {
            return make_error(Errc::bad_response, "not base64");
        }
        value = (value << 6) | static_cast<unsigned>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((value >> bits) & 0xff);
        }
    }
    return out;
}

// Follows a watch until the first event after `rv` for an object named `name`.
Result<bool> wait_change(const KubeClient& client, const std::string& path, const std::string& name,
                         const std::string& rv, std::chrono::seconds timeout) {
    WatchOptions options;
    options.resource_version = rv;
    options.field_selector = "metadata.name=" + name;
    options.timeout = std::max(timeout, std::chrono::seconds(1));
    bool changed = false;
    auto watched = client.watch(path, options, [&](const WatchEvent& e) {
        if (e.type == "BOOKMARK") {
            return true;
        }
        changed = true;
        return false;
    });
    if (!watched) {
        // An expired resourceVersion: the caller reads the object again.
        if (watched.error().code == Errc::conflict) {
            return true;
        }
        return std::move(watched).error();
    }
    return changed;
}

} // namespace

const CsrCondition* CertificateRequest::condition(const std::string& type) const {
    for (const auto& c : conditions) {
        if (c.type == type && c.status == "True") {
            return &c;
        }
    }
    return nullptr;
}

Result<CertificateRequest> decode_certificate_request(const json& object) {
    auto meta = decode_metadata(object);
    if (!meta) {
        return std::move(meta).error();
    }
    CertificateRequest csr;
    csr.metadata = std::move(meta).value();
    csr.object = object;
    if (const json* spec = find_object(object, "spec")) {
        auto pem = decode_base64(string_field(*spec, "request"));
        if (pem) {
            csr.request_pem = std::move(pem).value();
        } else {
            csr.request_decodes = false;
        }
        csr.signer_name = string_field(*spec, "signerName");
        csr.username = string_field(*spec, "username");
        if (const auto it = spec->find("groups"); it != spec->end() && it->is_array()) {
            for (const auto& g : *it) {
                if (g.is_string()) {
                    csr.groups.push_back(g.get<std::string>());
                }
            }
        }
    }
    if (const json* status = find_object(object, "status")) {
        if (const auto it = status->find("conditions"); it != status->end() && it->is_array()) {
            for (const auto& c : *it) {
                if (!c.is_object()) {
                    continue;
                }
                CsrCondition cond;
                cond.type = string_field(c, "type");
                cond.status = string_field(c, "status");
                cond.reason = string_field(c, "reason");
                cond.message = string_field(c, "message");
                if (auto t = parse_rfc3339(string_field(c, "lastUpdateTime")); t) {
                    cond.last_update = *t;
                }
                csr.conditions.push_back(std::move(cond));
            }
        }
    }
    return csr;
}

Result<CertificateRequest> create_grant_csr(const KubeClient& client, const std::string& name,
                                            const std::string& request_pem,
                                            const std::map<std::string, std::string>& labels) {
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string encoded;
    std::size_t i = 0;
    for (; i + 2 < request_pem.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(request_pem[i]) << 16) |
                           (static_cast<unsigned char>(request_pem[i + 1]) << 8) |
                           static_cast<unsigned char>(request_pem[i + 2]);
        for (int s = 18; s >= 0; s -= 6) {
            encoded += alphabet[(v >> s) & 63];
        }
    }
    if (i < request_pem.size()) {
        unsigned v = static_cast<unsigned char>(request_pem[i]) << 16;
        if (i + 1 < request_pem.size()) {
            v |= static_cast<unsigned char>(request_pem[i + 1]) << 8;
        }
        encoded += alphabet[(v >> 18) & 63];
        encoded += alphabet[(v >> 12) & 63];
        encoded += i + 1 < request_pem.size() ? alphabet[(v >> 6) & 63] : '=';
        encoded += '=';
    }
    const json body = {{"apiVersion", "certificates.k8s.io/v1"},
                       {"kind", "CertificateSigningRequest"},
                       {"metadata", {{"name", name}, {"labels", labels}}},
                       {"spec",
                        {{"request", encoded},
                         {"signerName", k_grant_signer},
                         {"usages", json::array({"digital signature"})}}}};
    auto answer = client.post(k_csr_path, body);
    if (!answer) {
        return std::move(answer).error();
    }
    return decode_certificate_request(*answer);
}

Result<CertificateRequest> get_csr(const KubeClient& client, const std::string& name) {
    auto answer = client.get(csr_path(name));
    if (!answer) {
        return std::move(answer).error();
    }
    return decode_certificate_request(*answer);
}

Result<List<CertificateRequest>> list_grant_csrs(const KubeClient& client) {
    ListOptions options;
    options.field_selector = fmt::format("spec.signerName={}", k_grant_signer);
    auto answer = client.list(k_csr_path, options);
    if (!answer) {
        return std::move(answer).error();
    }
    List<CertificateRequest> out;
    out.resource_version = answer->resource_version;
    for (const auto& item : answer->items) {
        auto csr = decode_certificate_request(item);
        if (!csr) {
            return std::move(csr).error();
        }
        // A server that ignores the field selector must not widen the list.
        if (csr->signer_name == k_grant_signer) {
            out.items.push_back(std::move(csr).value());
        }
    }
    return out;
}

Result<CertificateRequest> add_csr_condition(const KubeClient& client,
                                             const CertificateRequest& csr, const std::string& type,
                                             const std::string& reason,
                                             const std::string& message) {
    json body = csr.object;
    body["apiVersion"] = "certificates.k8s.io/v1";
    body["kind"] = "CertificateSigningRequest";
    if (!body.contains("status") || !body["status"].is_object()) {
        body["status"] = json::object();
    }
    if (!body["status"].contains("conditions") || !body["status"]["conditions"].is_array()) {
        body["status"]["conditions"] = json::array();
    }
    const std::string stamp =
        format_rfc3339(std::chrono::time_point_cast<std::chrono::seconds>(now()));
    body["status"]["conditions"].push_back({{"type", type},
                                            {"status", "True"},
                                            {"reason", reason},
                                            {"message", message},
                                            {"lastUpdateTime", stamp},
                                            {"lastTransitionTime", stamp}});
    auto answer = client.put(csr_path(csr.metadata.name) + "/approval", body);
    if (!answer) {
        return std::move(answer).error();
    }
    return decode_certificate_request(*answer);
}

Result<bool> wait_csr_change(const KubeClient& client, const std::string& name,
                             const std::string& resource_version, std::chrono::seconds timeout) {
    return wait_change(client, k_csr_path, name, resource_version, timeout);
}

Result<json> get_secret_object(const KubeClient& client, const std::string& ns,
                               const std::string& name) {
    return client.get(fmt::format("{}/{}", secrets_path(ns), http::url_encode(name)));
}

Result<bool> wait_secret_change(const KubeClient& client, const std::string& ns,
                                const std::string& name, const std::string& resource_version,
                                std::chrono::seconds timeout) {
    return wait_change(client, secrets_path(ns), name, resource_version, timeout);
}

Result<std::string> secrets_resource_version(const KubeClient& client, const std::string& ns) {
    ListOptions options;
    options.field_selector = "metadata.name=oncall-grant-none";
    options.limit = 1;
    auto answer = client.list(secrets_path(ns), options);
    if (!answer) {
        return std::move(answer).error();
    }
    return answer->resource_version;
}

Result<void> patch_secret_data(const KubeClient& client, const std::string& ns,
                               const std::string& name, const std::string& key,
                               const std::string& base64_value,
                               const std::map<std::string, std::string>& annotations) {
    json body = {{"data", {{key, base64_value}}}};
    if (!annotations.empty()) {
        body["metadata"] = {{"annotations", annotations}};
    }
    auto answer = client.patch(fmt::format("{}/{}", secrets_path(ns), http::url_encode(name)),
                               PatchType::merge_patch, body.dump());
    if (!answer) {
        return std::move(answer).error();
    }
    return ok_result();
}

} // namespace oncall::kube
