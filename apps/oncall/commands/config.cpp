// oncall config view | get-contexts | use-context NAME

#include "cli_model.h"
#include "commands.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/render/output.h"
#include "oncall/render/table.h"

#include <fmt/format.h>

namespace oncall::app {
namespace {

nlohmann::json endpoint_json(const config::Endpoint& e) {
    nlohmann::json urls = nlohmann::json::array();
    for (const auto& url : e.urls) {
        urls.push_back(config::redact_value(url));
    }
    nlohmann::json j = {{"urls", urls}};
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
        nlohmann::json headers = nlohmann::json::object();
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

nlohmann::json context_json(const config::Context& c) {
    const auto& k = c.kubernetes;
    nlohmann::json kube = {{"server", config::redact_value(k.server)},
                           {"namespace", k.namespace_name}};
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
    if (k.server.empty()) {
        // What the kubeconfig resolves to (no plugin is run, no secret shown).
        auto c = kube::resolve_connection_settings(k);
        if (c) {
            kube["resolved"] = {
                {"server", c->server},
                {"kube-context", c->kube_context},
                {"origin", c->origin},
                {"auth", !c->token.empty() ? "token"
                         : c->exec         ? "exec " + c->exec->command
                         : !c->client_cert_file.empty() || !c->client_cert_pem.empty()
                             ? "client certificate"
                             : "none"}};
        } else {
            kube["resolved"] = {{"error", c.error().message}};
        }
    }
    nlohmann::json roles = nlohmann::json::object();
    for (const auto& [name, role] : c.access.roles) {
        roles[name] = {{"service-account", role.service_account},
                       {"max_seconds", role.max.count()}};
    }
    return {{"implicit", c.implicit},
            {"kubernetes", kube},
            {"prometheus", endpoint_json(c.prometheus)},
            {"alertmanager", endpoint_json(c.alertmanager)},
            {"registry", endpoint_json(c.registry)},
            {"access", {{"require-grant", c.access.require_grant}, {"roles", roles}}}};
}

} // namespace

void register_config(CLI::App& app, AppContext& ctx) {
    auto* cmd = app.add_subcommand("config", "Show the configuration and switch contexts");
    cmd->require_subcommand(1);

    auto* view = cmd->add_subcommand("view", "Print the configuration with secrets redacted");
    view->callback([&ctx] {
        const auto& cfg = ctx.config();
        if (cfg.path.empty()) {
            // No file: show the implicit context made from the kubeconfig and the environment.
            const auto& c = ctx.context();
            const nlohmann::json view = {{"path", nullptr},
                                         {"current-context", c.name},
                                         {"contexts", {{c.name, context_json(c)}}},
                                         {"services", nlohmann::json::array()}};
            if (ctx.json()) {
                render::print_json(view);
            } else {
                fmt::print(
                    "# no configuration file: one implicit context from the kubeconfig, Prometheus "
                    "from "
                    "$ONCALL_PROMETHEUS_URL, Alertmanager from $ONCALL_ALERTMANAGER_URL\n{}\n",
                    view.dump(2));
            }
            return;
        }
        if (ctx.json()) {
            nlohmann::json contexts = nlohmann::json::object();
            for (const auto& [name, c] : cfg.contexts) {
                contexts[name] = context_json(c);
            }
            nlohmann::json services = nlohmann::json::array();
            for (const auto& [name, s] : cfg.services) {
                services.push_back(name);
            }
            render::print_json({{"path", cfg.path},
                                {"current-context", cfg.current_context},
                                {"contexts", contexts},
                                {"services", services}});
            return;
        }
        fmt::print("# {}\n{}", cfg.path, unwrap(config::redacted_yaml(cfg.path)));
    });

    auto* list =
        cmd->add_subcommand("get-contexts", "List the contexts; the current one is marked");
    list->callback([&ctx] {
        const auto& cfg = ctx.config();
        const std::string current = ctx.context().name;
        if (ctx.json()) {
            nlohmann::json items = nlohmann::json::array();
            for (const auto& [name, c] : cfg.contexts) {
                items.push_back({{"name", name},
                                 {"current", name == current},
                                 {"server", config::redact_value(c.kubernetes.server)},
                                 {"namespace", c.kubernetes.namespace_name}});
            }
            render::print_json({{"contexts", items}});
            return;
        }
        render::Table table;
        table.column("CURRENT").column("NAME").column("SERVER").column("NAMESPACE",
                                                                       render::Align::left, true);
        for (const auto& [name, c] : cfg.contexts) {
            table.row({name == current ? "*" : "", name, config::redact_value(c.kubernetes.server),
                       c.kubernetes.namespace_name});
        }
        fmt::print("{}", table.render(ctx.style().width));
    });

    auto* use = cmd->add_subcommand("use-context",
                                    "Make NAME the current context (edits the file in place)");
    auto name = std::make_shared<std::string>();
    takes(use->add_option("NAME", *name, "Context name")->required(), cli::ValueKind::context);
    use->callback([&ctx, name] {
        const auto& cfg = ctx.config();
        if (cfg.path.empty()) {
            fail(make_error(
                Errc::config,
                fmt::format("there is no oncall configuration file to edit; the implicit "
                            "context follows the kubeconfig: run 'kubectl config "
                            "use-context {}', or pass --context {}",
                            *name, *name)));
        }
        if (cfg.contexts.find(*name) == cfg.contexts.end()) {
            std::string known;
            for (const auto& [n, c] : cfg.contexts) {
                known += known.empty() ? n : ", " + n;
            }
            fail(make_error(Errc::config, fmt::format("no context '{}' in {} (known: {})", *name,
                                                      cfg.path, known)));
        }
        unwrap(config::set_current_context(cfg.path, *name));
        if (!ctx.options.quiet && !ctx.json()) {
            fmt::print("Switched to context \"{}\".\n", *name);
        }
        if (ctx.json()) {
            render::print_json({{"current-context", *name}});
        }
    });
}

} // namespace oncall::app
