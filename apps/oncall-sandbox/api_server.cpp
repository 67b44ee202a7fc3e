#include "api_server.h"

#include "patch.h"
#include "protobuf.h"
#include "selector.h"
#include "status.h"
#include "tables.h"

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <regex>

namespace sandbox {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// The user of the client certificate a TLS request presented, if it was verified against the
// client CA (--client-ca): CN and each O of the subject.
std::optional<UserInfo> certificate_user(const httplib::Request& req) {
    if (req.ssl == nullptr)
        return std::nullopt;
    X509* cert = SSL_get1_peer_certificate(req.ssl);
    if (cert == nullptr)
        return std::nullopt;
    std::optional<UserInfo> user;
    if (SSL_get_verify_result(req.ssl) == X509_V_OK) {
        std::string cn;
        std::vector<std::string> orgs;
        X509_NAME* subject = X509_get_subject_name(cert);
        for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
            X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
            const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
            unsigned char* text = nullptr;
            const int len = ASN1_STRING_to_UTF8(&text, X509_NAME_ENTRY_get_data(entry));
            if (len < 0)
                continue;
            std::string value(reinterpret_cast<char*>(text), static_cast<std::size_t>(len));
            OPENSSL_free(text);
            if (nid == NID_commonName)
                cn = value;
            if (nid == NID_organizationName)
                orgs.push_back(value);
        }
        if (!cn.empty())
            user = Authenticator::certificate_user(cn, orgs);
    }
    X509_free(cert);
    return user;
}

constexpr auto k_watch_default_timeout = std::chrono::minutes(30);
constexpr auto k_bookmark_interval = 30s;
const char* const k_race_annotation = "sandbox.oncall.dev/race";

void write_json(httplib::Response& res, int code, const json& body) {
    res.status = code;
    res.set_content(body.dump(), "application/json");
}

std::string param(const httplib::Request& req, const char* name) {
    return req.has_param(name) ? req.get_param_value(name) : "";
}

bool param_true(const httplib::Request& req, const char* name) {
    const std::string v = param(req, name);
    return v == "1" || v == "true" || v == "True";
}

std::string media_type(const httplib::Request& req) {
    std::string ct = req.get_header_value("Content-Type");
    const auto semi = ct.find(';');
    if (semi != std::string::npos)
        ct = ct.substr(0, semi);
    while (!ct.empty() && ct.back() == ' ')
        ct.pop_back();
    std::transform(ct.begin(), ct.end(), ct.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ct;
}

bool starts_with(const std::string& s, const std::string& p) {
    return s.compare(0, p.size(), p) == 0;
}

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> parts;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const auto slash = path.find('/', pos);
        const std::string part =
            path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
        if (!part.empty())
            parts.push_back(part);
        if (slash == std::string::npos)
            break;
        pos = slash + 1;
    }
    return parts;
}

json parse_json_body(const httplib::Request& req) {
    auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) {
        throw bad_request(
            "couldn't get version/kind; json parse error: the request body is not valid JSON");
    }
    if (!body.is_object()) {
        throw bad_request(
            "couldn't get version/kind; json parse error: json: cannot unmarshal " +
            std::string(body.is_array() ? "array" : "value") +
            " into Go value of type struct { APIVersion string "
            "\"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }");
    }
    return body;
}

void require_json_body(const httplib::Request& req) {
    const std::string mt = media_type(req);
    if (mt != "application/json") {
        throw unsupported_media_type({"application/json"});
    }
}

// A JSON value as kube quotes it in a mismatch message: strings bare, anything else as JSON.
std::string quoted_value(const json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

// The body's kind, when given, must be `kind` (kube: "does not match the expected kind").
void require_kind(const json& body, const std::string& kind) {
    if (body.contains("kind") && body["kind"] != kind) {
        throw bad_request(
            fmt::format("the kind in the data ({}) does not match the expected kind ({})",
                        quoted_value(body["kind"]), kind));
    }
}

// The body's apiVersion, when given, must be `version`.
void require_api_version(const json& body, const std::string& version) {
    if (body.contains("apiVersion") && body["apiVersion"] != version) {
        throw bad_request(fmt::format(
            "the API version in the data ({}) does not match the expected API version ({})",
            quoted_value(body["apiVersion"]), version));
    }
}

// The body's metadata.name must be the name on the URL (a PUT).
void require_url_name(const json& body, const std::string& name) {
    const std::string body_name = body.contains("metadata") && body["metadata"].is_object()
                                      ? body["metadata"].value("name", "")
                                      : "";
    if (body_name != name) {
        throw bad_request(
            fmt::format("the name of the object ({}) does not match the name on the URL ({})",
                        body_name, name));
    }
}

// The body of a request whose resource kube also takes as protobuf (TokenRequest, CSR approval).
json json_or_protobuf_body(const httplib::Request& req,
                           oncall::Result<json> (*decode)(const std::string&)) {
    if (media_type(req) == k_protobuf_media_type) {
        auto decoded = decode(req.body);
        if (!decoded)
            throw bad_request(decoded.error().message);
        return std::move(decoded.value());
    }
    require_json_body(req);
    return parse_json_body(req);
}

std::string check_dry_run(const httplib::Request& req) {
    if (!req.has_param("dryRun"))
        return "";
    const std::string v = param(req, "dryRun");
    if (v != "All") {
        throw StatusError(failure_status(400, "BadRequest",
                                         fmt::format("Invalid dryRun value: dryRun: Unsupported "
                                                     "value: \"{}\": supported values: \"All\"",
                                                     v)));
    }
    return v;
}

ResourceRef ref_of(const ResourceType& t) {
    return ResourceRef{t.group, t.resource, t.kind};
}

std::string api_version_of(const ResourceType& t) {
    return t.group.empty() ? t.version : t.group + "/" + t.version;
}

bool valid_dns_subdomain(const std::string& name) {
    static const std::regex re(
        R"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)");
    return !name.empty() && name.size() <= 253 && std::regex_match(name, re);
}

// metadata.labels and metadata.annotations, when present, are maps of strings.
void check_string_maps(const json& md, std::vector<FieldCause>& causes) {
    for (const char* f : {"labels", "annotations"}) {
        if (!md.contains(f) || md[f].is_null()) {
            continue;
        }
        bool ok = md[f].is_object();
        if (ok) {
            for (const auto& [k, v] : md[f].items())
                ok = ok && v.is_string();
        }
        if (!ok)
            causes.push_back(
                field_invalid(std::string("metadata.") + f, md[f], "must be a map of strings"));
    }
}

FieldCause dns_subdomain_cause(const std::string& field, const std::string& name) {
    return field_invalid(
        field, name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
        "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
        "used "
        "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
}

std::vector<std::string> supported_fields(const std::string& resource) {
    std::vector<std::string> f = {"metadata.name", "metadata.namespace"};
    if (resource == "events") {
        for (const char* x :
             {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
              "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
              "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}) {
            f.emplace_back(x);
        }
    } else if (resource == "pods") {
        for (const char* x : {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                              "spec.serviceAccountName", "status.phase", "status.podIP"}) {
            f.emplace_back(x);
        }
    } else if (resource == "secrets") {
        f.emplace_back("type");
    } else if (resource == "certificatesigningrequests") {
        f.emplace_back("spec.signerName");
    }
    return f;
}

// Strings at dotted paths, for field selectors beyond metadata.
bool field_matches(const json& object, const FieldSelector& selector) {
    for (const auto& t : selector.terms) {
        const json* cur = &object;
        std::string value;
        std::size_t pos = 0;
        bool found = true;
        while (true) {
            const auto dot = t.field.find('.', pos);
            const std::string part =
                t.field.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
            if (!cur->is_object() || !cur->contains(part)) {
                found = false;
                break;
            }
            cur = &(*cur)[part];
            if (dot == std::string::npos)
                break;
            pos = dot + 1;
        }
        if (t.field == "source" && object.contains("source")) {
            value = object["source"].value("component", "");
        } else if (found && cur->is_string()) {
            value = cur->get<std::string>();
        }
        if ((value == t.value) != t.equals)
            return false;
    }
    return true;
}

std::string object_key(const json& o) {
    return str_at(o, "metadata", "namespace") + "/" + str_at(o, "metadata", "name");
}

std::string encode_continue(std::uint64_t rv, const std::string& key) {
    return base64(
        json{{"v", "meta.k8s.io/v1"}, {"rv", rv}, {"start", key + std::string(1, '\0')}}.dump());
}

// Why a PEM CertificateSigningRequest is not acceptable (kube parses it and checks its signature),
// or nullopt.
std::optional<std::string> csr_request_problem(const std::string& pem) {
    if (pem.find("-----BEGIN CERTIFICATE REQUEST-----") == std::string::npos) {
        return "PEM block type must be CERTIFICATE REQUEST";
    }
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509_REQ* req =
        bio != nullptr ? PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    if (req == nullptr)
        return "x509: malformed certificate request";
    EVP_PKEY* key = X509_REQ_get0_pubkey(req);
    const bool verified = key != nullptr && X509_REQ_verify(req, key) == 1;
    X509_REQ_free(req);
    if (!verified)
        return "x509: ECDSA verification failure";
    return std::nullopt;
}

json strip_type(json o) {
    o.erase("kind");
    o.erase("apiVersion");
    return o;
}

IncludeObject include_object(const httplib::Request& req) {
    const std::string v = param(req, "includeObject");
    if (v == "None")
        return IncludeObject::none;
    if (v == "Object")
        return IncludeObject::object;
    return IncludeObject::metadata;
}

bool wants_table(const httplib::Request& req) {
    return req.get_header_value("Accept").find("as=Table") != std::string::npos;
}

} // namespace

ApiServer::ApiServer(Store& store, Controller& controller, Workload& workload, Authenticator& auth,
                     const SandboxClock& clock, const Scenario& scenario, ApiServerOptions options)
    : m_store(store), m_controller(controller), m_workload(workload), m_auth(auth), m_clock(clock),
      m_scenario(scenario), m_options(std::move(options)),
      m_service_proxy(m_options.services_file) {
    m_types = {
        {"",
         "v1",
         "namespaces",
         "Namespace",
         "namespace",
         false,
         {"get", "list", "watch"},
         {"ns"},
         {}},
        {"", "v1", "pods", "Pod", "pod", true, {"get", "list", "watch"}, {"po"}, {"log"}},
        {"",
         "v1",
         "events",
         "Event",
         "event",
         true,
         {"create", "get", "list", "watch"},
         {"ev"},
         {}},
        {"",
         "v1",
         "secrets",
         "Secret",
         "secret",
         true,
         {"create", "delete", "get", "list", "patch", "watch"},
         {},
         {}},
        {"",
         "v1",
         "serviceaccounts",
         "ServiceAccount",
         "serviceaccount",
         true,
         {"get", "list", "watch"},
         {"sa"},
         {"token"}},
        {"apps",
         "v1",
         "deployments",
         "Deployment",
         "deployment",
         true,
         {"get", "list", "patch", "update", "watch"},
         {"deploy"},
         {"status", "scale"}},
        {"apps",
         "v1",
         "replicasets",
         "ReplicaSet",
         "replicaset",
         true,
         {"get", "list", "watch"},
         {"rs"},
         {}},
        {"authentication.k8s.io",
         "v1",
         "selfsubjectreviews",
         "SelfSubjectReview",
         "selfsubjectreview",
         false,
         {"create"},
         {},
         {}},
        {"certificates.k8s.io",
         "v1",
         "certificatesigningrequests",
         "CertificateSigningRequest",
         "certificatesigningrequest",
         false,
         {"create", "delete", "get", "list", "watch"},
         {"csr"},
         {"approval", "status"}},
        // Read-only RBAC kinds, so `kubectl apply --dry-run=client -f examples/rbac/` can map them.
        {"rbac.authorization.k8s.io",
         "v1",
         "roles",
         "Role",
         "role",
         true,
         {"get", "list", "watch"},
         {},
         {}},
        {"rbac.authorization.k8s.io",
         "v1",
         "rolebindings",
         "RoleBinding",
         "rolebinding",
         true,
         {"get", "list", "watch"},
         {},
         {}},
        {"rbac.authorization.k8s.io",
         "v1",
         "clusterroles",
         "ClusterRole",
         "clusterrole",
         false,
         {"get", "list", "watch"},
         {},
         {}},
        {"rbac.authorization.k8s.io",
         "v1",
         "clusterrolebindings",
         "ClusterRoleBinding",
         "clusterrolebinding",
         false,
         {"get", "list", "watch"},
         {},
         {}},
    };
}

void ApiServer::install(httplib::Server& server) {
    const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
        handle(req, res);
    };
    server.Get(".*", handler);
    server.Post(".*", handler);
    server.Put(".*", handler);
    server.Patch(".*", handler);
    server.Delete(".*", handler);
    server.Options(".*", handler);
}

void ApiServer::shutdown() {
    m_stopping = true;
    std::lock_guard lock(m_store.mutex());
    m_store.notify_all();
}

void ApiServer::handle(const httplib::Request& req, httplib::Response& res) {
    try {
        route(req, res);
    } catch (const StatusError& e) {
        write_json(res, e.code(), e.status());
    } catch (const std::exception& e) {
        write_json(res, 500, internal_error(e.what()).status());
    }
    if (m_options.log_requests) {
        fmt::print(stderr, "{} {} {}\n", req.method, req.path, res.status);
    }
}

bool ApiServer::serve_discovery(const std::string& path, httplib::Response& res) {
    const auto group_versions = [](const std::string& group) {
        const json gv = {{"groupVersion", group + "/v1"}, {"version", "v1"}};
        return json{{"name", group}, {"versions", json::array({gv})}, {"preferredVersion", gv}};
    };
    const std::vector<std::string> groups = {"apps", "authentication.k8s.io", "certificates.k8s.io",
                                             "rbac.authorization.k8s.io"};
    if (path == "/api") {
        write_json(res, 200,
                   {{"kind", "APIVersions"},
                    {"versions", json::array({"v1"})},
                    {"serverAddressByClientCIDRs",
                     json::array({{{"clientCIDR", "0.0.0.0/0"},
                                   {"serverAddress", m_options.server_address}}})}});
        return true;
    }
    if (path == "/apis") {
        json list = json::array();
        for (const auto& g : groups)
            list.push_back(group_versions(g));
        write_json(res, 200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}});
        return true;
    }
    for (const auto& g : groups) {
        if (path == "/apis/" + g) {
            json body = group_versions(g);
            body["kind"] = "APIGroup";
            body["apiVersion"] = "v1";
            write_json(res, 200, body);
            return true;
        }
    }
    std::string group_version;
    if (path == "/api/v1") {
        group_version = "v1";
    } else {
        for (const auto& g : groups) {
            if (path == "/apis/" + g + "/v1")
                group_version = g + "/v1";
        }
    }
    if (group_version.empty())
        return false;
    json resources = json::array();
    for (const auto& t : m_types) {
        if (api_version_of(t) != group_version)
            continue;
        json r = {{"name", t.resource},
                  {"singularName", t.singular},
                  {"namespaced", t.namespaced},
                  {"kind", t.kind},
                  {"verbs", t.verbs}};
        if (!t.short_names.empty())
            r["shortNames"] = t.short_names;
        if (t.resource == "pods" || t.resource == "deployments" || t.resource == "replicasets") {
            r["categories"] = json::array({"all"});
        }
        resources.push_back(r);
        for (const auto& sub : t.subresources) {
            json s = {{"name", t.resource + "/" + sub},
                      {"singularName", ""},
                      {"namespaced", t.namespaced},
                      {"kind", t.kind},
                      {"verbs", json::array({"get"})}};
            if (sub == "token") {
                s["group"] = "authentication.k8s.io";
                s["version"] = "v1";
                s["kind"] = "TokenRequest";
                s["verbs"] = json::array({"create"});
            } else if (sub == "approval") {
                s["verbs"] = json::array({"get", "patch", "update"});
            } else if (sub == "scale") {
                s["group"] = "autoscaling";
                s["version"] = "v1";
                s["kind"] = "Scale";
                s["verbs"] = json::array({"get", "patch", "update"});
            }
            resources.push_back(s);
        }
    }
    write_json(res, 200,
               {{"kind", "APIResourceList"},
                {"apiVersion", "v1"},
                {"groupVersion", group_version},
                {"resources", resources}});
    return true;
}

ApiServer::Target ApiServer::parse_target(const std::string& path) const {
    const auto parts = split_path(path);
    std::string group, version;
    std::size_t i = 0;
    if (parts.size() >= 2 && parts[0] == "api") {
        version = parts[1];
        i = 2;
    } else if (parts.size() >= 3 && parts[0] == "apis") {
        group = parts[1];
        version = parts[2];
        i = 3;
    } else {
        throw unknown_path();
    }
    const std::vector<std::string> rest(parts.begin() + static_cast<std::ptrdiff_t>(i),
                                        parts.end());
    const auto find_type = [&](const std::string& resource) -> const ResourceType* {
        for (const auto& t : m_types) {
            if (t.group == group && t.version == version && t.resource == resource)
                return &t;
        }
        return nullptr;
    };
    Target t;
    std::vector<std::string> tail;
    if (rest.size() >= 3 && rest[0] == "namespaces") {
        t.namespace_name = rest[1];
        t.type = find_type(rest[2]);
        if (t.type == nullptr || !t.type->namespaced)
            throw unknown_path();
        tail.assign(rest.begin() + 3, rest.end());
    } else if (!rest.empty()) {
        t.type = find_type(rest[0]);
        if (t.type == nullptr)
            throw unknown_path();
        tail.assign(rest.begin() + 1, rest.end());
        if (t.type->namespaced && !tail.empty())
            throw unknown_path(); // named objects need a namespace
    } else {
        throw unknown_path();
    }
    if (tail.size() > 2)
        throw unknown_path();
    if (!tail.empty())
        t.name = tail[0];
    if (tail.size() == 2) {
        t.subresource = tail[1];
        const auto& subs = t.type->subresources;
        if (std::find(subs.begin(), subs.end(), t.subresource) == subs.end())
            throw unknown_path();
    }
    return t;
}

void ApiServer::route(const httplib::Request& req, httplib::Response& res) {
    const std::string& path = req.path;
    if (req.method == "GET" && (path == "/healthz" || path == "/readyz" || path == "/livez")) {
        res.set_content("ok", "text/plain; charset=utf-8");
        return;
    }
    if (req.method == "GET" && path == "/version") {
        write_json(res, 200,
                   {{"major", "1"},
                    {"minor", "32"},
                    {"gitVersion", "v1.32.0"},
                    {"gitCommit", "oncall-sandbox"},
                    {"gitTreeState", "clean"},
                    {"buildDate", "2026-01-01T00:00:00Z"},
                    {"goVersion", "n/a"},
                    {"compiler", "gc"},
                    {"platform", "linux/amd64"}});
        return;
    }
    if (req.method == "GET" && path == "/metrics") {
        res.set_content(m_workload.render_metrics(m_clock.now()),
                        "text/plain; version=0.0.4; charset=utf-8");
        return;
    }
    std::optional<UserInfo> user = certificate_user(req);
    if (!user) {
        std::lock_guard lock(m_store.mutex());
        user = m_auth.authenticate(req.get_header_value("Authorization"), m_store, m_clock.now());
    }
    if (!user)
        throw unauthorized();
    if (starts_with(path, "/sandbox/")) {
        if (!serve_admin(req, res, *user))
            throw unknown_path();
        return;
    }
    if (path == "/api" || path == "/apis" || path == "/api/v1" || starts_with(path, "/apis/")) {
        const auto parts = split_path(path);
        const bool discovery_path = parts.size() <= 1 || (parts[0] == "api" && parts.size() == 2) ||
                                    (parts[0] == "apis" && parts.size() <= 3);
        if (discovery_path) {
            if (req.method != "GET")
                throw method_not_allowed();
            if (!serve_discovery(path, res))
                throw unknown_path();
            return;
        }
    }
    if (const auto proxy = ServiceProxy::parse(path)) {
        RequestAttributes proxy_attrs;
        proxy_attrs.ref = ResourceRef{"", "services", "Service"};
        proxy_attrs.subresource = "proxy";
        proxy_attrs.namespace_name = proxy->namespace_name;
        proxy_attrs.name = proxy->name;
        const std::string& m = req.method;
        proxy_attrs.verb = m == "GET" || m == "HEAD" ? "get"
                           : m == "POST"             ? "create"
                           : m == "PUT"              ? "update"
                           : m == "PATCH"            ? "patch"
                           : m == "DELETE"           ? "delete"
                                                     : "";
        if (proxy_attrs.verb.empty())
            throw method_not_allowed();
        if (!authorize(*user, proxy_attrs))
            throw forbidden_for(*user, proxy_attrs);
        m_service_proxy.forward(req, res, *proxy);
        return;
    }
    const Target t = parse_target(path);
    const ResourceType& type = *t.type;
    RequestAttributes attrs;
    attrs.ref = ref_of(type);
    attrs.subresource = t.subresource;
    attrs.namespace_name = t.namespace_name;
    attrs.name = t.name;
    const auto has_verb = [&](const char* v) {
        return std::find(type.verbs.begin(), type.verbs.end(), v) != type.verbs.end();
    };
    const auto check = [&](const std::string& verb) {
        attrs.verb = verb;
        if (!authorize(*user, attrs, m_options.policy))
            throw forbidden_for(*user, attrs);
    };
    if (!t.subresource.empty()) {
        if (t.subresource == "log" && req.method == "GET") {
            check("get");
            do_pod_log(req, res, t);
        } else if (t.subresource == "status" && req.method == "GET") {
            check("get");
            do_get(req, res, t);
        } else if (t.subresource == "scale" &&
                   (req.method == "GET" || req.method == "PATCH" || req.method == "PUT")) {
            check(req.method == "GET" ? "get" : req.method == "PUT" ? "update" : "patch");
            do_scale(req, res, t);
        } else if (t.subresource == "approval" && req.method == "GET") {
            check("get");
            do_get(req, res, t);
        } else if (t.subresource == "approval" && req.method == "PUT") {
            check("update");
            do_csr_approval(req, res, t);
        } else if (t.subresource == "token" && req.method == "POST") {
            check("create");
            do_token_request(req, res, t, *user);
        } else {
            throw method_not_allowed();
        }
        return;
    }
    if (req.method == "GET" && !t.name.empty() && has_verb("get")) {
        check("get");
        do_get(req, res, t);
    } else if (req.method == "GET" && t.name.empty() && param_true(req, "watch") &&
               has_verb("watch")) {
        check("watch");
        do_watch(req, res, t);
    } else if (req.method == "GET" && t.name.empty() && has_verb("list")) {
        check("list");
        do_list(req, res, t);
    } else if (req.method == "POST" && t.name.empty() && has_verb("create")) {
        if (type.resource == "selfsubjectreviews") {
            check("create");
            do_self_subject_review(req, res, *user);
            return;
        }
        require_json_body(req);
        const json body = parse_json_body(req);
        attrs.object_name = body.contains("metadata") && body["metadata"].is_object()
                                ? body["metadata"].value("name", "")
                                : "";
        check("create");
        do_create(req, res, t, *user);
    } else if ((req.method == "PUT" && has_verb("update")) ||
               (req.method == "PATCH" && has_verb("patch"))) {
        if (t.name.empty())
            throw method_not_allowed();
        check(req.method == "PUT" ? "update" : "patch");
        if (type.resource == "secrets") {
            if (req.method != "PATCH")
                throw method_not_allowed();
            do_patch_secret(req, res, t);
            return;
        }
        do_write_deployment(req, res, t, req.method == "PATCH");
    } else if (req.method == "DELETE" && !t.name.empty() && has_verb("delete")) {
        check("delete");
        do_delete(req, res, t);
    } else {
        throw method_not_allowed();
    }
}

void ApiServer::do_get(const httplib::Request& req, httplib::Response& res, const Target& t) {
    std::lock_guard lock(m_store.mutex());
    auto object = m_store.get(t.type->resource, t.namespace_name, t.name);
    if (!object)
        throw not_found(ref_of(*t.type), t.name);
    if (wants_table(req)) {
        write_json(res, 200,
                   to_table(t.type->resource, {*object}, m_clock.now(), include_object(req),
                            {{"resourceVersion", str_at(*object, "metadata", "resourceVersion")}}));
        return;
    }
    write_json(res, 200, *object);
}

void ApiServer::do_list(const httplib::Request& req, httplib::Response& res, const Target& t) {
    auto labels = parse_label_selector(param(req, "labelSelector"));
    if (!labels)
        throw bad_request(labels.error().message);
    auto fields =
        parse_field_selector(param(req, "fieldSelector"), supported_fields(t.type->resource));
    if (!fields)
        throw bad_request(fields.error().message);
    std::size_t limit = 0;
    if (req.has_param("limit")) {
        try {
            const long long v = std::stoll(param(req, "limit"));
            limit = v > 0 ? static_cast<std::size_t>(v) : 0;
        } catch (...) {
            throw bad_request(
                fmt::format("limit: Invalid value: \"{}\": must be a non-negative integer",
                            param(req, "limit")));
        }
    }
    std::string start_after;
    if (req.has_param("continue") && !param(req, "continue").empty()) {
        std::string decoded;
        json token;
        if (base64_decode(param(req, "continue"), decoded))
            token = json::parse(decoded, nullptr, false);
        if (!token.is_object() || !token.contains("start") || !token["start"].is_string()) {
            throw bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                              "(version meta.k8s.io/v1)");
        }
        start_after = token["start"].get<std::string>();
        if (!start_after.empty() && start_after.back() == '\0')
            start_after.pop_back();
    }
    std::lock_guard lock(m_store.mutex());
    const std::uint64_t rv = m_store.resource_version();
    std::vector<json> items;
    std::size_t remaining = 0;
    std::string next;
    for (auto& o : m_store.list(t.type->resource, t.namespace_name)) {
        if (!labels->matches_object(o) || !field_matches(o, fields.value()))
            continue;
        if (!start_after.empty() && object_key(o) <= start_after)
            continue;
        if (limit > 0 && items.size() >= limit) {
            ++remaining;
            continue;
        }
        items.push_back(std::move(o));
    }
    json metadata = {{"resourceVersion", std::to_string(rv)}};
    if (remaining > 0) {
        metadata["continue"] = encode_continue(rv, object_key(items.back()));
        metadata["remainingItemCount"] = remaining;
    }
    if (wants_table(req)) {
        write_json(res, 200,
                   to_table(t.type->resource, items, m_clock.now(), include_object(req), metadata));
        return;
    }
    json list_items = json::array();
    for (auto& o : items)
        list_items.push_back(strip_type(std::move(o)));
    write_json(res, 200,
               {{"kind", t.type->kind + "List"},
                {"apiVersion", api_version_of(*t.type)},
                {"metadata", metadata},
                {"items", list_items}});
}

void ApiServer::do_watch(const httplib::Request& req, httplib::Response& res, const Target& t) {
    auto labels = parse_label_selector(param(req, "labelSelector"));
    if (!labels)
        throw bad_request(labels.error().message);
    auto fields =
        parse_field_selector(param(req, "fieldSelector"), supported_fields(t.type->resource));
    if (!fields)
        throw bad_request(fields.error().message);
    auto timeout = std::chrono::duration_cast<std::chrono::seconds>(k_watch_default_timeout);
    if (req.has_param("timeoutSeconds")) {
        try {
            const long long asked = std::stoll(param(req, "timeoutSeconds"));
            if (asked > 0)
                timeout = std::chrono::seconds(asked); // 0 or less: the server's default, as kube
        } catch (...) {
            throw bad_request("timeoutSeconds: Invalid value: must be an integer");
        }
    }
    struct WatchState {
        std::uint64_t rv = 0;
        std::string initial;
        std::chrono::steady_clock::time_point deadline;
        std::chrono::steady_clock::time_point last_bookmark;
        bool bookmarks = false;
        bool done = false;
    };
    auto state = std::make_shared<WatchState>();
    state->deadline = std::chrono::steady_clock::now() + timeout;
    state->last_bookmark = std::chrono::steady_clock::now();
    state->bookmarks = param_true(req, "allowWatchBookmarks");
    const std::string rv_param = param(req, "resourceVersion");
    const bool send_initial =
        rv_param.empty() || rv_param == "0" || param_true(req, "sendInitialEvents");
    const ResourceType type = *t.type;
    const std::string ns = t.namespace_name;
    const LabelSelector label_sel = labels.value();
    const FieldSelector field_sel = fields.value();
    const auto matches = [label_sel, field_sel, ns](const json& o) {
        return (ns.empty() || str_at(o, "metadata", "namespace") == ns) &&
               label_sel.matches_object(o) && field_matches(o, field_sel);
    };
    // `kubectl get -w` asks for Tables: each event then carries a one-row Table.
    const bool table = wants_table(req);
    const IncludeObject include = include_object(req);
    const auto event_line = [this, table, include, type](const std::string& event_type,
                                                         const json& object) {
        json payload = object;
        if (table) {
            payload =
                to_table(type.resource, {object}, m_clock.now(), include,
                         {{"resourceVersion", str_at(object, "metadata", "resourceVersion")}});
        }
        return json{{"type", event_type}, {"object", payload}}.dump() + "\n";
    };
    const auto bookmark = [type](std::uint64_t rv, bool initial_end) {
        json md = {{"resourceVersion", std::to_string(rv)}, {"creationTimestamp", nullptr}};
        if (initial_end)
            md["annotations"] = {{"k8s.io/initial-events-end", "true"}};
        return json{{"type", "BOOKMARK"},
                    {"object",
                     {{"kind", type.kind}, {"apiVersion", api_version_of(type)}, {"metadata", md}}}}
                   .dump() +
               "\n";
    };
    {
        std::lock_guard lock(m_store.mutex());
        if (send_initial) {
            state->rv = m_store.resource_version();
            for (const auto& o : m_store.list(type.resource, ns)) {
                if (matches(o))
                    state->initial += event_line("ADDED", o);
            }
            if (param_true(req, "sendInitialEvents"))
                state->initial += bookmark(state->rv, true);
        } else {
            std::uint64_t from = 0;
            try {
                from = std::stoull(rv_param);
            } catch (...) {
                throw bad_request(fmt::format(
                    "resourceVersion: Invalid value: \"{}\": must be an integer", rv_param));
            }
            if (from < m_store.oldest_watchable()) {
                state->initial =
                    json{{"type", "ERROR"},
                         {"object", failure_status(410, "Expired",
                                                   fmt::format("too old resource version: {} ({})",
                                                               from, m_store.oldest_watchable()))}}
                        .dump() +
                    "\n";
                state->done = true;
            }
            state->rv = from;
        }
    }
    res.status = 200;
    // The media type kube-apiserver streams watches with; it also keeps the HTTP layer from
    // compressing (and so buffering) the event stream.
    res.set_chunked_content_provider(
        "application/json;stream=watch",
        [this, state, type, matches, bookmark, event_line](std::size_t, httplib::DataSink& sink) {
            if (!state->initial.empty()) {
                const std::string chunk = std::move(state->initial);
                state->initial.clear();
                return sink.write(chunk.data(), chunk.size());
            }
            if (state->done || m_stopping || std::chrono::steady_clock::now() >= state->deadline) {
                sink.done();
                return true;
            }
            std::string chunk;
            {
                std::unique_lock lock(m_store.mutex());
                m_store.changed().wait_for(lock, 1s, [&] {
                    return m_store.resource_version() > state->rv || m_stopping.load();
                });
                for (const auto& e : m_store.events_after(state->rv, type.resource)) {
                    if (matches(e.object))
                        chunk += event_line(e.type, e.object);
                }
                state->rv = std::max(state->rv, m_store.resource_version());
            }
            const auto now = std::chrono::steady_clock::now();
            if (chunk.empty() && state->bookmarks &&
                now - state->last_bookmark >= k_bookmark_interval) {
                chunk = bookmark(state->rv, false);
                state->last_bookmark = now;
            }
            if (!chunk.empty())
                return sink.write(chunk.data(), chunk.size());
            return sink.is_writable();
        });
}

void ApiServer::do_create(const httplib::Request& req, httplib::Response& res, const Target& t,
                          const UserInfo& user) {
    const std::string dry_run = check_dry_run(req);
    json body = parse_json_body(req);
    const ResourceType& type = *t.type;
    const ResourceRef ref = ref_of(type);
    require_api_version(body, api_version_of(type));
    require_kind(body, type.kind);
    if (!body.contains("metadata") || !body["metadata"].is_object())
        body["metadata"] = json::object();
    json& md = body["metadata"];
    if (md.contains("namespace") && md["namespace"].is_string() &&
        !md["namespace"].get<std::string>().empty() && md["namespace"] != t.namespace_name) {
        throw bad_request("the namespace of the provided object does not match the namespace sent "
                          "on the request");
    }
    md["namespace"] = t.namespace_name;
    if (!type.namespaced)
        md.erase("namespace");
    std::string name = md.value("name", "");
    if (name.empty() && md.contains("generateName") && md["generateName"].is_string() &&
        !md["generateName"].get<std::string>().empty()) {
        name = md["generateName"].get<std::string>() + random_suffix(5);
    }
    std::vector<FieldCause> causes;
    if (name.empty()) {
        causes.push_back(field_required("metadata.name", "name or generateName is required"));
    } else if (!valid_dns_subdomain(name)) {
        causes.push_back(dns_subdomain_cause("metadata.name", name));
    }
    check_string_maps(md, causes);
    if (type.resource == "secrets") {
        if (body.contains("data") && !body["data"].is_null()) {
            if (!body["data"].is_object()) {
                throw bad_request("json: cannot unmarshal " +
                                  std::string(body["data"].is_array() ? "array" : "value") +
                                  " into Go struct field Secret.data of type map[string][]uint8");
            }
            for (const auto& [k, v] : body["data"].items()) {
                std::string decoded;
                if (!v.is_string() || !base64_decode(v.get<std::string>(), decoded)) {
                    throw bad_request(fmt::format("illegal base64 data in Secret.data[{}]", k));
                }
            }
        }
        if (body.contains("stringData") && body["stringData"].is_object()) {
            if (!body.contains("data") || !body["data"].is_object())
                body["data"] = json::object();
            for (const auto& [k, v] : body["stringData"].items()) {
                if (v.is_string())
                    body["data"][k] = base64(v.get<std::string>());
            }
            body.erase("stringData");
        }
        if (!body.contains("type") || !body["type"].is_string() ||
            body["type"].get<std::string>().empty())
            body["type"] = "Opaque";
    } else if (type.resource == "certificatesigningrequests") {
        if (!body.contains("spec") || !body["spec"].is_object())
            body["spec"] = json::object();
        json& spec = body["spec"];
        std::string pem;
        if (!spec.contains("request") || !spec["request"].is_string() ||
            spec["request"].get<std::string>().empty()) {
            causes.push_back(field_required("spec.request"));
        } else if (!base64_decode(spec["request"].get<std::string>(), pem)) {
            throw bad_request("illegal base64 data in CertificateSigningRequest.spec.request");
        } else if (auto why = csr_request_problem(pem)) {
            causes.push_back(field_invalid("spec.request", "[]byte{...}", *why));
        }
        if (!spec.contains("signerName") || !spec["signerName"].is_string() ||
            spec["signerName"].get<std::string>().empty()) {
            causes.push_back(field_required("spec.signerName"));
        }
        if (!spec.contains("usages") || !spec["usages"].is_array() || spec["usages"].empty()) {
            causes.push_back(field_required("spec.usages"));
        }
        // Who asked is the caller, never what the body says.
        spec["username"] = user.username;
        spec["uid"] = user.uid;
        spec["groups"] = user.groups;
        if (!user.extra.empty()) {
            spec["extra"] = user.extra;
        } else {
            spec.erase("extra");
        }
        body["status"] = json::object();
    } else if (type.resource == "events") {
        if (!body.contains("involvedObject") || !body["involvedObject"].is_object()) {
            causes.push_back(field_required("involvedObject", ""));
        } else {
            const std::string ions = body["involvedObject"].value("namespace", "");
            if (!ions.empty() && ions != t.namespace_name) {
                causes.push_back(field_invalid("involvedObject.namespace", ions,
                                               "does not match event.namespace"));
            }
        }
        const std::string now = k8s_time(m_clock.now());
        if (!body.contains("firstTimestamp") || body["firstTimestamp"].is_null())
            body["firstTimestamp"] = now;
        if (!body.contains("lastTimestamp") || body["lastTimestamp"].is_null())
            body["lastTimestamp"] = now;
        if (!body.contains("count"))
            body["count"] = 1;
        if (!body.contains("eventTime"))
            body["eventTime"] = nullptr;
        if (!body.contains("reportingComponent"))
            body["reportingComponent"] = "";
        if (!body.contains("reportingInstance"))
            body["reportingInstance"] = "";
        if (!body.contains("source"))
            body["source"] = json::object();
    }
    if (!causes.empty())
        throw invalid(ref, name, causes);
    md["name"] = name;
    for (const char* managed : {"uid", "resourceVersion", "creationTimestamp", "managedFields",
                                "selfLink", "generation"}) {
        md.erase(managed);
    }
    body["kind"] = type.kind;
    body["apiVersion"] = api_version_of(type);
    std::lock_guard lock(m_store.mutex());
    if (m_store.contains(type.resource, t.namespace_name, name))
        throw already_exists(ref, name);
    if (!dry_run.empty()) {
        md["uid"] = new_uid();
        md["creationTimestamp"] = k8s_time(m_clock.now());
        write_json(res, 201, body);
        return;
    }
    write_json(res, 201, m_store.create(type.resource, body, k8s_time(m_clock.now())));
}

void ApiServer::do_csr_approval(const httplib::Request& req, httplib::Response& res,
                                const Target& t) {
    const ResourceRef ref = ref_of(*t.type);
    json body = json_or_protobuf_body(req, decode_certificate_signing_request);
    require_kind(body, "CertificateSigningRequest");
    require_url_name(body, t.name);
    std::lock_guard lock(m_store.mutex());
    auto current = m_store.get(t.type->resource, "", t.name);
    if (!current)
        throw not_found(ref, t.name);
    const std::string asked_rv = body["metadata"].value("resourceVersion", "");
    if (!asked_rv.empty() && asked_rv != str_at(*current, "metadata", "resourceVersion")) {
        throw conflict(ref, t.name, k_object_modified);
    }
    json conditions = body.contains("status") && body["status"].is_object()
                          ? body["status"].value("conditions", json::array())
                          : json::array();
    if (!conditions.is_array())
        throw bad_request("status.conditions must be a list");
    std::vector<FieldCause> causes;
    bool approved = false;
    bool denied = false;
    const std::string now = k8s_time(m_clock.now());
    for (std::size_t i = 0; i < conditions.size(); ++i) {
        json& c = conditions[i];
        const std::string field = fmt::format("status.conditions[{}]", i);
        if (!c.is_object()) {
            causes.push_back(field_invalid(field, c, "must be an object"));
            continue;
        }
        const std::string type = c.value("type", "");
        std::string status = c.value("status", "");
        if (status.empty())
            status = "True";
        c["status"] = status;
        if (type.empty())
            causes.push_back(field_required(field + ".type"));
        if (status != "True" && status != "False" && status != "Unknown") {
            causes.push_back(FieldCause{
                "FieldValueNotSupported", field + ".status",
                fmt::format(
                    "Unsupported value: \"{}\": supported values: \"False\", \"True\", \"Unknown\"",
                    status)});
        }
        if (type == "Approved")
            approved = approved || status == "True";
        if (type == "Denied")
            denied = denied || status == "True";
        if (!c.contains("lastUpdateTime") || c["lastUpdateTime"].is_null())
            c["lastUpdateTime"] = now;
        if (!c.contains("lastTransitionTime") || c["lastTransitionTime"].is_null())
            c["lastTransitionTime"] = now;
    }
    if (approved && denied) {
        causes.push_back(field_invalid("status.conditions", "Denied",
                                       "Approved and Denied conditions are mutually exclusive"));
    }
    const json old_conditions = (*current).contains("status") && (*current)["status"].is_object()
                                    ? (*current)["status"].value("conditions", json::array())
                                    : json::array();
    for (const auto& old : old_conditions) {
        const std::string type = old.value("type", "");
        if (type != "Approved" && type != "Denied")
            continue;
        const bool kept = std::any_of(conditions.begin(), conditions.end(), [&](const json& c) {
            return c.is_object() && c.value("type", "") == type &&
                   c.value("status", "") == old.value("status", "");
        });
        if (!kept)
            causes.push_back(FieldCause{
                "FieldValueForbidden", "status.conditions",
                fmt::format("Forbidden: updates may not remove a condition of type \"{}\"", type)});
    }
    if (!causes.empty())
        throw invalid(ref, t.name, causes);
    json updated = *current;
    if (!updated.contains("status") || !updated["status"].is_object())
        updated["status"] = json::object();
    updated["status"]["conditions"] = conditions;
    write_json(res, 200, m_store.update(t.type->resource, updated));
}

void ApiServer::do_patch_secret(const httplib::Request& req, httplib::Response& res,
                                const Target& t) {
    const ResourceRef ref = ref_of(*t.type);
    const std::string dry_run = check_dry_run(req);
    const std::string mt = media_type(req);
    if (mt != "application/merge-patch+json" && mt != "application/strategic-merge-patch+json") {
        throw unsupported_media_type(
            {"application/merge-patch+json", "application/strategic-merge-patch+json"});
    }
    std::lock_guard lock(m_store.mutex());
    auto current = m_store.get("secrets", t.namespace_name, t.name);
    if (!current)
        throw not_found(ref, t.name);
    auto patched = apply_merge_patch(*current, req.body);
    if (!patched)
        throw bad_request(patched.error().message);
    json candidate = std::move(patched.value());
    if (!candidate.is_object())
        throw bad_request("the patched object is not a JSON object");
    if (candidate.contains("data") && !candidate["data"].is_null()) {
        if (!candidate["data"].is_object())
            throw bad_request("Secret.data must be a map");
        for (const auto& [k, v] : candidate["data"].items()) {
            std::string decoded;
            if (!v.is_string() || !base64_decode(v.get<std::string>(), decoded)) {
                throw bad_request(fmt::format("illegal base64 data in Secret.data[{}]", k));
            }
        }
    }
    for (const char* f : {"uid", "creationTimestamp", "namespace", "name", "resourceVersion"}) {
        candidate["metadata"][f] = (*current)["metadata"][f];
    }
    candidate["kind"] = "Secret";
    candidate["apiVersion"] = "v1";
    if (!dry_run.empty() || candidate == *current) {
        write_json(res, 200, candidate);
        return;
    }
    write_json(res, 200, m_store.update("secrets", candidate));
}

void ApiServer::do_self_subject_review(const httplib::Request& req, httplib::Response& res,
                                       const UserInfo& user) {
    if (!req.body.empty() && media_type(req) != k_protobuf_media_type) {
        require_json_body(req);
        json body = parse_json_body(req);
        require_kind(body, "SelfSubjectReview");
    }
    json info = {{"username", user.username}, {"uid", user.uid}, {"groups", user.groups}};
    if (!user.extra.empty())
        info["extra"] = user.extra;
    write_json(res, 201,
               {{"kind", "SelfSubjectReview"},
                {"apiVersion", "authentication.k8s.io/v1"},
                {"metadata", {{"creationTimestamp", nullptr}}},
                {"status", {{"userInfo", info}}}});
}

void ApiServer::do_token_request(const httplib::Request& req, httplib::Response& res,
                                 const Target& t, const UserInfo& user) {
    (void)user;
    const std::string dry_run = check_dry_run(req);
    json body = json_or_protobuf_body(req, decode_token_request);
    const ResourceRef token_ref{"authentication.k8s.io", "tokenrequests", "TokenRequest"};
    require_kind(body, "TokenRequest");
    json spec = body.contains("spec") && body["spec"].is_object() ? body["spec"] : json::object();
    long long expiration = 3600;
    if (spec.contains("expirationSeconds") && !spec["expirationSeconds"].is_null()) {
        if (!spec["expirationSeconds"].is_number_integer()) {
            throw bad_request(
                "json: cannot unmarshal " +
                std::string(spec["expirationSeconds"].is_string() ? "string" : "value") +
                " into Go struct field TokenRequestSpec.spec.expirationSeconds of type int64");
        }
        expiration = spec["expirationSeconds"].get<long long>();
    }
    std::vector<FieldCause> causes;
    const long long min_seconds = m_options.min_token_expiration.count();
    if (expiration < min_seconds) {
        const std::string min_text = min_seconds % 60 == 0
                                         ? fmt::format("{} minutes", min_seconds / 60)
                                         : fmt::format("{} seconds", min_seconds);
        causes.push_back(field_invalid("spec.expirationSeconds", expiration,
                                       "may not specify a duration less than " + min_text));
    }
    if (expiration > (1LL << 32)) {
        causes.push_back(field_invalid("spec.expirationSeconds", expiration,
                                       "may not specify a duration larger than 2^32 seconds"));
    }
    if (!causes.empty())
        throw invalid(token_ref, t.name, causes);
    std::lock_guard lock(m_store.mutex());
    auto sa = m_store.get("serviceaccounts", t.namespace_name, t.name);
    if (!sa)
        throw not_found(ResourceRef{"", "serviceaccounts", "ServiceAccount"}, t.name);
    MintedToken minted;
    minted.namespace_name = t.namespace_name;
    minted.service_account = t.name;
    minted.service_account_uid = str_at(*sa, "metadata", "uid");
    if (spec.contains("boundObjectRef") && spec["boundObjectRef"].is_object()) {
        json& bound = spec["boundObjectRef"];
        const std::string kind = bound.value("kind", "");
        const std::string api_version = bound.value("apiVersion", "v1");
        const std::string bound_name = bound.value("name", "");
        if (kind != "Secret" || (api_version != "v1" && !api_version.empty())) {
            throw bad_request(fmt::format("cannot bind token for object of type {}, Kind={}",
                                          api_version.empty() ? "/" : api_version, kind));
        }
        auto secret = m_store.get("secrets", t.namespace_name, bound_name);
        if (!secret)
            throw not_found(ResourceRef{"", "secrets", "Secret"}, bound_name);
        const std::string uid = str_at(*secret, "metadata", "uid");
        const std::string asked_uid = bound.value("uid", "");
        if (!asked_uid.empty() && asked_uid != uid) {
            throw conflict(
                ResourceRef{"", "Secret", "Secret"}, bound_name,
                fmt::format(
                    "the UID in the bound object reference ({}) does not match the UID in record. "
                    "The object might have been deleted and then recreated",
                    asked_uid));
        }
        bound["uid"] = uid;
        bound["apiVersion"] = "v1";
        minted.bound_kind = "Secret";
        minted.bound_name = bound_name;
        minted.bound_uid = uid;
    } else {
        spec["boundObjectRef"] = nullptr;
    }
    const SysTime now = m_clock.now();
    minted.issued_at = now;
    minted.expires_at = now + std::chrono::seconds(expiration);
    minted.jti = new_uid();
    if (!spec.contains("audiences") || !spec["audiences"].is_array() || spec["audiences"].empty()) {
        spec["audiences"] = json::array({"https://kubernetes.default.svc.cluster.local"});
    }
    spec["expirationSeconds"] = expiration;
    const std::string token = dry_run.empty() ? m_auth.mint(minted) : "";
    write_json(
        res, 201,
        {{"kind", "TokenRequest"},
         {"apiVersion", "authentication.k8s.io/v1"},
         {"metadata",
          {{"name", t.name}, {"namespace", t.namespace_name}, {"creationTimestamp", nullptr}}},
         {"spec", spec},
         {"status", {{"token", token}, {"expirationTimestamp", k8s_time(minted.expires_at)}}}});
}

namespace {

// Validation of a Deployment as kube-apiserver does it (the parts that matter here).
std::vector<FieldCause> validate_deployment(const json& d, const json& current) {
    std::vector<FieldCause> causes;
    const json& md = d["metadata"];
    check_string_maps(md, causes);
    if (!d.contains("spec") || !d["spec"].is_object()) {
        causes.push_back(field_required("spec"));
        return causes;
    }
    const json& spec = d["spec"];
    if (spec.contains("replicas")) {
        if (!spec["replicas"].is_number_integer()) {
            causes.push_back(
                field_invalid("spec.replicas", spec["replicas"], "must be an integer"));
        } else if (spec["replicas"].get<long long>() < 0) {
            causes.push_back(field_invalid("spec.replicas", spec["replicas"],
                                           "must be greater than or equal to 0"));
        }
    }
    if (spec.contains("paused") && !spec["paused"].is_boolean()) {
        causes.push_back(field_invalid("spec.paused", spec["paused"], "must be a boolean"));
    }
    for (const char* field : {"revisionHistoryLimit", "minReadySeconds"}) {
        if (spec.contains(field) &&
            (!spec[field].is_number_integer() || spec[field].get<long long>() < 0)) {
            causes.push_back(field_invalid(std::string("spec.") + field, spec[field],
                                           "must be greater than or equal to 0"));
        }
    }
    if (spec.contains("strategy") && spec["strategy"].is_object() &&
        spec["strategy"].contains("rollingUpdate") &&
        spec["strategy"]["rollingUpdate"].is_object()) {
        for (const char* field : {"maxSurge", "maxUnavailable"}) {
            const json& v = spec["strategy"]["rollingUpdate"].value(field, json());
            const bool ok = v.is_null() || (v.is_number_integer() && v.get<long long>() >= 0) ||
                            (v.is_string() && !v.get<std::string>().empty() &&
                             v.get<std::string>().back() == '%');
            if (!ok) {
                causes.push_back(field_invalid(
                    std::string("spec.strategy.rollingUpdate.") + field, v,
                    "a valid percent string must be a numeric string followed by an ending '%' "
                    "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
            }
        }
    }
    if (spec.contains("progressDeadlineSeconds") &&
        (!spec["progressDeadlineSeconds"].is_number_integer() ||
         spec["progressDeadlineSeconds"].get<long long>() <= 0)) {
        causes.push_back(field_invalid("spec.progressDeadlineSeconds",
                                       spec["progressDeadlineSeconds"],
                                       "must be greater than minReadySeconds"));
    }
    if (!spec.contains("selector") || !spec["selector"].is_object()) {
        causes.push_back(field_required("spec.selector"));
    } else if (current.contains("spec") && spec["selector"] != current["spec"]["selector"]) {
        causes.push_back(field_invalid("spec.selector", spec["selector"], "field is immutable"));
    }
    const std::string strategy = spec.contains("strategy") && spec["strategy"].is_object()
                                     ? spec["strategy"].value("type", "")
                                     : "";
    if (strategy != "RollingUpdate" && strategy != "Recreate") {
        causes.push_back(FieldCause{
            "FieldValueNotSupported", "spec.strategy.type",
            fmt::format("Unsupported value: {}: supported values: \"Recreate\", \"RollingUpdate\"",
                        go_value(spec["strategy"].value("type", json(""))))});
    }
    if (!spec.contains("template") || !spec["template"].is_object()) {
        causes.push_back(field_required("spec.template"));
        return causes;
    }
    const json& tmpl = spec["template"];
    const json tmpl_labels = tmpl.contains("metadata") && tmpl["metadata"].is_object()
                                 ? tmpl["metadata"].value("labels", json::object())
                                 : json::object();
    if (spec.contains("selector") && spec["selector"].is_object()) {
        auto sel = label_selector_from_json(spec["selector"]);
        if (!sel) {
            causes.push_back(field_invalid("spec.selector", spec["selector"], sel.error().message));
        } else if (!tmpl_labels.is_object() ||
                   !sel->matches_object(json{{"metadata", {{"labels", tmpl_labels}}}})) {
            causes.push_back(field_invalid("spec.template.metadata.labels", tmpl_labels,
                                           "`selector` does not match template `labels`"));
        }
    }
    if (!tmpl.contains("spec") || !tmpl["spec"].is_object() ||
        !tmpl["spec"].contains("containers") || !tmpl["spec"]["containers"].is_array() ||
        tmpl["spec"]["containers"].empty()) {
        causes.push_back(field_required("spec.template.spec.containers"));
        return causes;
    }
    std::set<std::string> names;
    int i = 0;
    for (const auto& c : tmpl["spec"]["containers"]) {
        const std::string base = fmt::format("spec.template.spec.containers[{}]", i++);
        if (!c.is_object()) {
            causes.push_back(field_invalid(base, c, "must be an object"));
            continue;
        }
        const std::string name =
            c.contains("name") && c["name"].is_string() ? c["name"].get<std::string>() : "";
        if (name.empty()) {
            causes.push_back(field_required(base + ".name"));
        } else if (!names.insert(name).second) {
            causes.push_back(FieldCause{"FieldValueDuplicate", base + ".name",
                                        "Duplicate value: " + go_value(name)});
        }
        if (!c.contains("image") || !c["image"].is_string() ||
            c["image"].get<std::string>().empty()) {
            causes.push_back(field_required(base + ".image"));
        } else {
            const std::string image = c["image"].get<std::string>();
            if (image.find_first_of(" \t\n") != std::string::npos || image != [&] {
                    std::string trimmed = image;
                    trimmed.erase(0, trimmed.find_first_not_of(' '));
                    return trimmed;
                }()) {
                causes.push_back(field_invalid(base + ".image", image,
                                               "must not have leading or trailing whitespace"));
            }
        }
    }
    return causes;
}

} // namespace

void ApiServer::do_write_deployment(const httplib::Request& req, httplib::Response& res,
                                    const Target& t, bool is_patch) {
    const ResourceRef ref = ref_of(*t.type);
    const std::string dry_run = check_dry_run(req);
    const std::string mt = media_type(req);
    std::optional<json> put_body;
    if (is_patch) {
        if (mt != "application/json-patch+json" && mt != "application/merge-patch+json" &&
            mt != "application/strategic-merge-patch+json") {
            throw unsupported_media_type({"application/json-patch+json",
                                          "application/merge-patch+json",
                                          "application/strategic-merge-patch+json"});
        }
    } else {
        require_json_body(req);
        put_body = parse_json_body(req);
        const json& b = *put_body;
        require_api_version(b, "apps/v1");
        require_kind(b, "Deployment");
        require_url_name(b, t.name);
    }
    std::lock_guard lock(m_store.mutex());
    auto current = m_store.get("deployments", t.namespace_name, t.name);
    if (!current)
        throw not_found(ref, t.name);
    const std::string key = t.namespace_name + "/" + t.name;
    if (m_race_armed.erase(key) > 0) {
        // The admin API asked for a concurrent change to land just before this write.
        json raced = *current;
        if (!raced["metadata"].contains("annotations") ||
            !raced["metadata"]["annotations"].is_object()) {
            raced["metadata"]["annotations"] = json::object();
        }
        raced["metadata"]["annotations"][k_race_annotation] = std::to_string(++m_race_counter);
        current = m_store.update("deployments", raced);
    }
    json candidate;
    if (is_patch) {
        oncall::Result<json> patched = mt == "application/json-patch+json"
                                           ? apply_json_patch(*current, req.body)
                                       : mt == "application/merge-patch+json"
                                           ? apply_merge_patch(*current, req.body)
                                           : apply_strategic_merge_patch(*current, req.body);
        if (!patched) {
            if (patched.error().http_status == 400)
                throw bad_request(patched.error().message);
            throw patch_does_not_apply(patched.error().message);
        }
        candidate = std::move(patched.value());
        if (!candidate.is_object())
            throw patch_does_not_apply("the patched object is not a JSON object");
    } else {
        candidate = std::move(*put_body);
    }
    if (!candidate.contains("metadata") || !candidate["metadata"].is_object())
        candidate["metadata"] = json::object();
    json& md = candidate["metadata"];
    const std::string current_rv = str_at(*current, "metadata", "resourceVersion");
    if (md.contains("resourceVersion") && !md["resourceVersion"].is_null()) {
        const std::string asked = md["resourceVersion"].is_string()
                                      ? md["resourceVersion"].get<std::string>()
                                      : md["resourceVersion"].dump();
        if (!asked.empty() && asked != current_rv)
            throw conflict(ref, t.name, k_object_modified);
    }
    if (md.contains("uid") && md["uid"].is_string() && !md["uid"].get<std::string>().empty() &&
        md["uid"] != (*current)["metadata"]["uid"]) {
        throw conflict(
            ref, t.name,
            fmt::format("Precondition failed: UID in precondition: {}, UID in object meta: {}",
                        md["uid"].get<std::string>(), str_at(*current, "metadata", "uid")));
    }
    if (is_patch) {
        std::vector<FieldCause> causes;
        if (md.value("name", json("")) != json(t.name))
            causes.push_back(
                field_invalid("metadata.name", md.value("name", json("")), "field is immutable"));
        if (md.value("namespace", json("")) != json(t.namespace_name)) {
            causes.push_back(field_invalid("metadata.namespace", md.value("namespace", json("")),
                                           "field is immutable"));
        }
        if (!causes.empty())
            throw invalid(ref, t.name, causes);
    }
    // Server-managed fields come from the stored object; status only changes through the
    // controller.
    for (const char* f : {"uid", "creationTimestamp", "generation", "namespace", "name"}) {
        md[f] = (*current)["metadata"][f];
    }
    md.erase("managedFields");
    md.erase("selfLink");
    md["resourceVersion"] = current_rv;
    candidate["kind"] = "Deployment";
    candidate["apiVersion"] = "apps/v1";
    candidate["status"] = (*current)["status"];
    if (candidate.contains("spec") && candidate["spec"].is_object())
        default_deployment_spec(candidate["spec"]);
    const auto causes = validate_deployment(candidate, *current);
    if (!causes.empty())
        throw invalid(ref, t.name, causes);
    if (md.contains("annotations") && md["annotations"].is_null())
        md.erase("annotations");
    if (md.contains("labels") && md["labels"].is_null())
        md.erase("labels");
    if (candidate["spec"] != (*current)["spec"]) {
        md["generation"] = (*current)["metadata"].value("generation", 1) + 1;
    }
    if (!dry_run.empty()) {
        write_json(res, 200, candidate);
        return;
    }
    if (candidate == *current) {
        write_json(res, 200, *current); // a no-op write keeps the resourceVersion, as in kube
        return;
    }
    write_json(res, 200, m_store.update("deployments", candidate));
}

namespace {

// The autoscaling/v1 Scale of a Deployment.
json scale_of(const json& d) {
    std::vector<std::string> selector;
    if (d["spec"].contains("selector") && d["spec"]["selector"].contains("matchLabels")) {
        for (const auto& [k, v] : d["spec"]["selector"]["matchLabels"].items()) {
            selector.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
        }
    }
    json md = {{"name", d["metadata"]["name"]},
               {"namespace", d["metadata"]["namespace"]},
               {"uid", d["metadata"]["uid"]},
               {"resourceVersion", d["metadata"]["resourceVersion"]},
               {"creationTimestamp", d["metadata"]["creationTimestamp"]}};
    return json{{"kind", "Scale"},
                {"apiVersion", "autoscaling/v1"},
                {"metadata", md},
                {"spec", {{"replicas", d["spec"].value("replicas", 1)}}},
                {"status",
                 {{"replicas", d.contains("status") ? d["status"].value("replicas", 0) : 0},
                  {"selector", fmt::format("{}", fmt::join(selector, ","))}}}};
}

} // namespace

void ApiServer::do_scale(const httplib::Request& req, httplib::Response& res, const Target& t) {
    const ResourceRef deployments = ref_of(*t.type);
    const ResourceRef scale_ref{"autoscaling", "scales", "Scale"};
    const std::string dry_run = check_dry_run(req);
    const std::string mt = media_type(req);
    if (req.method == "PATCH" && mt != "application/json-patch+json" &&
        mt != "application/merge-patch+json" && mt != "application/strategic-merge-patch+json") {
        throw unsupported_media_type({"application/json-patch+json", "application/merge-patch+json",
                                      "application/strategic-merge-patch+json"});
    }
    std::optional<json> put_body;
    if (req.method == "PUT") {
        require_json_body(req);
        put_body = parse_json_body(req);
    }
    std::lock_guard lock(m_store.mutex());
    auto current = m_store.get("deployments", t.namespace_name, t.name);
    if (!current)
        throw not_found(deployments, t.name);
    const json scale = scale_of(*current);
    if (req.method == "GET") {
        write_json(res, 200, scale);
        return;
    }
    json wanted;
    if (put_body) {
        wanted = std::move(*put_body);
    } else {
        oncall::Result<json> patched =
            mt == "application/json-patch+json"    ? apply_json_patch(scale, req.body)
            : mt == "application/merge-patch+json" ? apply_merge_patch(scale, req.body)
                                                   : apply_strategic_merge_patch(scale, req.body);
        if (!patched) {
            if (patched.error().http_status == 400)
                throw bad_request(patched.error().message);
            throw patch_does_not_apply(patched.error().message);
        }
        wanted = std::move(patched.value());
    }
    const std::string asked_rv = wanted.contains("metadata") && wanted["metadata"].is_object() &&
                                         wanted["metadata"].contains("resourceVersion") &&
                                         wanted["metadata"]["resourceVersion"].is_string()
                                     ? wanted["metadata"]["resourceVersion"].get<std::string>()
                                     : "";
    if (!asked_rv.empty() && asked_rv != str_at(*current, "metadata", "resourceVersion")) {
        throw conflict(deployments, t.name, k_object_modified);
    }
    const json replicas = wanted.contains("spec") && wanted["spec"].is_object()
                              ? wanted["spec"].value("replicas", json())
                              : json();
    if (!replicas.is_number_integer() || replicas.get<long long>() < 0 ||
        replicas.get<long long>() > 2147483647) {
        throw invalid(
            scale_ref, t.name,
            {field_invalid("spec.replicas", replicas, "must be greater than or equal to 0")});
    }
    json updated = *current;
    if (updated["spec"].value("replicas", 1) != replicas.get<int>()) {
        updated["spec"]["replicas"] = replicas;
        updated["metadata"]["generation"] = updated["metadata"].value("generation", 1) + 1;
        if (dry_run.empty())
            updated = m_store.update("deployments", updated);
    }
    write_json(res, 200, scale_of(updated));
}

void ApiServer::do_delete(const httplib::Request& req, httplib::Response& res, const Target& t) {
    const ResourceRef ref = ref_of(*t.type);
    const std::string dry_run = check_dry_run(req);
    json options = json::object();
    if (!req.body.empty() && media_type(req) != k_protobuf_media_type) {
        require_json_body(req);
        options = parse_json_body(req);
    }
    std::lock_guard lock(m_store.mutex());
    auto current = m_store.get(t.type->resource, t.namespace_name, t.name);
    if (!current)
        throw not_found(ref, t.name);
    if (options.contains("preconditions") && options["preconditions"].is_object()) {
        const json& pre = options["preconditions"];
        const std::string uid = pre.value("uid", "");
        if (!uid.empty() && uid != str_at(*current, "metadata", "uid")) {
            throw conflict(
                ref, t.name,
                fmt::format("Precondition failed: UID in precondition: {}, UID in object meta: {}",
                            uid, str_at(*current, "metadata", "uid")));
        }
        const std::string rv = pre.value("resourceVersion", "");
        if (!rv.empty() && rv != str_at(*current, "metadata", "resourceVersion")) {
            throw conflict(ref, t.name,
                           fmt::format("Precondition failed: ResourceVersion in precondition: {}, "
                                       "ResourceVersion in object meta: {}",
                                       rv, str_at(*current, "metadata", "resourceVersion")));
        }
    }
    if (dry_run.empty())
        m_store.remove(t.type->resource, t.namespace_name, t.name);
    write_json(res, 200, delete_success_status(ref, t.name, str_at(*current, "metadata", "uid")));
}

void ApiServer::do_pod_log(const httplib::Request& req, httplib::Response& res, const Target& t) {
    std::optional<int> tail;
    std::optional<std::chrono::seconds> since;
    try {
        if (req.has_param("tailLines"))
            tail = std::stoi(param(req, "tailLines"));
        if (req.has_param("sinceSeconds"))
            since = std::chrono::seconds(std::stoll(param(req, "sinceSeconds")));
    } catch (...) {
        throw bad_request("tailLines and sinceSeconds must be integers");
    }
    if (tail && *tail < 0) {
        throw invalid(ResourceRef{"", "pods", "PodLogOptions"}, "",
                      {field_invalid("tailLines", *tail, "must be greater than or equal to 0")});
    }
    if (since && since->count() < 1) {
        throw invalid(ResourceRef{"", "pods", "PodLogOptions"}, "",
                      {field_invalid("sinceSeconds", since->count(), "must be greater than 0")});
    }
    {
        std::lock_guard lock(m_store.mutex());
        if (!m_store.contains("pods", t.namespace_name, t.name))
            throw not_found(ResourceRef{"", "pods", "Pod"}, t.name);
        auto reason =
            m_controller.log_unavailable_reason(t.namespace_name, t.name, param(req, "container"));
        if (reason)
            throw bad_request(*reason);
    }
    const auto lines = m_workload.pod_logs(t.namespace_name, t.name, tail, since, m_clock.now());
    std::string text;
    for (const auto& l : lines)
        text += l + "\n";
    res.status = 200;
    res.set_content(text, "text/plain");
}

bool ApiServer::serve_admin(const httplib::Request& req, httplib::Response& res,
                            const UserInfo& user) {
    const auto parts = split_path(req.path);
    if (parts.size() < 3 || parts[1] != "v1")
        return false;
    if (!user.is_engineer) {
        throw StatusError(failure_status(
            403, "Forbidden",
            fmt::format("forbidden: User \"{}\" cannot {} path \"{}\"", user.username,
                        req.method == "GET" ? "get" : "post", req.path),
            json::object()));
    }
    if (parts.size() == 3 && parts[2] == "clock") {
        if (req.method != "GET")
            throw method_not_allowed();
        write_json(res, 200,
                   {{"kind", "SandboxClock"},
                    {"epoch", k8s_time(m_clock.epoch())},
                    {"now", k8s_time(m_clock.now())}});
        return true;
    }
    if (parts.size() == 4 && parts[2] == "tokens" && parts[3] == "expire") {
        if (req.method != "POST")
            throw method_not_allowed();
        require_json_body(req);
        const json body = parse_json_body(req);
        const std::string token = body.value("token", "");
        std::lock_guard lock(m_store.mutex());
        if (token.empty() || !m_auth.expire(token, m_clock.now())) {
            throw StatusError(
                failure_status(404, "NotFound", "no such service-account token", json::object()));
        }
        write_json(res, 200, {{"kind", "TokenExpired"}, {"expired", true}});
        return true;
    }
    // /sandbox/v1/namespaces/{ns}/deployments/{name}/race
    if (parts.size() == 7 && parts[2] == "namespaces" && parts[4] == "deployments" &&
        parts[6] == "race") {
        if (req.method != "POST")
            throw method_not_allowed();
        std::lock_guard lock(m_store.mutex());
        if (!m_store.contains("deployments", parts[3], parts[5])) {
            throw not_found(ResourceRef{"apps", "deployments", "Deployment"}, parts[5]);
        }
        m_race_armed.insert(parts[3] + "/" + parts[5]);
        write_json(res, 200,
                   {{"kind", "RaceArmed"},
                    {"namespace", parts[3]},
                    {"name", parts[5]},
                    {"annotation", k_race_annotation}});
        return true;
    }
    return false;
}

} // namespace sandbox
