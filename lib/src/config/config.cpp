#include "oncall/config/config.h"

#include "config/yaml_guard.h"
#include "oncall/core/duration.h"
#include "oncall/core/files.h"
#include "oncall/core/local_file.h"
#include "oncall/http/client.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

namespace oncall::config {

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

namespace {

// Walks the YAML tree with the file name and key path at hand, so every error can say
// "config.yaml:12: contexts.sandbox.prometheus.url: expected a string".
class Reader {
public:
    Reader(std::string origin, std::vector<std::string>& warnings)
        : m_origin(std::move(origin)), m_warnings(warnings) {}

    Error error(const YAML::Node& node, const std::string& key, const std::string& what) const {
        const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
        return make_error(Errc::config, fmt::format("{}:{}: {}: {}", m_origin, line, key, what));
    }

    void warn_unknown(const YAML::Node& map, const std::string& path,
                      const std::set<std::string>& known) {
        for (const auto& item : map) {
            const auto name = item.first.as<std::string>("");
            if (known.count(name) == 0) {
                const int line = item.first.Mark().line + 1;
                m_warnings.push_back(fmt::format("{}:{}: unknown key '{}{}' (ignored)", m_origin,
                                                 line, path.empty() ? "" : path + ".", name));
            }
        }
    }

    Result<std::string> string(const YAML::Node& node, const std::string& key) const {
        if (!node.IsScalar()) {
            return error(node, key, "expected a string");
        }
        return node.Scalar();
    }

    Result<bool> boolean(const YAML::Node& node, const std::string& key) const {
        bool value = false;
        if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
            return error(node, key, "expected true or false");
        }
        return value;
    }

    Result<double> number(const YAML::Node& node, const std::string& key) const {
        double value = 0;
        if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) || !(value >= 0)) {
            return error(node, key, "expected a non-negative number");
        }
        return value;
    }

    Result<std::vector<std::string>> strings(const YAML::Node& node, const std::string& key) const {
        std::vector<std::string> out;
        if (node.IsScalar()) {
            out.push_back(node.Scalar());
            return out;
        }
        if (!node.IsSequence()) {
            return error(node, key, "expected a list of strings");
        }
        for (const auto& item : node) {
            if (!item.IsScalar()) {
                return error(item, key, "expected a list of strings");
            }
            out.push_back(item.Scalar());
        }
        return out;
    }

    Result<std::chrono::milliseconds> duration(const YAML::Node& node,
                                               const std::string& key) const {
        auto text = string(node, key);
        if (!text) {
            return text.error();
        }
        auto d = parse_duration(*text);
        if (!d) {
            return error(node, key, d.error().message);
        }
        return *d;
    }

private:
    std::string m_origin;
    std::vector<std::string>& m_warnings;
};

Result<void> read_token_source(Reader& r, const YAML::Node& node, const std::string& path,
                               TokenSource& out) {
    int count = 0;
    if (node["token"]) {
        ONCALL_TRY_ASSIGN(out.token, r.string(node["token"], path + ".token"));
        ++count;
    }
    if (node["token-env"]) {
        ONCALL_TRY_ASSIGN(out.token_env, r.string(node["token-env"], path + ".token-env"));
        ++count;
    }
    if (node["token-file"]) {
        ONCALL_TRY_ASSIGN(out.token_file, r.string(node["token-file"], path + ".token-file"));
        ++count;
    }
    if (count > 1) {
        return r.error(node, path, "give only one of token, token-env and token-file");
    }
    return ok_result();
}

Result<void> check_url(Reader& r, const YAML::Node& node, const std::string& key,
                       const std::string& url) {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        return r.error(node, key, fmt::format("'{}' is not an http:// or https:// URL", url));
    }
    const auto rest = url.substr(url.find("://") + 3);
    if (rest.empty() || rest[0] == '/' || rest[0] == ':' ||
        rest.find_first_of(" \t\r\n") != std::string::npos) {
        return r.error(node, key, fmt::format("'{}' has no host", url));
    }
    return ok_result();
}

// A header name as RFC 9110 allows it (a token), and one that may be set from the configuration:
// credentials have keys of their own (basic-auth, token-env, token-file) that keep them secret, and
// framing headers belong to the HTTP layer.
std::string header_name_problem(const std::string& name) {
    if (name.empty()) {
        return "a header name cannot be empty";
    }
    for (const char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (!(std::isalnum(u) != 0 ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos)) {
            return fmt::format("'{}' is not a valid header name", name);
        }
    }
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower == "authorization" || lower == "proxy-authorization" || lower == "cookie") {
        return fmt::format(
            "the {} header cannot be set here (the value would be a secret in the file); use "
            "basic-auth, token-env or token-file",
            name);
    }
    if (lower == "host" || lower == "content-length" || lower == "transfer-encoding" ||
        lower == "connection" || lower == "content-type" || lower == "expect") {
        return fmt::format("the {} header is set by oncall itself", name);
    }
    return {};
}

Result<void> read_basic_auth(Reader& r, const YAML::Node& node, const std::string& path,
                             BasicAuthConfig& out) {
    if (!node.IsMap()) {
        return r.error(
            node, path,
            "expected {username: NAME, password-env: VAR} or {username, password-file: PATH}");
    }
    r.warn_unknown(node, path, {"username", "password-env", "password-file", "password"});
    if (node["password"]) {
        return r.error(node["password"], path + ".password",
                       "a password by value is not accepted; use password-env or password-file");
    }
    if (!node["username"]) {
        return r.error(node, path, "missing username");
    }
    ONCALL_TRY_ASSIGN(out.username, r.string(node["username"], path + ".username"));
    if (out.username.empty() || out.username.find(':') != std::string::npos ||
        out.username.find_first_of("\r\n") != std::string::npos) {
        return r.error(node["username"], path + ".username",
                       "a basic-auth user name must be non-empty, without ':' or line breaks");
    }
    if (node["password-env"]) {
        ONCALL_TRY_ASSIGN(out.password_env, r.string(node["password-env"], path + ".password-env"));
    }
    if (node["password-file"]) {
        ONCALL_TRY_ASSIGN(out.password_file,
                          r.string(node["password-file"], path + ".password-file"));
    }
    if (out.password_env.empty() == out.password_file.empty()) {
        return r.error(node, path, "give exactly one of password-env and password-file");
    }
    return ok_result();
}

Result<Endpoint> read_endpoint(Reader& r, const YAML::Node& node, const std::string& path) {
    Endpoint e;
    if (!node.IsMap()) {
        return r.error(node, path, "expected a map with url, urls or kube-service");
    }
    r.warn_unknown(node, path,
                   {"url", "urls", "kube-service", "headers", "basic-auth", "token", "token-env",
                    "token-file", "ca-file", "cert-file", "key-file", "insecure-skip-tls-verify",
                    "timeout"});
    if (node["url"] && node["urls"]) {
        return r.error(node, path, "give url or urls, not both");
    }
    if (node["url"]) {
        std::string url;
        ONCALL_TRY_ASSIGN(url, r.string(node["url"], path + ".url"));
        e.urls.push_back(url);
    } else if (node["urls"]) {
        ONCALL_TRY_ASSIGN(e.urls, r.strings(node["urls"], path + ".urls"));
    }
    for (const auto& url : e.urls) {
        ONCALL_TRY(check_url(r, node, path + ".url", url));
    }
    if (const auto ks = node["kube-service"]) {
        if (!e.urls.empty()) {
            return r.error(ks, path + ".kube-service", "give url/urls or kube-service, not both");
        }
        std::string text;
        ONCALL_TRY_ASSIGN(text, r.string(ks, path + ".kube-service"));
        auto parsed = parse_kube_service(text);
        if (!parsed) {
            return r.error(ks, path + ".kube-service", parsed.error().message);
        }
        e.kube_service = std::move(*parsed);
        // Through the service proxy, TLS and credentials are the API server's.
        for (const char* key : {"token", "token-env", "token-file", "basic-auth", "ca-file",
                                "cert-file", "key-file", "insecure-skip-tls-verify"}) {
            if (node[key]) {
                return r.error(
                    node[key], path + "." + key,
                    fmt::format(
                        "not used with kube-service, which reaches the service through the "
                        "Kubernetes API server with the context's kubernetes credentials and "
                        "TLS settings; remove {}",
                        key));
            }
        }
    }
    if (const auto headers = node["headers"]) {
        if (!headers.IsMap()) {
            return r.error(headers, path + ".headers", "expected a map of header name to value");
        }
        for (const auto& item : headers) {
            const auto name = item.first.as<std::string>("");
            if (const auto problem = header_name_problem(name); !problem.empty()) {
                return r.error(item.first, path + ".headers", problem);
            }
            std::string value;
            ONCALL_TRY_ASSIGN(value, r.string(item.second, path + ".headers." + name));
            if (value.find_first_of("\r\n") != std::string::npos) {
                return r.error(item.second, path + ".headers." + name,
                               "a header value cannot contain line breaks");
            }
            e.headers.emplace_back(name, value);
        }
    }
    ONCALL_TRY(read_token_source(r, node, path, e.auth));
    if (node["basic-auth"]) {
        ONCALL_TRY(read_basic_auth(r, node["basic-auth"], path + ".basic-auth", e.basic_auth));
        if (!e.auth.empty()) {
            return r.error(
                node["basic-auth"], path + ".basic-auth",
                "give basic-auth or a bearer token (token, token-env, token-file), not both");
        }
    }
    if (node["ca-file"]) {
        ONCALL_TRY_ASSIGN(e.ca_file, r.string(node["ca-file"], path + ".ca-file"));
    }
    if (node["cert-file"]) {
        ONCALL_TRY_ASSIGN(e.cert_file, r.string(node["cert-file"], path + ".cert-file"));
    }
    if (node["key-file"]) {
        ONCALL_TRY_ASSIGN(e.key_file, r.string(node["key-file"], path + ".key-file"));
    }
    if (e.cert_file.empty() != e.key_file.empty()) {
        return r.error(node, path,
                       "cert-file and key-file go together (the client certificate and its key)");
    }
    if (node["insecure-skip-tls-verify"]) {
        ONCALL_TRY_ASSIGN(
            e.insecure_skip_tls_verify,
            r.boolean(node["insecure-skip-tls-verify"], path + ".insecure-skip-tls-verify"));
    }
    if (node["timeout"]) {
        ONCALL_TRY_ASSIGN(e.timeout, r.duration(node["timeout"], path + ".timeout"));
    }
    return e;
}

Result<void> read_kubernetes(Reader& r, const YAML::Node& k, const std::string& kp,
                             KubernetesConfig& kc) {
    if (!k.IsMap()) {
        return r.error(k, kp, "expected a map");
    }
    r.warn_unknown(k, kp,
                   {"server", "namespace", "token", "token-env", "token-file", "kubeconfig",
                    "kube-context", "ca-file", "cert-file", "key-file", "tls-server-name",
                    "proxy-url", "insecure-skip-tls-verify"});
    if (k["server"]) {
        ONCALL_TRY_ASSIGN(kc.server, r.string(k["server"], kp + ".server"));
        ONCALL_TRY(check_url(r, k["server"], kp + ".server", kc.server));
    }
    if (k["namespace"]) {
        ONCALL_TRY_ASSIGN(kc.namespace_name, r.string(k["namespace"], kp + ".namespace"));
        if (!is_dns1123_label(kc.namespace_name)) {
            return r.error(k["namespace"], kp + ".namespace",
                           fmt::format("'{}' is not a valid namespace name", kc.namespace_name));
        }
    }
    ONCALL_TRY(read_token_source(r, k, kp, kc.auth));
    if (const auto files = k["kubeconfig"]; files && files.IsSequence()) {
        ONCALL_TRY_ASSIGN(kc.kubeconfigs, r.strings(files, kp + ".kubeconfig"));
    } else if (files) {
        std::string file;
        ONCALL_TRY_ASSIGN(file, r.string(files, kp + ".kubeconfig"));
        kc.kubeconfigs.push_back(file);
    }
    if (k["kube-context"]) {
        ONCALL_TRY_ASSIGN(kc.kube_context, r.string(k["kube-context"], kp + ".kube-context"));
    }
    if (k["ca-file"]) {
        ONCALL_TRY_ASSIGN(kc.ca_file, r.string(k["ca-file"], kp + ".ca-file"));
    }
    if (k["insecure-skip-tls-verify"]) {
        ONCALL_TRY_ASSIGN(kc.insecure_skip_tls_verify, r.boolean(k["insecure-skip-tls-verify"],
                                                                 kp + ".insecure-skip-tls-verify"));
    }
    for (const auto& [key, target] :
         {std::pair{"cert-file", &kc.cert_file}, std::pair{"key-file", &kc.key_file},
          std::pair{"tls-server-name", &kc.tls_server_name},
          std::pair{"proxy-url", &kc.proxy_url}}) {
        if (k[key]) {
            ONCALL_TRY_ASSIGN(*target, r.string(k[key], kp + "." + key));
        }
    }
    if (kc.cert_file.empty() != kc.key_file.empty()) {
        return r.error(k, kp, "cert-file and key-file go together; set both");
    }
    if (!kc.proxy_url.empty() && kc.proxy_url.rfind("http://", 0) != 0 &&
        kc.proxy_url.rfind("https://", 0) != 0 && kc.proxy_url.rfind("socks5://", 0) != 0) {
        return r.error(k["proxy-url"], kp + ".proxy-url",
                       "use an http://, https:// or socks5:// URL");
    }
    if (!kc.server.empty() && (!kc.kubeconfigs.empty() || !kc.kube_context.empty())) {
        return r.error(k, kp, "give server or kubeconfig (with kube-context), not both");
    }
    return ok_result();
}

Result<void> read_access(Reader& r, const YAML::Node& a, const std::string& ap,
                         AccessConfig& access) {
    if (!a.IsMap()) {
        return r.error(a, ap, "expected a map");
    }
    r.warn_unknown(a, ap, {"require-grant", "roles", "approval-timeout", "notify"});
    if (a["require-grant"]) {
        ONCALL_TRY_ASSIGN(access.require_grant,
                          r.boolean(a["require-grant"], ap + ".require-grant"));
    }
    if (a["approval-timeout"]) {
        std::chrono::milliseconds timeout{};
        ONCALL_TRY_ASSIGN(timeout, r.duration(a["approval-timeout"], ap + ".approval-timeout"));
        access.approval_timeout = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    }
    if (const auto n = a["notify"]) {
        if (!n.IsMap()) {
            return r.error(n, ap + ".notify",
                           "expected {webhook-url-env: NAME} or {webhook-url-file: PATH}");
        }
        r.warn_unknown(n, ap + ".notify", {"webhook-url-env", "webhook-url-file"});
        if (n["webhook-url-env"]) {
            ONCALL_TRY_ASSIGN(access.notify.webhook_url_env,
                              r.string(n["webhook-url-env"], ap + ".notify.webhook-url-env"));
        }
        if (n["webhook-url-file"]) {
            ONCALL_TRY_ASSIGN(access.notify.webhook_url_file,
                              r.string(n["webhook-url-file"], ap + ".notify.webhook-url-file"));
        }
        if (!access.notify.webhook_url_env.empty() && !access.notify.webhook_url_file.empty()) {
            return r.error(n, ap + ".notify", "set webhook-url-env or webhook-url-file, not both");
        }
    }
    const auto roles = a["roles"];
    if (!roles) {
        return ok_result();
    }
    if (!roles.IsMap()) {
        return r.error(roles, ap + ".roles",
                       "expected a map of role name to {service-account, max}");
    }
    for (const auto& item : roles) {
        Role role;
        role.name = item.first.as<std::string>("");
        const std::string rp = ap + ".roles." + role.name;
        if (!item.second.IsMap()) {
            return r.error(item.second, rp, "expected {service-account: NAME, max: DURATION}");
        }
        r.warn_unknown(item.second, rp, {"service-account", "max", "approval", "break-glass"});
        if (!item.second["service-account"]) {
            return r.error(item.second, rp, "missing service-account");
        }
        ONCALL_TRY_ASSIGN(role.service_account,
                          r.string(item.second["service-account"], rp + ".service-account"));
        if (!is_dns1123_label(role.service_account)) {
            return r.error(item.second["service-account"], rp + ".service-account",
                           "not a valid service account name");
        }
        if (item.second["max"]) {
            std::chrono::milliseconds max{};
            ONCALL_TRY_ASSIGN(max, r.duration(item.second["max"], rp + ".max"));
            role.max = std::chrono::duration_cast<std::chrono::seconds>(max);
        }
        if (item.second["approval"]) {
            std::string approval;
            ONCALL_TRY_ASSIGN(approval, r.string(item.second["approval"], rp + ".approval"));
            if (approval != "required" && approval != "none") {
                return r.error(item.second["approval"], rp + ".approval",
                               "expected 'required' or 'none'");
            }
            role.approval_required = approval == "required";
        }
        if (item.second["break-glass"]) {
            ONCALL_TRY_ASSIGN(role.break_glass,
                              r.boolean(item.second["break-glass"], rp + ".break-glass"));
        }
        if (role.approval_required && role.break_glass) {
            return r.error(item.second, rp,
                           "a role is either approval: required or break-glass: true, not both");
        }
        access.roles[role.name] = role;
    }
    return ok_result();
}

Result<Context> read_context(Reader& r, const std::string& name, const YAML::Node& node) {
    const std::string path = "contexts." + name;
    Context c;
    c.name = name;
    if (!node.IsMap()) {
        return r.error(node, path, "expected a map");
    }
    r.warn_unknown(node, path,
                   {"kubernetes", "prometheus", "alertmanager", "registry", "access",
                    "scrape-interval", "silences"});
    if (node["scrape-interval"]) {
        ONCALL_TRY_ASSIGN(c.scrape_interval,
                          r.duration(node["scrape-interval"], path + ".scrape-interval"));
    }
    if (node["kubernetes"]) {
        ONCALL_TRY(read_kubernetes(r, node["kubernetes"], path + ".kubernetes", c.kubernetes));
    }
    if (node["prometheus"]) {
        ONCALL_TRY_ASSIGN(c.prometheus, read_endpoint(r, node["prometheus"], path + ".prometheus"));
    }
    if (node["alertmanager"]) {
        ONCALL_TRY_ASSIGN(c.alertmanager,
                          read_endpoint(r, node["alertmanager"], path + ".alertmanager"));
    }
    if (node["registry"]) {
        ONCALL_TRY_ASSIGN(c.registry, read_endpoint(r, node["registry"], path + ".registry"));
        if (c.registry.kube_service.configured()) {
            // Images name the registry by the host the nodes pull from; that is the one to reach.
            return r.error(node["registry"]["kube-service"], path + ".registry.kube-service",
                           "not supported for the registry: image references name the registry's "
                           "host, so give "
                           "its url (the host the cluster's nodes pull from)");
        }
    }
    if (node["access"]) {
        ONCALL_TRY(read_access(r, node["access"], path + ".access", c.access));
    }
    if (const auto sn = node["silences"]) {
        if (!sn.IsMap()) {
            return r.error(sn, path + ".silences", "expected a map like {max: 4h}");
        }
        r.warn_unknown(sn, path + ".silences", {"max"});
        if (sn["max"]) {
            std::chrono::milliseconds max{};
            ONCALL_TRY_ASSIGN(max, r.duration(sn["max"], path + ".silences.max"));
            if (max.count() < 1000) {
                return r.error(sn["max"], path + ".silences.max", "must be at least 1s");
            }
            c.silences.max = std::chrono::duration_cast<std::chrono::seconds>(max);
        }
    }
    return c;
}

Result<Service> read_service(Reader& r, const std::string& name, const YAML::Node& node) {
    const std::string path = "services." + name;
    Service s;
    s.name = name;
    s.configured = true;
    if (!is_dns1123_label(name)) {
        return r.error(node, path,
                       "a service name must be a DNS-1123 label (lowercase letters, digits, '-')");
    }
    if (node.IsNull()) {
        return s;
    }
    if (!node.IsMap()) {
        return r.error(node, path, "expected a map");
    }
    r.warn_unknown(node, path,
                   {"namespace", "deployment", "selector", "alerts", "slo", "repositories",
                    "signals", "scrape-interval"});
    if (node["scrape-interval"]) {
        ONCALL_TRY_ASSIGN(s.scrape_interval,
                          r.duration(node["scrape-interval"], path + ".scrape-interval"));
    }
    if (node["namespace"]) {
        ONCALL_TRY_ASSIGN(s.namespace_name, r.string(node["namespace"], path + ".namespace"));
        if (!is_dns1123_label(s.namespace_name)) {
            return r.error(node["namespace"], path + ".namespace", "not a valid namespace name");
        }
    }
    if (node["deployment"]) {
        ONCALL_TRY_ASSIGN(s.deployment, r.string(node["deployment"], path + ".deployment"));
        if (!is_dns1123_label(s.deployment)) {
            return r.error(node["deployment"], path + ".deployment", "not a valid Deployment name");
        }
    }
    if (node["selector"]) {
        ONCALL_TRY_ASSIGN(s.selector, r.string(node["selector"], path + ".selector"));
    }
    if (node["alerts"]) {
        ONCALL_TRY_ASSIGN(s.alerts, r.strings(node["alerts"], path + ".alerts"));
    }
    if (node["repositories"]) {
        ONCALL_TRY_ASSIGN(s.repositories, r.strings(node["repositories"], path + ".repositories"));
    }
    if (const auto slo = node["slo"]) {
        if (!slo.IsMap()) {
            return r.error(slo, path + ".slo", "expected {error-ratio: N, latency-p99: SECONDS}");
        }
        r.warn_unknown(slo, path + ".slo", {"error-ratio", "latency-p99"});
        if (slo["error-ratio"]) {
            ONCALL_TRY_ASSIGN(s.slo.error_ratio,
                              r.number(slo["error-ratio"], path + ".slo.error-ratio"));
        }
        if (slo["latency-p99"]) {
            ONCALL_TRY_ASSIGN(s.slo.latency_p99,
                              r.number(slo["latency-p99"], path + ".slo.latency-p99"));
        }
    }
    if (const auto signals = node["signals"]) {
        if (!signals.IsMap()) {
            return r.error(signals, path + ".signals", "expected a map of signal name to PromQL");
        }
        for (const auto& item : signals) {
            const auto key = item.first.as<std::string>("");
            ONCALL_TRY_ASSIGN(s.signals[key], r.string(item.second, path + ".signals." + key));
        }
    }
    return s;
}

std::string home_dir() {
    auto home = env_or_empty("HOME");
    return home.empty() ? std::string("/") : home;
}

bool contains_secret_by_value(const Config& c) {
    for (const auto& [name, ctx] : c.contexts) {
        if (!ctx.kubernetes.auth.token.empty() || !ctx.prometheus.auth.token.empty() ||
            !ctx.alertmanager.auth.token.empty() || !ctx.registry.auth.token.empty()) {
            return true;
        }
    }
    return false;
}

Result<std::string> read_file(const std::string& path, Errc code,
                              std::size_t max_bytes = k_max_config_bytes,
                              const char* what = "configuration file") {
    auto file = read_local_file(path, what, max_bytes);
    if (!file) {
        auto e = std::move(file).error();
        e.code = code;
        return e;
    }
    return std::move(file->text);
}

} // namespace

std::string redact_value(const std::string& value) {
    if (value.find("://") == std::string::npos) {
        return value;
    }
    return http::redact_url(value);
}

bool is_dns1123_label(const std::string& name) {
    if (name.empty() || name.size() > 63) {
        return false;
    }
    for (const char ch : name) {
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
            return false;
        }
    }
    return name.front() != '-' && name.back() != '-';
}

std::string resolve_config_path(const std::optional<std::string>& flag) {
    if (flag && !flag->empty()) {
        return expand_home(*flag);
    }
    if (auto env = env_or_empty("ONCALL_CONFIG"); !env.empty()) {
        return expand_home(env);
    }
    if (auto xdg = env_or_empty("XDG_CONFIG_HOME"); !xdg.empty()) {
        return xdg + "/oncall/config.yaml";
    }
    return home_dir() + "/.config/oncall/config.yaml";
}

std::string state_dir() {
    if (auto xdg = env_or_empty("XDG_STATE_HOME"); !xdg.empty()) {
        return xdg + "/oncall";
    }
    return home_dir() + "/.local/state/oncall";
}

Result<Config> parse_config(const std::string& text, const std::string& origin) {
    Config config;
    config.path = origin;
    if (auto checked = check_yaml_document(text, origin); !checked) {
        return std::move(checked).error();
    }
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        return make_error(Errc::config,
                          fmt::format("{}:{}: invalid YAML: {}", origin, e.mark.line + 1, e.msg));
    }
    Reader r(origin, config.warnings);
    if (root.IsNull()) {
        return make_error(Errc::config,
                          fmt::format("{}: the file is empty; see examples/config.yaml", origin));
    }
    if (!root.IsMap()) {
        return r.error(root, "(top level)",
                       "expected a map with current-context, contexts and services");
    }
    try {
        r.warn_unknown(root, "", {"current-context", "contexts", "services"});
        if (root["current-context"]) {
            ONCALL_TRY_ASSIGN(config.current_context,
                              r.string(root["current-context"], "current-context"));
        }
        if (const auto contexts = root["contexts"]) {
            if (!contexts.IsMap()) {
                return r.error(contexts, "contexts", "expected a map of context name to settings");
            }
            for (const auto& item : contexts) {
                const auto name = item.first.as<std::string>("");
                ONCALL_TRY_ASSIGN(config.contexts[name], read_context(r, name, item.second));
            }
        }
        if (const auto services = root["services"]) {
            if (!services.IsMap()) {
                return r.error(services, "services", "expected a map of service name to settings");
            }
            for (const auto& item : services) {
                const auto name = item.first.as<std::string>("");
                ONCALL_TRY_ASSIGN(config.services[name], read_service(r, name, item.second));
            }
        }
    } catch (const YAML::Exception& e) {
        return make_error(Errc::config, fmt::format("{}:{}: {}", origin, e.mark.line + 1, e.msg));
    }
    return config;
}

Result<Config> load_config(const std::string& path) {
    auto text = read_file(path, Errc::config);
    if (!text) {
        return std::move(text).error();
    }
    auto config = parse_config(*text, path);
    if (!config) {
        return config;
    }
    struct stat st {};
    config->file_is_private = ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) == 0;
    if (contains_secret_by_value(*config) && !config->file_is_private) {
        return make_error(
            Errc::config,
            fmt::format("{} holds a token by value but is readable by others (mode {:o}); run "
                        "'chmod 600 {}' or use token-env / token-file instead",
                        path, st.st_mode & 0777, path));
    }
    return config;
}

Result<Config> implicit_config(const std::optional<std::string>& context_flag) {
    Config config;
    Context context;
    context.implicit = true;
    if (context_flag && !context_flag->empty()) {
        context.kubernetes.kube_context = *context_flag;
    } else {
        context.kubernetes.kube_context = env_or_empty("ONCALL_CONTEXT");
    }
    context.name = context.kubernetes.kube_context;
    for (const auto& [variable, endpoint] :
         {std::pair{"ONCALL_PROMETHEUS_URL", &context.prometheus},
          std::pair{"ONCALL_ALERTMANAGER_URL", &context.alertmanager}}) {
        std::stringstream list(env_or_empty(variable));
        std::string url;
        while (std::getline(list, url, ',')) {
            const auto first = url.find_first_not_of(" \t");
            if (first == std::string::npos) {
                continue;
            }
            url = url.substr(first, url.find_last_not_of(" \t") - first + 1);
            if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
                return make_error(Errc::config,
                                  fmt::format("${} holds a value that is not an http(s) URL; give "
                                              "comma-separated http:// or https:// URLs",
                                              variable));
            }
            endpoint->urls.push_back(url);
        }
    }
    config.current_context = context.name;
    config.contexts.emplace(context.name, std::move(context));
    return config;
}

Result<Context> select_context(const Config& config, const std::optional<std::string>& flag) {
    std::string name;
    std::string source;
    if (flag && !flag->empty()) {
        name = *flag;
        source = "--context";
    } else if (auto env = env_or_empty("ONCALL_CONTEXT"); !env.empty()) {
        name = env;
        source = "$ONCALL_CONTEXT";
    } else {
        name = config.current_context;
        source = "current-context in " + config.path;
    }
    if (name.empty()) {
        if (config.contexts.size() == 1) {
            return config.contexts.begin()->second;
        }
        return make_error(
            Errc::config,
            fmt::format("no context selected: set current-context in {} or pass --context NAME",
                        config.path));
    }
    const auto it = config.contexts.find(name);
    if (it == config.contexts.end()) {
        std::string known;
        for (const auto& [n, c] : config.contexts) {
            known += known.empty() ? n : ", " + n;
        }
        return make_error(Errc::config,
                          fmt::format("unknown context '{}' (from {}); known contexts: {}", name,
                                      source, known.empty() ? "none" : known));
    }
    return it->second;
}

Result<Service> service_for(const Config& config, const Context& context, const std::string& name) {
    if (!is_dns1123_label(name)) {
        return make_error(
            Errc::invalid,
            fmt::format("'{}' is not a valid service name: use lowercase letters, digits and '-' "
                        "(a DNS-1123 label, at most 63 characters)",
                        name));
    }
    Service s;
    if (const auto it = config.services.find(name); it != config.services.end()) {
        s = it->second;
    }
    s.name = name;
    if (s.namespace_name.empty()) {
        s.namespace_name = context.kubernetes.namespace_name;
    }
    if (s.deployment.empty()) {
        s.deployment = name;
    }
    if (s.scrape_interval.count() == 0) {
        s.scrape_interval = context.scrape_interval;
    }
    if (s.selector.empty()) {
        s.selector = fmt::format("service=\"{}\"", name);
    }
    if (s.alerts.empty()) {
        s.alerts.push_back(fmt::format("service=\"{}\"", name));
    }
    return s;
}

Result<std::string> resolve_token(const TokenSource& source) {
    if (!source.token.empty()) {
        return source.token;
    }
    if (!source.token_env.empty()) {
        const auto value = env_or_empty(source.token_env.c_str());
        if (value.empty()) {
            return make_error(Errc::config, fmt::format("token-env names ${}, which is not set",
                                                        source.token_env));
        }
        return value;
    }
    if (!source.token_file.empty()) {
        const std::string path = expand_home(source.token_file);
        auto token = read_local_file(path, "token-file", k_max_token_bytes);
        if (!token) {
            return std::move(token).error();
        }
        // The same rule as a token by value in the configuration: only its owner may read it.
        if ((token->mode & 077) != 0) {
            return make_error(Errc::config,
                              fmt::format("token-file {} is readable by others (mode {:04o}); run "
                                          "'chmod 600 {}' and rotate the token if others could "
                                          "read it",
                                          path, token->mode, path));
        }
        std::string value = std::move(token->text);
        while (!value.empty() &&
               (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
            value.pop_back();
        }
        if (value.empty()) {
            return make_error(Errc::config,
                              fmt::format("token-file {} is empty", source.token_file));
        }
        return value;
    }
    return std::string();
}

Result<std::string> resolve_password(const BasicAuthConfig& basic_auth) {
    TokenSource source;
    source.token_env = basic_auth.password_env;
    source.token_file = basic_auth.password_file;
    auto password = resolve_token(source);
    if (!password) {
        Error e = std::move(password).error();
        for (const auto& [from, to] :
             {std::pair<std::string_view, std::string_view>{"token-env", "password-env"},
              {"token-file", "password-file"}}) {
            for (auto pos = e.message.find(from); pos != std::string::npos;
                 pos = e.message.find(from, pos)) {
                e.message.replace(pos, from.size(), to);
            }
        }
        e.message = "basic-auth: " + e.message;
        return e;
    }
    return password;
}

std::string credential_source(const Endpoint& endpoint) {
    if (endpoint.kube_service.configured()) {
        return "the context's kubernetes credentials (through the API server's service proxy)";
    }
    if (endpoint.basic_auth.configured()) {
        const auto& b = endpoint.basic_auth;
        return fmt::format("basic-auth user '{}' (password from {})", b.username,
                           b.password_env.empty() ? "password-file " + b.password_file
                                                  : "$" + b.password_env);
    }
    const auto& a = endpoint.auth;
    if (!a.token_env.empty()) {
        return fmt::format("a bearer token from ${} (token-env)", a.token_env);
    }
    if (!a.token_file.empty()) {
        return fmt::format("a bearer token from token-file {}", a.token_file);
    }
    if (!a.token.empty()) {
        return "the bearer token written in the configuration file (token)";
    }
    return {};
}

namespace {

bool is_port_name(std::string_view port) {
    // IANA service name: 1-15 lower-case letters, digits and '-', at least one letter, no '--'.
    if (port.empty() || port.size() > 15 || port.front() == '-' || port.back() == '-' ||
        port.find("--") != std::string_view::npos) {
        return false;
    }
    bool letter = false;
    for (const char c : port) {
        if (c >= 'a' && c <= 'z') {
            letter = true;
        } else if (!((c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return letter;
}

bool is_port_number(std::string_view port) {
    if (port.empty() || port.size() > 5 || port.front() == '0' ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    return std::stoi(std::string(port)) <= 65535;
}

} // namespace

Result<KubeService> parse_kube_service(const std::string& text) {
    const auto invalid = [&](const std::string& why) {
        return make_error(
            Errc::config,
            fmt::format("'{}' is not NAMESPACE/NAME:PORT ({}); e.g. monitoring/prometheus-k8s:web",
                        text, why));
    };
    const auto slash = text.find('/');
    if (slash == std::string::npos) {
        return invalid("no '/' between namespace and service");
    }
    KubeService out;
    out.namespace_name = text.substr(0, slash);
    std::string rest = text.substr(slash + 1);
    if (rest.rfind("https:", 0) == 0 || rest.rfind("http:", 0) == 0) {
        out.scheme = rest.substr(0, rest.find(':'));
        rest = rest.substr(out.scheme.size() + 1);
    }
    const auto colon = rest.find(':');
    out.name = rest.substr(0, colon);
    if (colon != std::string::npos) {
        out.port = rest.substr(colon + 1);
        if (!is_port_number(out.port) && !is_port_name(out.port)) {
            return invalid(fmt::format(
                "port '{}' is neither a number from 1 to 65535 nor a port name", out.port));
        }
    }
    if (!is_dns1123_label(out.namespace_name)) {
        return invalid(fmt::format("namespace '{}' is not a DNS-1123 label", out.namespace_name));
    }
    if (!is_dns1123_label(out.name)) {
        return invalid(fmt::format("service '{}' is not a DNS-1123 label", out.name));
    }
    return out;
}

std::string KubeService::text() const {
    std::string out = namespace_name + "/";
    if (!scheme.empty()) {
        out += scheme + ":";
    }
    out += name;
    if (!port.empty()) {
        out += ":" + port;
    }
    return out;
}

std::string KubeService::proxy_path() const {
    std::string service = scheme.empty() ? name : scheme + ":" + name;
    if (!port.empty()) {
        service += ":" + port;
    }
    return fmt::format("/api/v1/namespaces/{}/services/{}/proxy", namespace_name, service);
}

// `name` as a YAML scalar: plain when that reads back as itself, else double-quoted.
std::string yaml_scalar(const std::string& name) {
    const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
               c == '.' || c == '/' || c == '@';
    }) && std::isalnum(static_cast<unsigned char>(name.front())) != 0;
    if (plain) {
        return name;
    }
    std::string out = "\"";
    for (const char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7F) {
            out += fmt::format("\\x{:02x}", u);
        } else {
            out += c;
        }
    }
    return out + "\"";
}

Result<void> set_current_context(const std::string& path, const std::string& name) {
    auto read = read_file(path, Errc::config);
    if (!read) {
        return read.error();
    }
    const std::string& text = *read;
    std::string out;
    bool replaced = false;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        const bool has_newline = end != std::string::npos;
        if (!has_newline) {
            end = text.size();
        }
        std::string line = text.substr(pos, end - pos);
        if (!replaced && line.rfind("current-context:", 0) == 0) {
            std::string comment; // keep a trailing comment on the same line
            if (auto hash = line.find(" #"); hash != std::string::npos) {
                while (hash > 0 && (line[hash - 1] == ' ' || line[hash - 1] == '\t')) {
                    --hash;
                }
                comment = line.substr(hash);
            }
            line = "current-context: " + yaml_scalar(name) + comment;
            replaced = true;
        }
        out += line;
        if (has_newline) {
            out += '\n';
        }
        pos = end + 1;
    }
    if (!replaced) {
        out = "current-context: " + yaml_scalar(name) + "\n" + text;
    }
    auto check = parse_config(out, path); // never write a file we could not read back
    if (!check) {
        return check.error();
    }
    if (check->current_context != name) {
        return make_error(
            Errc::config,
            fmt::format("cannot set current-context to '{}' in {}: it would read back as "
                        "'{}'; nothing was changed",
                        name, path, check->current_context));
    }
    // The mode of the file as it is (through a symlink: of its target), else private.
    struct stat st {};
    const unsigned mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0600;
    return write_file_atomic(path, out, mode);
}

Result<std::string> redacted_yaml(const std::string& path) {
    auto text = read_file(path, Errc::config);
    if (!text) {
        return std::move(text).error();
    }
    if (auto checked = check_yaml_document(*text, path); !checked) {
        return std::move(checked).error();
    }
    YAML::Node root;
    try {
        root = YAML::Load(*text);
    } catch (const YAML::Exception& e) {
        return make_error(Errc::config, fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
    }
    std::function<void(YAML::Node)> scrub = [&](YAML::Node node) {
        if (node.IsMap()) {
            for (auto item : node) {
                const auto key = item.first.as<std::string>("");
                if ((key == "token" || key == "password" || key == "secret") &&
                    item.second.IsScalar()) {
                    item.second = "<redacted>";
                } else if (item.second.IsScalar()) {
                    item.second = redact_value(item.second.Scalar());
                } else {
                    scrub(item.second);
                }
            }
        } else if (node.IsSequence()) {
            for (std::size_t i = 0; i < node.size(); ++i) {
                if (node[i].IsScalar()) {
                    node[i] = redact_value(node[i].Scalar());
                } else {
                    scrub(node[i]);
                }
            }
        }
    };
    scrub(root);
    YAML::Emitter emitter;
    emitter << root;
    return std::string(emitter.c_str()) + "\n";
}

} // namespace oncall::config
