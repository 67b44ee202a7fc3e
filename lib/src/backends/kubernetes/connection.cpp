// Connection settings of an oncall context: its own server and credentials, or a kubeconfig (with
// the context's keys on top), then the exec plugin's credential when nothing else authenticates.

#include "backends/kubernetes/exec_credential.h"
#include "backends/kubernetes/files.h"
#include "oncall/backends/kubernetes.h"

#include <fmt/format.h>

namespace oncall::kube {
namespace {

std::string trim(std::string s) {
    while (!s.empty() &&
           (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
        s.pop_back();
    }
    std::size_t start = 0;
    while (start < s.size() &&
           (s[start] == ' ' || s[start] == '\t' || s[start] == '\n' || s[start] == '\r')) {
        ++start;
    }
    return s.substr(start);
}

void strip_trailing_slashes(std::string& server) {
    while (!server.empty() && server.back() == '/') {
        server.pop_back();
    }
}

bool file_readable(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        return false;
    }
    std::fclose(f);
    return true;
}

} // namespace

http::TlsOptions Connection::tls() const {
    http::TlsOptions t;
    t.ca_file = ca_file;
    t.ca_pem = ca_pem;
    t.client_cert_file = client_cert_file;
    t.client_cert_pem = client_cert_pem;
    t.client_key_file = client_key_file;
    t.client_key_pem = client_key_pem;
    t.server_name = tls_server_name;
    t.insecure_skip_verify = insecure_skip_tls_verify;
    return t;
}

Result<std::string> Connection::ca_bundle() const {
    if (!ca_pem.empty()) {
        return ca_pem;
    }
    if (ca_file.empty()) {
        return std::string();
    }
    return read_file(ca_file, "CA file");
}

Result<Connection> connection_from_kubeconfig(const Kubeconfig& kubeconfig,
                                              const std::string& context_name) {
    const std::string files = kubeconfig.files.empty()
                                  ? std::string("(none)")
                                  : fmt::format("{}", fmt::join(kubeconfig.files, ":"));
    auto fail = [&](const std::string& what) {
        return make_error(Errc::config, fmt::format("kubeconfig {}: {}", files, what));
    };
    std::string name = context_name;
    if (name.empty()) {
        name = kubeconfig.current_context;
        if (name.empty()) {
            if (kubeconfig.files.empty()) {
                return make_error(
                    Errc::config,
                    fmt::format("no kubeconfig found (looked at {}); set $KUBECONFIG, create "
                                "~/.kube/config, or give the context kubernetes.server",
                                fmt::join(default_kubeconfig_paths(), ":")));
            }
            return fail("no current-context; pass --context NAME or set kube-context in the oncall "
                        "configuration");
        }
    }
    const auto ctx = kubeconfig.contexts.find(name);
    if (ctx == kubeconfig.contexts.end()) {
        std::string known;
        for (const auto& [n, c] : kubeconfig.contexts) {
            known += known.empty() ? n : ", " + n;
        }
        return fail(fmt::format("context '{}' was not found (known: {})", name,
                                known.empty() ? "none" : known));
    }
    const KubeconfigContext& context = ctx->second;
    if (context.cluster.empty()) {
        return fail(fmt::format("cluster was not specified for context '{}'", name));
    }
    const auto cl = kubeconfig.clusters.find(context.cluster);
    if (cl == kubeconfig.clusters.end()) {
        return fail(
            fmt::format("cluster '{}' was not found for context '{}'", context.cluster, name));
    }
    const KubeconfigCluster& cluster = cl->second;
    Connection c;
    c.kube_context = name;
    c.origin = fmt::format("kubeconfig {} context {}", files, name);
    c.server = cluster.server;
    strip_trailing_slashes(c.server);
    if (c.server.empty()) {
        return fail(fmt::format("no server found for cluster '{}'", context.cluster));
    }
    c.namespace_name = context.namespace_name;
    c.insecure_skip_tls_verify = cluster.insecure_skip_tls_verify;
    c.tls_server_name = cluster.tls_server_name;
    c.proxy_url = cluster.proxy_url;
    c.exec_cluster_json = cluster.exec_extension_json;
    if (!cluster.certificate_authority.empty() && !cluster.certificate_authority_data.empty()) {
        return fail(fmt::format(
            "certificate-authority-data and certificate-authority are both specified for "
            "cluster '{}'; keep one",
            context.cluster));
    }
    if (!cluster.certificate_authority_data.empty()) {
        c.ca_pem = cluster.certificate_authority_data;
    } else if (!cluster.certificate_authority.empty()) {
        if (!file_readable(cluster.certificate_authority)) {
            return fail(fmt::format("unable to read certificate-authority {} for cluster '{}'",
                                    cluster.certificate_authority, context.cluster));
        }
        c.ca_file = cluster.certificate_authority;
    }
    if (context.user.empty()) {
        return c; // anonymous, as kubectl allows it to run
    }
    const auto us = kubeconfig.users.find(context.user);
    if (us == kubeconfig.users.end()) {
        return fail(fmt::format("user '{}' was not found for context '{}'", context.user, name));
    }
    const KubeconfigUser& user = us->second;
    if (user.auth_provider) {
        return fail(fmt::format("user '{}' uses auth-provider '{}', which kubectl and oncall no "
                                "longer support; switch the user to an "
                                "exec plugin, e.g. kubelogin's: 'kubelogin convert-kubeconfig -l "
                                "azurecli' (AKS) or exec: {{apiVersion: "
                                "client.authentication.k8s.io/v1beta1, command: kubectl, args: "
                                "[oidc-login, get-token, ...]}} (OIDC)",
                                context.user, *user.auth_provider));
    }
    if (!user.username.empty() || !user.password.empty()) {
        return fail(fmt::format(
            "user '{}' uses basic authentication (username/password), which Kubernetes removed; "
            "use a token, a client certificate or an exec plugin",
            context.user));
    }
    const bool has_cert = !user.client_certificate.empty() || !user.client_certificate_data.empty();
    if (has_cert) {
        if (!user.client_certificate.empty() && !user.client_certificate_data.empty()) {
            return fail(fmt::format(
                "client-certificate-data and client-certificate are both specified for user "
                "'{}'; keep one",
                context.user));
        }
        if (!user.client_key.empty() && !user.client_key_data.empty()) {
            return fail(fmt::format(
                "client-key-data and client-key are both specified for user '{}'; keep one",
                context.user));
        }
        if (user.client_key.empty() && user.client_key_data.empty()) {
            return fail(fmt::format(
                "user '{}' has a client certificate but no client-key or client-key-data",
                context.user));
        }
        for (const auto& [path, what] : {std::pair{user.client_certificate, "client-certificate"},
                                         std::pair{user.client_key, "client-key"}}) {
            if (!path.empty() && !file_readable(path)) {
                return fail(
                    fmt::format("unable to read {} {} for user '{}'", what, path, context.user));
            }
        }
        c.client_cert_file = user.client_certificate;
        c.client_cert_pem = user.client_certificate_data;
        c.client_key_file = user.client_key;
        c.client_key_pem = user.client_key_data;
    }
    if (!user.token.empty()) {
        c.token = user.token;
    }
    if (!user.token_file.empty()) {
        // As client-go: the file is read and its (trimmed) content used, even when token is also
        // set.
        auto t = read_file(user.token_file, "tokenFile");
        if (!t) {
            return fail(fmt::format("unable to read tokenFile {} for user '{}'", user.token_file,
                                    context.user));
        }
        c.token = trim(*t);
    }
    if (user.exec) {
        const ExecConfig& e = *user.exec;
        if (e.command.empty()) {
            return fail(fmt::format("command must be specified for user '{}' to use an exec plugin",
                                    context.user));
        }
        if (e.api_version != "client.authentication.k8s.io/v1" &&
            e.api_version != "client.authentication.k8s.io/v1beta1") {
            return fail(fmt::format("user '{}': exec plugin apiVersion '{}' is not supported; use "
                                    "client.authentication.k8s.io/v1 or v1beta1",
                                    context.user, e.api_version));
        }
        if (e.interactive_mode.empty()) {
            return fail(
                fmt::format("interactiveMode must be specified for user '{}' to use an exec plugin "
                            "(Never, IfAvailable or Always)",
                            context.user));
        }
        if (e.interactive_mode != "Never" && e.interactive_mode != "IfAvailable" &&
            e.interactive_mode != "Always") {
            return fail(fmt::format("invalid interactiveMode for user '{}': '{}'", context.user,
                                    e.interactive_mode));
        }
        for (const auto& [n, v] : e.env) {
            if (n.empty()) {
                return fail(fmt::format(
                    "env variable name must be specified for user '{}' to use an exec plugin",
                    context.user));
            }
        }
        c.exec = e;
    }
    return c;
}

Result<Connection> parse_kubeconfig(const std::string& text, const std::string& path,
                                    const std::string& context_name) {
    auto file = parse_kubeconfig_file(text, path);
    if (!file) {
        return file.error();
    }
    auto c = connection_from_kubeconfig(*file, context_name);
    if (c && c->namespace_name.empty()) {
        c->namespace_name = "default";
    }
    return c;
}

Result<Connection> resolve_connection_settings(const config::KubernetesConfig& settings) {
    Connection c;
    if (!settings.server.empty()) {
        c.server = settings.server;
        strip_trailing_slashes(c.server);
        c.origin = fmt::format("server {}", c.server);
    } else {
        auto kubeconfig = load_kubeconfig(settings.kubeconfigs);
        if (!kubeconfig) {
            return kubeconfig.error();
        }
        auto resolved = connection_from_kubeconfig(*kubeconfig, settings.kube_context);
        if (!resolved) {
            return resolved.error();
        }
        c = std::move(*resolved);
    }
    if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0) {
        return make_error(Errc::config,
                          fmt::format("kubernetes server '{}' is not an http(s) URL", c.server));
    }
    // The context's own keys apply on top, as kubectl's flags do on top of its kubeconfig.
    if (!settings.namespace_name.empty()) {
        c.namespace_name = settings.namespace_name;
    }
    if (c.namespace_name.empty()) {
        c.namespace_name = "default";
    }
    if (!settings.auth.empty()) {
        auto token = config::resolve_token(settings.auth);
        if (!token) {
            return token.error();
        }
        c.token = *token;
    }
    if (!settings.ca_file.empty()) {
        c.ca_file = expand_home(settings.ca_file);
        c.ca_pem.clear();
    }
    if (!settings.cert_file.empty()) {
        c.client_cert_file = expand_home(settings.cert_file);
        c.client_cert_pem.clear();
        c.client_key_file = expand_home(settings.key_file);
        c.client_key_pem.clear();
    }
    if (settings.insecure_skip_tls_verify) {
        c.insecure_skip_tls_verify = true;
        c.ca_file.clear(); // as kubectl's --insecure-skip-tls-verify, which drops the CA
        c.ca_pem.clear();
    }
    if (!settings.tls_server_name.empty()) {
        c.tls_server_name = settings.tls_server_name;
    }
    if (!settings.proxy_url.empty()) {
        c.proxy_url = settings.proxy_url;
    }
    if (!c.proxy_url.empty() && c.proxy_url.rfind("http://", 0) != 0 &&
        c.proxy_url.rfind("https://", 0) != 0 && c.proxy_url.rfind("socks5://", 0) != 0) {
        return make_error(
            Errc::config,
            fmt::format("{}: proxy-url must be an http://, https:// or socks5:// URL", c.origin));
    }
    // A token or a client certificate of its own wins over the plugin, as in client-go.
    if (c.exec && (!c.token.empty() || !c.client_cert_file.empty() || !c.client_cert_pem.empty())) {
        c.exec.reset();
    }
    return c;
}

void complete_context(config::Context& context) {
    auto& k = context.kubernetes;
    if (!k.namespace_name.empty() && !(context.implicit && context.name.empty())) {
        return;
    }
    auto c = resolve_connection_settings(k);
    if (k.namespace_name.empty()) {
        k.namespace_name = c ? c->namespace_name : "default";
    }
    if (context.implicit && context.name.empty()) {
        context.name = c && !c->kube_context.empty() ? c->kube_context : "kubeconfig";
    }
}

Result<Connection> resolve_connection(const config::KubernetesConfig& settings,
                                      const ResolveOptions& options) {
    auto c = resolve_connection_settings(settings);
    if (!c || !c->exec) {
        return c;
    }
    auto credential = exec_credential(
        *c, ExecRun{options.allow_interactive, false, options.log, options.exec_deadline});
    if (!credential) {
        return credential.error();
    }
    apply_exec_credential(*c, *credential);
    return c;
}

} // namespace oncall::kube
