// oncall config view | get-contexts | use-context NAME

#include "oncall/views/config.h"

#include "cli_model.h"
#include "commands.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/render/output.h"

#include <fmt/format.h>

namespace oncall::app {

void register_config(CLI::App& app, AppContext& ctx) {
    auto* cmd = app.add_subcommand("config", "Show the configuration and switch contexts");
    cmd->require_subcommand(1);

    auto* view = cmd->add_subcommand("view", "Print the configuration with secrets redacted");
    view->callback([&ctx] {
        const auto& cfg = ctx.config();
        const views::KubeResolver resolve = kube::resolve_connection_settings;
        if (cfg.path.empty()) {
            // No file: the implicit context made from the kubeconfig and the environment.
            if (ctx.json()) {
                render::print_json(views::implicit_config_view_json(ctx.context(), resolve));
            } else {
                fmt::print("{}", views::implicit_config_view_text(ctx.context(), resolve));
            }
            return;
        }
        if (ctx.json()) {
            render::print_json(views::config_view_json(cfg, resolve));
            return;
        }
        fmt::print("{}",
                   views::config_file_text(cfg.path, unwrap(config::redacted_yaml(cfg.path))));
    });

    auto* list =
        cmd->add_subcommand("get-contexts", "List the contexts; the current one is marked");
    list->callback([&ctx] {
        const std::string current = ctx.context().name;
        if (ctx.json()) {
            render::print_json(views::contexts_json(ctx.config(), current));
        } else {
            fmt::print("{}", views::contexts_text(ctx.config(), current, ctx.text_options()));
        }
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
        if (ctx.json()) {
            render::print_json(views::switched_context_json(*name));
        } else if (!ctx.options.quiet) {
            fmt::print("{}", views::switched_context_text(*name));
        }
    });
}

} // namespace oncall::app
