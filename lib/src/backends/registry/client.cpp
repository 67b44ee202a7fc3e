// Resolving tags to manifest digests over the OCI distribution API.

#include "oncall/http/client.h"

#include "backends/text.h"
#include "oncall/backends/endpoint.h"
#include "oncall/backends/registry.h"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace oncall::registry {
namespace {

constexpr std::array<std::string_view, 4> k_manifest_types = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
};

std::string host_of(const std::string& url) {
    std::string_view u = url;
    const auto scheme = u.find("://");
    if (scheme != std::string_view::npos) {
        u = u.substr(scheme + 3);
    }
    const auto slash = u.find('/');
    if (slash != std::string_view::npos) {
        u = u.substr(0, slash);
    }
    const auto at = u.rfind('@');
    if (at != std::string_view::npos) {
        u = u.substr(at + 1);
    }
    return std::string(u);
}

std::string strip_params(std::string value) {
    const auto semi = value.find(';');
    if (semi != std::string::npos) {
        value.resize(semi);
    }
    while (!value.empty() && value.back() == ' ') {
        value.pop_back();
    }
    return value;
}

} // namespace

RegistryClient::RegistryClient(config::Endpoint endpoint, std::function<void(std::string_view)> log,
                               std::chrono::milliseconds timeout, CredentialStores stores)
    : m_endpoint(std::move(endpoint)), m_log(std::move(log)), m_timeout(timeout),
      m_stores(std::move(stores)) {}

std::string RegistryClient::base_url_for(const ImageReference& reference) const {
    for (const auto& url : m_endpoint.urls) {
        if (host_of(url) == reference.registry) {
            std::string base = url;
            while (!base.empty() && base.back() == '/') {
                base.pop_back();
            }
            return base;
        }
    }
    if (reference.registry == "docker.io") {
        return "https://registry-1.docker.io";
    }
    return "https://" + reference.registry;
}

Result<Resolved> RegistryClient::resolve(const ImageReference& reference) const {
    const std::string base = base_url_for(reference);
    const std::string host = reference.registry;
    const bool configured =
        std::any_of(m_endpoint.urls.begin(), m_endpoint.urls.end(),
                    [&](const std::string& u) { return host_of(u) == reference.registry; });
    http::ClientOptions options;
    options.name = "registry";
    options.total_timeout = m_timeout;
    options.log = m_log;
    if (configured) {
        options.tls.ca_file = backends::expand_home_path(m_endpoint.ca_file);
        options.tls.insecure_skip_verify = m_endpoint.insecure_skip_tls_verify;
        options.tls.client_cert_file = backends::expand_home_path(m_endpoint.cert_file);
        options.tls.client_key_file = backends::expand_home_path(m_endpoint.key_file);
        for (const auto& [name, value] : m_endpoint.headers) {
            options.headers.push_back(http::Header{name, value});
        }
        if (!m_endpoint.auth.empty()) {
            auto token = config::resolve_token(m_endpoint.auth);
            if (!token) {
                return std::move(token).error();
            }
            options.bearer_token = *token;
            options.credential_source = config::credential_source(m_endpoint);
        }
    }
    const http::Client client(options);
    const std::string target = reference.digest.empty() ? reference.tag : reference.digest;
    const std::string manifest_url =
        fmt::format("{}/v2/{}/manifests/{}", base, reference.repository, http::url_encode(target));
    const std::string shown = reference.to_string();

    // Credentials are looked up on the first challenge only (a helper may be slow or interactive).
    std::optional<CredentialLookup> lookup;
    auto find_credential = [&]() -> Result<const RegistryCredential*> {
        if (!lookup) {
            if (configured && m_endpoint.basic_auth.configured()) {
                auto password = config::resolve_password(m_endpoint.basic_auth);
                if (!password) {
                    Error e = std::move(password).error();
                    e.message = "registry " + e.message;
                    return e;
                }
                RegistryCredential c;
                c.username = m_endpoint.basic_auth.username;
                c.password = std::move(*password);
                c.source = "the context's registry " + config::credential_source(m_endpoint);
                lookup = CredentialLookup{std::move(c), {}};
            } else {
                auto found = find_registry_credential(host, reference.repository, m_stores);
                if (!found) {
                    Error e = std::move(found).error();
                    e.message = fmt::format("registry {}: {}", host, e.message);
                    return e;
                }
                lookup = std::move(*found);
            }
        }
        return lookup->credential ? &*lookup->credential : nullptr;
    };
    // Exit 4 for a registry that wants credentials we do not have.
    auto no_credentials = [&](std::string_view scheme) {
        std::string searched;
        if (lookup) {
            for (const auto& s : lookup->searched) {
                searched += (searched.empty() ? "" : "; ") + s;
            }
        }
        return make_error(
            Errc::access_denied,
            fmt::format(
                "registry {} asks for credentials ({}) to read {}, and none were found; looked "
                "in: {}. Run 'docker login {}' (or podman login), or set basic-auth for the "
                "context's registry",
                host, scheme, reference.repository, searched.empty() ? "nowhere" : searched, host),
            401);
    };
    auto refused = [&](const RegistryCredential& c, long status, std::string_view who) {
        return make_error(
            Errc::access_denied,
            fmt::format(
                "{} refused the credentials from {} for {} (HTTP {}); log in again or check "
                "that this account may pull {}",
                who, c.source, reference.repository, status, reference.repository),
            static_cast<int>(status));
    };

    std::optional<http::Header> authorization; // set after a challenge
    const RegistryCredential* used = nullptr;  // the credential behind it, if any
    auto send = [&](http::Method method) -> Result<http::Response> {
        http::Request request;
        request.method = method;
        request.url = manifest_url;
        request.headers.push_back({"Accept", manifest_accept()});
        if (authorization) {
            request.headers.push_back(*authorization);
        }
        auto response = client.perform(request);
        if (!response) {
            auto e = std::move(response).error();
            e.message = fmt::format("registry {} could not be reached to resolve {}: {}", base,
                                    shown, e.message);
            if (e.code != Errc::timeout && e.code != Errc::tls && e.code != Errc::dns) {
                e.code = Errc::unavailable;
            }
            return e;
        }
        return response;
    };
    // Basic: the credential itself goes to the registry.
    auto answer_basic = [&]() -> Result<void> {
        auto credential = find_credential();
        if (!credential) {
            return std::move(credential).error();
        }
        if (*credential == nullptr) {
            return no_credentials("Basic");
        }
        if ((*credential)->password.empty()) {
            return make_error(
                Errc::access_denied,
                fmt::format(
                    "registry {} asks for a user name and password (Basic), but {} holds only "
                    "an identity token; log in with a password",
                    host, (*credential)->source),
                401);
        }
        used = *credential;
        authorization =
            http::Header{"Authorization",
                         "Basic " + backends::base64_encode(used->username + ":" + used->password)};
        return ok_result();
    };
    // Bearer: a token for the scope from the realm, with the credential when it may go there.
    auto answer_bearer = [&](Challenge& challenge) -> Result<void> {
        const std::string& realm = challenge.params["realm"];
        if (realm.rfind("https://", 0) != 0 && realm.rfind("http://", 0) != 0) {
            return make_error(
                Errc::bad_response,
                fmt::format("registry {}: token realm '{}' is not an http(s) URL", base, realm));
        }
        std::string query;
        char sep = realm.find('?') == std::string::npos ? '?' : '&';
        std::string service;
        if (const auto it = challenge.params.find("service"); it != challenge.params.end()) {
            service = it->second;
            query += fmt::format("{}service={}", sep, http::url_encode(service));
            sep = '&';
        }
        std::string scope = fmt::format("repository:{}:pull", reference.repository);
        if (const auto it = challenge.params.find("scope");
            it != challenge.params.end() && !it->second.empty()) {
            scope = it->second;
        }
        query += fmt::format("{}scope={}", sep, http::url_encode(scope));

        // Credentials go to the token service only over https or on the registry's own host.
        const bool same_host = host_of(realm) == host_of(base);
        const bool may_send = realm.rfind("https://", 0) == 0 || same_host;
        const RegistryCredential* credential = nullptr;
        if (may_send) {
            auto found = find_credential();
            if (!found) {
                return std::move(found).error();
            }
            credential = *found;
        }
        http::Request request;
        request.url = realm + query;
        if (!same_host) {
            // The configured bearer token belongs to the configured registry, never to another
            // host.
            request.bearer_token = std::string();
        }
        if (credential != nullptr && !credential->identity_token.empty()) {
            // OAuth2 refresh-token grant, as docker does with an identity token.
            request.method = http::Method::post;
            request.url = realm;
            request.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
            request.body = fmt::format(
                "grant_type=refresh_token&client_id=oncall&service={}&scope={}&refresh_token={}",
                http::url_encode(service), http::url_encode(scope),
                http::url_encode(credential->identity_token));
        } else if (credential != nullptr) {
            request.headers.push_back(
                {"Authorization", "Basic " + backends::base64_encode(credential->username + ":" +
                                                                     credential->password)});
        }
        auto response = client.perform(request);
        if (!response) {
            auto e = std::move(response).error();
            e.message = fmt::format("token service of registry {}: {}", base, e.message);
            return e;
        }
        if (response->status == 401 || response->status == 403) {
            if (credential != nullptr) {
                return refused(*credential, response->status,
                               fmt::format("token service {}", http::redact_url(realm)));
            }
            if (!may_send) {
                return make_error(
                    Errc::access_denied,
                    fmt::format(
                        "token service {} refused an anonymous pull token for {} (HTTP {}); "
                        "credentials are sent to a token service only over https or on the "
                        "registry's own host",
                        http::redact_url(realm), reference.repository, response->status),
                    static_cast<int>(response->status));
            }
            return no_credentials("Bearer");
        }
        if (!response->is_success()) {
            return http::status_error(*response, "registry token service");
        }
        try {
            const auto body = nlohmann::json::parse(response->body);
            std::string t;
            if (body.is_object() && body.contains("token") && body["token"].is_string()) {
                t = body["token"].get<std::string>();
            } else if (body.is_object() && body.contains("access_token") &&
                       body["access_token"].is_string()) {
                t = body["access_token"].get<std::string>();
            }
            if (t.empty()) {
                return make_error(
                    Errc::bad_response,
                    fmt::format("token service of registry {} answered without a token", base));
            }
            if (t.find_first_of("\r\n") != std::string::npos) {
                return make_error(
                    Errc::bad_response,
                    fmt::format("token service of registry {} answered a token with a line break",
                                base));
            }
            authorization = http::Header{"Authorization", "Bearer " + t};
            used = credential;
        } catch (const nlohmann::json::exception&) {
            return make_error(Errc::bad_response,
                              fmt::format("token service of registry {} answered garbage", base));
        }
        return ok_result();
    };
    // Follows one challenge (Basic or Bearer).
    auto authenticate = [&](const http::Response& challenged) -> Result<void> {
        const auto header = challenged.header("WWW-Authenticate");
        if (!header) {
            return make_error(
                Errc::access_denied,
                fmt::format("registry {} refused access to {} (HTTP {}) without saying how to "
                            "authenticate",
                            base, reference.repository, challenged.status),
                static_cast<int>(challenged.status));
        }
        auto challenge = parse_challenge(*header);
        if (!challenge) {
            return std::move(challenge).error();
        }
        std::string scheme = challenge->scheme;
        std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (scheme == "basic") {
            return answer_basic();
        }
        if (scheme != "bearer" || challenge->params.count("realm") == 0) {
            return make_error(
                Errc::access_denied,
                fmt::format("registry {} asks for {} authentication, which oncall does not do; "
                            "registries use Basic or Bearer",
                            base, challenge->scheme.substr(0, 40)),
                static_cast<int>(challenged.status));
        }
        return answer_bearer(*challenge);
    };
    auto send_authenticated = [&](http::Method method) -> Result<http::Response> {
        auto response = send(method);
        if (response && response->status == 401 && !authorization) {
            auto auth = authenticate(*response);
            if (!auth) {
                return std::move(auth).error();
            }
            response = send(method);
        }
        return response;
    };
    auto check_status = [&](const http::Response& response) -> Result<void> {
        if (response.is_success()) {
            return ok_result();
        }
        if (response.status == 404) {
            return make_error(
                Errc::invalid,
                fmt::format(
                    "{} does not exist in registry {} (no manifest for '{}'); check the tag", shown,
                    base, target),
                404);
        }
        if (response.status == 401 || response.status == 403) {
            if (used != nullptr) {
                return refused(*used, response.status, fmt::format("registry {}", host));
            }
            if (response.status == 401 && lookup && !lookup->credential) {
                return no_credentials("Bearer");
            }
            return make_error(Errc::access_denied,
                              fmt::format("registry {} refused access to {} (HTTP {}){}", base,
                                          shown, response.status,
                                          options.credential_source.empty()
                                              ? std::string()
                                              : "; sent " + options.credential_source),
                              static_cast<int>(response.status));
        }
        auto e = http::status_error(response, fmt::format("resolving {} at registry", shown));
        if (response.status >= 500) {
            e.code = Errc::unavailable;
        }
        return e;
    };
    auto check_media_type = [&](const http::Response& response) -> Result<std::string> {
        const auto ct = response.header("Content-Type");
        if (!ct) {
            return std::string();
        }
        const std::string type = strip_params(*ct);
        if (std::find(k_manifest_types.begin(), k_manifest_types.end(), type) ==
            k_manifest_types.end()) {
            return make_error(
                Errc::bad_response,
                fmt::format("registry {} answered {} with media type '{}', not an OCI or Docker v2 "
                            "manifest",
                            base, shown, type));
        }
        return type;
    };

    auto head = send_authenticated(http::Method::head);
    if (!head) {
        return std::move(head).error();
    }
    if (auto ok = check_status(*head); !ok) {
        return std::move(ok).error();
    }
    auto media_type = check_media_type(*head);
    if (!media_type) {
        return std::move(media_type).error();
    }
    std::string digest;
    if (const auto d = head->header("Docker-Content-Digest")) {
        digest = *d;
        while (!digest.empty() && (digest.back() == ' ' || digest.back() == '\r')) {
            digest.pop_back();
        }
        if (!is_sha256_digest(digest)) {
            return make_error(
                Errc::bad_response,
                fmt::format("registry {} answered {} with digest '{}', not a sha256 digest", base,
                            shown, digest.substr(0, 80)));
        }
    } else {
        // No digest header: fetch the manifest and hash its bytes.
        auto get = send_authenticated(http::Method::get);
        if (!get) {
            return std::move(get).error();
        }
        if (auto ok = check_status(*get); !ok) {
            return std::move(ok).error();
        }
        media_type = check_media_type(*get);
        if (!media_type) {
            return std::move(media_type).error();
        }
        digest = "sha256:" + backends::sha256_hex(get->body);
        if (const auto d = get->header("Docker-Content-Digest"); d && *d != digest) {
            return make_error(
                Errc::bad_response,
                fmt::format("registry {} sent {} for {} but the manifest's bytes hash to {}", base,
                            *d, shown, digest));
        }
    }
    if (!reference.digest.empty() && digest != reference.digest) {
        return make_error(Errc::bad_response, fmt::format("registry {} answered {} with digest {}",
                                                          base, shown, digest));
    }
    Resolved out;
    out.reference = reference;
    out.reference.digest = digest;
    out.media_type = *media_type;
    return out;
}

} // namespace oncall::registry
