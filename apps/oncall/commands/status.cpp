// oncall status SERVICE [--watch]

#include "oncall/views/status.h"

#include "commands.h"
#include "deploy_flow.h"
#include "oncall/core/duration.h"
#include "oncall/ops/rollout.h"
#include "oncall/render/output.h"
#include "oncall/render/progress.h"

#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace oncall::app {
namespace {

void print_status(AppContext& ctx, const config::Service& service, const ops::RolloutStatus& s) {
    if (ctx.json()) {
        render::print_json(views::status_json(service, s));
    } else {
        fmt::print("{}", views::status_text(service, s, ctx.text_options()));
    }
}

} // namespace

void register_status(CLI::App& app, AppContext& ctx) {
    auto* cmd = app.add_subcommand(
        "status", "Rollout state of a service, as kubectl rollout status judges it, "
                  "plus pod problems");
    cmd->group("Looking");
    auto service_name = std::make_shared<std::string>();
    auto watch = std::make_shared<bool>(false);
    auto timeout = std::make_shared<std::string>("1h");
    cmd->add_option("SERVICE", *service_name, "Service")->required();
    cmd->add_flag("-w,--watch", *watch,
                  "Follow the rollout (watch) until it is done, failed or interrupted");
    cmd->add_option("--timeout", *timeout, "With --watch: give up after this long (default 1h)");
    cmd->callback([&ctx, service_name, watch, timeout] {
        const auto service = ctx.service(*service_name);
        const auto client = make_kube_client(ctx);
        if (!*watch) {
            const auto s = unwrap(
                ops::read_rollout_status(client, service.namespace_name, service.deployment));
            print_status(ctx, service, s);
            // complete and progressing: 0; failed: 7; paused: 5 (DESIGN.md, "One judgement").
            if (s.state == ops::RolloutState::failed) {
                ctx.exit_code = ExitCode::rollout_failed;
            } else if (s.state == ops::RolloutState::paused) {
                ctx.exit_code = ExitCode::conflict;
            }
            return;
        }
        const auto limit = parse_flag_duration("--timeout", *timeout);
        std::optional<render::Progress> progress;
        if (!ctx.options.quiet) {
            progress.emplace(ctx.json() ? std::cerr : std::cout,
                             ::isatty(ctx.json() ? STDERR_FILENO : STDOUT_FILENO) == 1);
        }
        ops::WaitOptions options;
        options.timeout = limit;
        options.on_update = [&](const ops::RolloutStatus& s) {
            if (progress) {
                progress->update(views::status_progress_line(service, s));
            }
        };
        const auto w = unwrap(
            ops::wait_for_rollout(client, service.namespace_name, service.deployment, options));
        if (progress) {
            progress->finish(views::status_wait_line(service, w));
        }
        print_status(ctx, service, w.status);
        switch (w.end) {
        case ops::WaitEnd::complete:
            break;
        case ops::WaitEnd::failed:
            fail(make_error(Errc::rollout_failed,
                            fmt::format("the rollout of {} failed: {}", service.name, w.reason)));
        case ops::WaitEnd::paused:
            fail(make_error(Errc::conflict,
                            fmt::format("deployment {} is paused", service.deployment)));
        case ops::WaitEnd::timed_out:
            fail(make_error(Errc::wait_timeout,
                            fmt::format("the rollout of {} was not done after {}", service.name,
                                        format_duration(w.elapsed))));
        }
    });
}

} // namespace oncall::app
