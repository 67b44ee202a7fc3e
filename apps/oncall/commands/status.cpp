// oncall status SERVICE [--watch]

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

nlohmann::json status_json(const config::Service& service, const ops::RolloutStatus& s) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& p : s.problems) {
        problems.push_back({{"pod", p.pod},
                            {"container", p.container},
                            {"reason", p.reason},
                            {"message", p.message},
                            {"restarts", p.restarts},
                            {"new_revision", p.in_new_replicaset},
                            {"fatal", p.fatal()}});
    }
    return {{"service", service.name},
            {"namespace", service.namespace_name},
            {"deployment", service.deployment},
            {"revision", s.revision},
            {"state", ops::rollout_state_name(s.state)},
            {"desired", s.desired},
            {"updated", s.updated},
            {"ready", s.ready},
            {"available", s.available},
            {"message", s.message},
            {"reason", s.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.reason)},
            {"problems", problems}};
}

void print_status(AppContext& ctx, const config::Service& service, const ops::RolloutStatus& s) {
    const auto& style = ctx.style();
    const auto color = s.state == ops::RolloutState::complete ? render::Color::green
                       : s.state == ops::RolloutState::failed ? render::Color::red
                                                               : render::Color::yellow;
    fmt::print("{}: revision {}, {}\n", service.name, s.revision,
               render::paint(ops::rollout_state_name(s.state), color, style));
    fmt::print("  {}\n", s.message);
    if (s.state == ops::RolloutState::failed && !s.reason.empty() && s.message.find(s.reason) == std::string::npos) {
        fmt::print("  reason: {}\n", s.reason);
    }
    fmt::print("  replicas: {} desired, {} updated, {} ready, {} available\n", s.desired, s.updated, s.ready,
               s.available);
    if (!s.problems.empty()) {
        fmt::print("  problems:\n");
        for (const auto& p : s.problems) {
            fmt::print("    {} {}: {}{}{}{}\n", p.pod, p.container, render::paint(p.reason, render::Color::red, style),
                       p.restarts > 0 ? fmt::format(" ({} restarts)", p.restarts) : std::string(),
                       p.in_new_replicaset ? " [new revision]" : " [old revision]",
                       p.message.empty() ? std::string() : " " + p.message);
        }
    }
}

} // namespace

void register_status(CLI::App& app, AppContext& ctx) {
    auto* cmd = app.add_subcommand("status", "Rollout state of a service, as kubectl rollout status judges it, "
                                             "plus pod problems");
    cmd->group("Looking");
    auto service_name = std::make_shared<std::string>();
    auto watch = std::make_shared<bool>(false);
    auto timeout = std::make_shared<std::string>("1h");
    cmd->add_option("SERVICE", *service_name, "Service")->required();
    cmd->add_flag("-w,--watch", *watch, "Follow the rollout (watch) until it is done, failed or interrupted");
    cmd->add_option("--timeout", *timeout, "With --watch: give up after this long (default 1h)");
    cmd->callback([&ctx, service_name, watch, timeout] {
        const auto service = ctx.service(*service_name);
        const auto client = make_kube_client(ctx);
        if (!*watch) {
            const auto s = unwrap(ops::read_rollout_status(client, service.namespace_name, service.deployment));
            if (ctx.json()) {
                render::print_json(status_json(service, s));
            } else {
                print_status(ctx, service, s);
            }
            // complete and progressing: 0; failed: 7; paused: 5 (DESIGN.md, "One judgement").
            if (s.state == ops::RolloutState::failed) {
                ctx.exit_code = ExitCode::rollout_failed;
            } else if (s.state == ops::RolloutState::paused) {
                ctx.exit_code = ExitCode::conflict;
            }
            return;
        }
        auto limit = parse_duration(*timeout);
        if (!limit) {
            auto e = std::move(limit).error();
            e.code = Errc::usage;
            fail(std::move(e));
        }
        std::optional<render::Progress> progress;
        if (!ctx.options.quiet) {
            progress.emplace(ctx.json() ? std::cerr : std::cout, ::isatty(ctx.json() ? STDERR_FILENO : STDOUT_FILENO) == 1);
        }
        ops::WaitOptions options;
        options.timeout = *limit;
        options.on_update = [&](const ops::RolloutStatus& s) {
            if (progress) {
                progress->update(fmt::format("{} revision {}: {}/{} updated, {} ready, {} available: {}", service.name,
                                             s.revision, s.updated, s.desired, s.ready, s.available, s.message));
            }
        };
        const auto w = unwrap(ops::wait_for_rollout(client, service.namespace_name, service.deployment, options));
        if (progress) {
            progress->finish(fmt::format("{}: {} after {}", service.name, w.reason, format_duration(w.elapsed)));
        }
        const auto& s = w.status;
        if (ctx.json()) {
            render::print_json(status_json(service, s));
        } else {
            print_status(ctx, service, s);
        }
        switch (w.end) {
        case ops::WaitEnd::complete: break;
        case ops::WaitEnd::failed:
            fail(make_error(Errc::rollout_failed, fmt::format("the rollout of {} failed: {}", service.name, w.reason)));
        case ops::WaitEnd::paused:
            fail(make_error(Errc::conflict, fmt::format("deployment {} is paused", service.deployment)));
        case ops::WaitEnd::timed_out:
            fail(make_error(Errc::wait_timeout, fmt::format("the rollout of {} was not done after {}", service.name,
                                                            format_duration(w.elapsed))));
        }
    });
}

} // namespace oncall::app
