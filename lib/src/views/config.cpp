#include "oncall/views/config.h"

#include "oncall/render/table.h"

#include <fmt/format.h>
#include <utility>

namespace oncall::views {
namespace {

using nlohmann::json;

json endpoint_json(const config::Endpoint& e) {
    json urls = json::array();
    for (const auto& url : e.urls) {
        urls.push_back(config::redact_value(url));
    }
    json j = {{"urls", urls}};
    if (e.kube_service.configured()) {
        j["kube-service"] = e.kube_service.text();
    }
    if (!e.auth.empty()) {
        j["auth"] = e.auth.token_env.empty()
                        ? (e.auth.token_file.empty() ? "<redacted>" : "file:" + e.auth.token_file)
                        : "env:" + e.auth.token_env;
    }
    if (e.basic_auth.configured()) {
        j["basic-auth"] = {{"username", e.basic_auth.username},
                           {"password", e.basic_auth.password_env.empty()
                                            ? "file:" + e.basic_auth.password_file
                                            : "env:" + e.basic_auth.password_env}};
    }
    if (!e.headers.empty()) {
        json headers = json::object();
        for (const auto& [name, value] : e.headers) {
            headers[name] = value;
        }
        j["headers"] = headers;
    }
    if (!e.cert_file.empty()) {
        j["cert-file"] = e.cert_file;
        j["key-file"] = e.key_file;
    }
    return j;
}

std::string auth_kind(const kube::Connection& c) {
    if (!c.token.empty()) {
        return "token";
    }
    if (c.exec) {
        return "exec " + c.exec->command;
    }
    if (!c.client_cert_file.empty() || !c.client_cert_pem.empty()) {
        return "client certificate";
    }
    return "none";
}

} // namespace

json context_json(const config::Context& context, const KubeResolver& resolve) {
    const auto& k = context.kubernetes;
    json kube = {{"server", config::redact_value(k.server)}, {"namespace", k.namespace_name}};
    if (!k.auth.token.empty()) {
        kube["token"] = "<redacted>";
    }
    if (!k.auth.token_env.empty()) {
        kube["token-env"] = k.auth.token_env;
    }
    if (!k.auth.token_file.empty()) {
        kube["token-file"] = k.auth.token_file;
    }
    if (!k.kubeconfigs.empty()) {
        kube["kubeconfig"] = k.kubeconfigs;
    }
    for (const auto& [key, value] :
         {std::pair{"kube-context", &k.kube_context}, std::pair{"ca-file", &k.ca_file},
          std::pair{"cert-file", &k.cert_file}, std::pair{"key-file", &k.key_file},
          std::pair{"tls-server-name", &k.tls_server_name}, std::pair{"proxy-url", &k.proxy_url}}) {
        if (!value->empty()) {
            kube[key] = *value;
        }
    }
    if (k.insecure_skip_tls_verify) {
        kube["insecure-skip-tls-verify"] = true;
    }
    if (k.server.empty() && resolve) {
        if (auto c = resolve(k)) {
            kube["resolved"] = {{"server", config::redact_value(c->server)},
                                {"kube-context", c->kube_context},
                                {"origin", c->origin},
                                {"auth", auth_kind(*c)}};
        } else {
            kube["resolved"] = {{"error", c.error().message}};
        }
    }
    json roles = json::object();
    for (const auto& [name, role] : context.access.roles) {
        roles[name] = {{"service-account", role.service_account},
                       {"max_seconds", role.max.count()}};
    }
    return {{"implicit", context.implicit},
            {"kubernetes", kube},
            {"prometheus", endpoint_json(context.prometheus)},
            {"alertmanager", endpoint_json(context.alertmanager)},
            {"registry", endpoint_json(context.registry)},
            {"access", {{"require-grant", context.access.require_grant}, {"roles", roles}}}};
}

json config_view_json(const config::Config& config, const KubeResolver& resolve) {
    json contexts = json::object();
    for (const auto& [name, c] : config.contexts) {
        contexts[name] = context_json(c, resolve);
    }
    json services = json::array();
    for (const auto& [name, s] : config.services) {
        services.push_back(name);
    }
    return {{"path", config.path},
            {"current-context", config.current_context},
            {"contexts", contexts},
            {"services", services}};
}

json implicit_config_view_json(const config::Context& context, const KubeResolver& resolve) {
    return {{"path", nullptr},
            {"current-context", context.name},
            {"contexts", {{context.name, context_json(context, resolve)}}},
            {"services", json::array()}};
}

std::string implicit_config_view_text(const config::Context& context, const KubeResolver& resolve) {
    return fmt::format("# no configuration file: one implicit context from the kubeconfig, "
                       "Prometheus from $ONCALL_PROMETHEUS_URL, Alertmanager from "
                       "$ONCALL_ALERTMANAGER_URL\n{}\n",
                       implicit_config_view_json(context, resolve).dump(2));
}

std::string config_file_text(const std::string& path, const std::string& redacted_yaml) {
    return fmt::format("# {}\n{}", path, redacted_yaml);
}

std::string contexts_text(const config::Config& config, const std::string& current,
                          const TextOptions& options) {
    render::Table table;
    table.column("CURRENT").column("NAME").column("SERVER").column("NAMESPACE", render::Align::left,
                                                                   true);
    for (const auto& [name, c] : config.contexts) {
        table.row({name == current ? "*" : "", name, config::redact_value(c.kubernetes.server),
                   c.kubernetes.namespace_name});
    }
    return table.render(options.style.width);
}

json contexts_json(const config::Config& config, const std::string& current) {
    json items = json::array();
    for (const auto& [name, c] : config.contexts) {
        items.push_back({{"name", name},
                         {"current", name == current},
                         {"server", config::redact_value(c.kubernetes.server)},
                         {"namespace", c.kubernetes.namespace_name}});
    }
    return {{"contexts", items}};
}

std::string switched_context_text(const std::string& name) {
    return fmt::format("Switched to context \"{}\".\n", name);
}

json switched_context_json(const std::string& name) {
    return {{"current-context", name}};
}

std::string version_text(const std::string& version, const std::string& commit,
                         const std::string& libcurl) {
    return fmt::format("oncall {} (commit {}, libcurl {})\n", version, commit, libcurl);
}

json version_json(const std::string& version, const std::string& commit,
                  const std::string& libcurl) {
    return {{"version", version}, {"commit", commit}, {"libcurl", libcurl}};
}

} // namespace oncall::views
