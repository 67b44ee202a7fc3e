// oncall: entry point. Parses flags, runs one subcommand, maps its outcome to an exit code.

#include "app_context.h"
#include "commands/commands.h"
#include "oncall/core/exit_code.h"
#include "oncall/core/version.h"
#include "oncall/http/client.h"
#include "oncall/render/sanitize.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <fmt/format.h>

namespace {

// Edit distance, for "did you mean" suggestions.
std::size_t distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        prev[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            cur[j] = std::min(
                {prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

// "config view" for the view subcommand of config ("" for the top level).
std::string command_path(const CLI::App* app) {
    std::string path;
    for (const CLI::App* a = app; a != nullptr && a->get_parent() != nullptr; a = a->get_parent()) {
        path = path.empty() ? a->get_name() : a->get_name() + " " + path;
    }
    return path;
}

// Names the first argument the parser could not place: an unknown flag, or an unknown command with
// the closest known one. Empty when every word is known.
std::string explain_unknown(const CLI::App& app, const std::vector<std::string>& args) {
    const CLI::App* current = &app;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& arg = args[i];
        if (arg == "--") {
            break;
        }
        if (!arg.empty() && arg[0] == '-') {
            const auto name = arg.substr(0, arg.find('='));
            const CLI::Option* opt = nullptr;
            for (const CLI::App* a = current; a != nullptr && opt == nullptr; a = a->get_parent()) {
                try {
                    opt = a->get_option_no_throw(name);
                } catch (...) {
                    opt = nullptr;
                }
            }
            if (opt == nullptr && name != "-h" && name != "--help") {
                const auto path = command_path(current);
                return fmt::format("unknown flag '{}' for 'oncall{}'; see 'oncall {}--help'", name,
                                   path.empty() ? "" : " " + path, path.empty() ? "" : path + " ");
            }
            if (opt != nullptr && opt->get_type_size() > 0 && arg.find('=') == std::string::npos) {
                ++i; // skip the flag's value
            }
            continue;
        }
        const CLI::App* sub = nullptr;
        for (const auto* candidate :
             current->get_subcommands([](const CLI::App*) { return true; })) {
            if (candidate->get_name() == arg) {
                sub = candidate;
            }
        }
        if (sub != nullptr && !sub->get_group().empty()) {
            current = sub;
            continue;
        }
        if (current->get_subcommands([](const CLI::App*) { return true; }).empty()) {
            return {}; // a positional argument
        }
        std::string best;
        std::size_t best_d = 4;
        for (const auto* candidate :
             current->get_subcommands([](const CLI::App*) { return true; })) {
            const auto d = distance(arg, candidate->get_name());
            if (d < best_d && !candidate->get_group().empty()) {
                best_d = d;
                best = candidate->get_name();
            }
        }
        return fmt::format("unknown command '{}'{}", arg,
                           best.empty() ? "; see 'oncall --help'"
                                        : fmt::format("; did you mean '{}'?", best));
    }
    return {};
}

} // namespace

int main(int argc, char** argv) {
    using namespace oncall;
    // libcurl is initialised by the first request (lib/src/http), not here: commands that make
    // none start faster.
    app::AppContext ctx;
    CLI::App cli{"oncall: what is broken, since when, what changed, and what to type next.\n"
                 "Fixes only by replacing artifacts; access only by expiring, logged grants.",
                 "oncall"};
    cli.set_version_flag("--version", fmt::format("oncall {}", version()));
    cli.require_subcommand(1);
    cli.fallthrough();
    cli.option_defaults()->always_capture_default(false);

    auto& o = ctx.options;
    cli.add_option("--config", o.config_path,
                   "Configuration file (default: $ONCALL_CONFIG, then "
                   "$XDG_CONFIG_HOME/oncall/config.yaml)");
    cli.add_option("--context", o.context,
                   "Context to use (default: $ONCALL_CONTEXT, then current-context)");
    cli.add_option("-o,--output", o.output, "Output format")
        ->check(CLI::IsMember({"text", "json"}));
    cli.add_flag("--no-color", o.no_color, "Never colour the output (also: NO_COLOR)");
    cli.add_flag("-v,--verbose", o.verbose, "Print diagnostics to stderr (credentials redacted)");
    cli.add_flag("-q,--quiet", o.quiet, "Print only results and errors");

    app::register_all(cli, ctx);
    // The HTTP layer's warnings (a credential over http:// off loopback) honour -q.
    http::set_warning_sink([&ctx](std::string_view line) { ctx.warn(line); });

    std::vector<std::string> args(argv + 1, argv + argc);
    try {
        try {
            cli.parse(argc, argv);
        } catch (const CLI::CallForHelp& e) {
            return cli.exit(e);
        } catch (const CLI::CallForAllHelp& e) {
            return cli.exit(e);
        } catch (const CLI::CallForVersion& e) {
            return cli.exit(e);
        } catch (const CLI::ParseError& e) {
            std::string message = explain_unknown(cli, args);
            if (message.empty()) {
                message = fmt::format("{}; see 'oncall --help'", e.what());
            }
            fmt::print(stderr, "oncall: error: {}\n", render::sanitize(message));
            return static_cast<int>(ExitCode::usage);
        }
    } catch (const app::CommandError& e) {
        const auto code = exit_code_for(e.error);
        // Error texts quote servers: escaped like any other untrusted text.
        fmt::print(stderr, "oncall: error: {}\n", render::sanitize(e.error.message));
        return static_cast<int>(code);
    } catch (const std::exception& e) {
        fmt::print(stderr, "oncall: internal error: {}\n", render::sanitize(e.what()));
        return static_cast<int>(ExitCode::failure);
    }
    return static_cast<int>(ctx.exit_code);
}
