// oncall config view | get-contexts | use-context NAME

#include "cli_model.h"
#include "commands.h"
#include "oncall/render/output.h"
#include "oncall/render/table.h"

#include <fmt/format.h>

namespace oncall::app {
namespace {

nlohmann::json endpoint_json(const config::Endpoint& e) {
    nlohmann::json j = {{"urls", e.urls}};
    if (e.kube_service.configured()) {
        j["kube-service"] = e.kube_service.text();
    }
    if (!e.auth.empty()) {
        j["auth"] = e.auth.token_env.empty() ? (e.auth.token_file.empty() ? "<redacted>"
                                                                           : "file:" + e.auth.token_file)
                                             : "env:" + e.auth.token_env;
    }
    if (e.basic_auth.configured()) {
        j["basic-auth"] = {{"username", e.basic_auth.username},
                           {"password", e.basic_auth.password_env.empty() ? "file:" + e.basic_auth.password_file
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
    nlohmann::json kube = {{"server", k.server}, {"namespace", k.namespace_name}};
    if (!k.auth.token.empty()) {
        kube["token"] = "<redacted>";
    }
    if (!k.auth.token_env.empty()) {
        kube["token-env"] = k.auth.token_env;
    }
    if (!k.auth.token_file.empty()) {
        kube["token-file"] = k.auth.token_file;
    }
    if (!k.kubeconfig.empty()) {
        kube["kubeconfig"] = k.kubeconfig;
    }
    nlohmann::json roles = nlohmann::json::object();
    for (const auto& [name, role] : c.access.roles) {
        roles[name] = {{"service-account", role.service_account}, {"max_seconds", role.max.count()}};
    }
    return {{"kubernetes", kube},
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

    auto* list = cmd->add_subcommand("get-contexts", "List the contexts; the current one is marked");
    list->callback([&ctx] {
        const auto& cfg = ctx.config();
        const std::string current = ctx.context().name;
        if (ctx.json()) {
            nlohmann::json items = nlohmann::json::array();
            for (const auto& [name, c] : cfg.contexts) {
                items.push_back({{"name", name},
                                 {"current", name == current},
                                 {"server", c.kubernetes.server},
                                 {"namespace", c.kubernetes.namespace_name}});
            }
            render::print_json({{"contexts", items}});
            return;
        }
        render::Table table;
        table.column("CURRENT").column("NAME").column("SERVER").column("NAMESPACE", render::Align::left, true);
        for (const auto& [name, c] : cfg.contexts) {
            table.row({name == current ? "*" : "", name, c.kubernetes.server, c.kubernetes.namespace_name});
        }
        fmt::print("{}", table.render(ctx.style().width));
    });

    auto* use = cmd->add_subcommand("use-context", "Make NAME the current context (edits the file in place)");
    auto name = std::make_shared<std::string>();
    takes(use->add_option("NAME", *name, "Context name")->required(), cli::ValueKind::context);
    use->callback([&ctx, name] {
        const auto& cfg = ctx.config();
        if (cfg.contexts.find(*name) == cfg.contexts.end()) {
            std::string known;
            for (const auto& [n, c] : cfg.contexts) {
                known += known.empty() ? n : ", " + n;
            }
            fail(make_error(Errc::config, fmt::format("no context '{}' in {} (known: {})", *name, cfg.path, known)));
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
