// oncall triage [SERVICE] [--window DUR] [--at TIME] [--timeout DUR]

#include "oncall/ops/triage.h"

#include "commands.h"
#include "oncall/core/duration.h"
#include "oncall/core/time.h"
#include "oncall/render/output.h"
#include "oncall/views/triage.h"

#include <fmt/format.h>
#include <iostream>

namespace oncall::app {
namespace {

struct TriageFlags {
    std::string service;
    std::string window = "1h";
    std::string at;
    std::string timeout = "5s";
};

// --at takes an RFC 3339 time or a duration meaning "that long ago" (--at 2h).
TimePoint parse_at(const std::string& text) {
    if (auto t = parse_rfc3339(text); t) {
        if (*t > now() + std::chrono::minutes(1)) {
            fail(make_error(Errc::usage,
                            fmt::format("--at {} is in the future; give a past time", text)));
        }
        return *t;
    }
    if (auto d = parse_duration(text); d) {
        return now() - *d;
    }
    fail(
        make_error(Errc::usage,
                   fmt::format("--at '{}' is neither an RFC 3339 time (2026-11-26T02:14:00Z) nor a "
                               "duration ago (90m)",
                               text)));
}

void run_one(AppContext& ctx, const ops::TriageRequest& request) {
    const auto service = ctx.service(request.service);
    auto report = unwrap(ops::triage(ctx.context(), service, request));
    for (const auto& s : report.sources) {
        if (s.error && !s.ok && !s.skipped) {
            ctx.debug(fmt::format("source {}: {}", s.name, s.error->message));
        }
    }
    if (ctx.json()) {
        render::print_json(views::triage_json(report));
    } else {
        std::cout << views::triage_text(report, ctx.text_options()) << std::flush;
    }
    ctx.exit_code = report.exit_code;
}

void run_overview(AppContext& ctx, const ops::TriageRequest& request) {
    const auto& context = ctx.context();
    auto [names, list_error] = ops::overview_services(ctx.config(), context);
    if (list_error) {
        ctx.warn(fmt::format("could not list the Deployments of namespace {}: {}",
                             context.kubernetes.namespace_name, list_error->message));
    }
    if (names.empty()) {
        fail(list_error
                 ? *list_error
                 : make_error(Errc::config,
                              "no services to triage: none is configured and the namespace has "
                              "no Deployments; name one: oncall triage SERVICE"));
    }
    const auto lines = ops::overview(ctx.config(), context, names, request);
    ExitCode worst = list_error ? ExitCode::partial : ExitCode::success;
    for (const auto& l : lines) {
        worst = worst_exit_code(worst, l.exit_code);
    }
    views::Overview view{context.name, request.at.value_or(now()), lines, std::nullopt, worst};
    if (list_error) {
        view.listing_error = list_error->message;
    }
    if (ctx.json()) {
        render::print_json(views::overview_json(view));
    } else {
        std::cout << views::overview_text(view, ctx.text_options()) << std::flush;
    }
    ctx.exit_code = worst;
}

} // namespace

void register_triage(CLI::App& app, AppContext& ctx) {
    auto flags = std::make_shared<TriageFlags>();
    auto* cmd =
        app.add_subcommand("triage", "What is wrong, since when, what changed, what to type next");
    cmd->add_option("service", flags->service, "Service to triage (all services when omitted)");
    cmd->add_option("--window", flags->window, "How far back to look (default 1h)");
    cmd->add_option("--at", flags->at,
                    "Answer as of this past time: RFC 3339, or a duration ago (90m)");
    cmd->add_option("--timeout", flags->timeout, "Deadline of each source (default 5s)");
    cmd->footer("Exit codes: 0 healthy, 3 partial report (a source failed), 8 degraded.");
    cmd->callback([flags, &ctx] {
        ops::TriageRequest request;
        request.service = flags->service;
        request.window = parse_flag_duration("--window", flags->window);
        request.source_timeout = parse_flag_duration("--timeout", flags->timeout);
        if (!flags->at.empty()) {
            request.at = parse_at(flags->at);
        }
        request.log = ctx.logger();
        if (flags->service.empty()) {
            run_overview(ctx, request);
        } else {
            run_one(ctx, request);
        }
    });
}

} // namespace oncall::app
