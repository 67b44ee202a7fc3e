// oncall silence SERVICE --for DUR --reason TEXT [--alert NAME]... [--ticket ID]
// oncall silence list [SERVICE] | oncall silence expire ID

#include "oncall/views/silence.h"

#include "cli_model.h"
#include "commands.h"
#include "oncall/core/time.h"
#include "oncall/ops/audit.h"
#include "oncall/ops/silences.h"
#include "oncall/render/output.h"

#include <fmt/format.h>
#include <memory>

namespace oncall::app {
namespace {

struct SilenceFlags {
    std::string service;
    ops::SilenceRequest request;
    bool for_given = false;
    bool reason_given = false;
    std::string list_service;
    std::string expire_id;
};

alertmanager::Client client_for(AppContext& ctx) {
    return unwrap(ops::silence_client(ctx.context(), ctx.logger()));
}

void run_create(AppContext& ctx, const SilenceFlags& flags) {
    if (flags.service.empty()) {
        fail(make_error(Errc::usage,
                        "which service? oncall silence SERVICE --for DUR --reason TEXT (or: oncall "
                        "silence list, oncall silence expire ID)"));
    }
    if (!flags.for_given) {
        fail(make_error(
            Errc::usage,
            fmt::format("--for is required: how long the page may stay quiet, e.g. oncall "
                        "silence {} --for 1h --reason \"...\"",
                        flags.service)));
    }
    if (!flags.reason_given) {
        fail(
            make_error(Errc::usage,
                       fmt::format("--reason is required: why the page may stay quiet, e.g. oncall "
                                   "silence {} --for 1h --reason \"rolling back 1.2.2\"",
                                   flags.service)));
    }
    const auto& context = ctx.context();
    const auto service = ctx.service(flags.service);
    // Every check happens before anything is sent: bad input changes nothing.
    const auto valid = unwrap(ops::validate_silence(context, service, flags.request));
    const auto client = client_for(ctx);
    const auto author = ops::silence_author(
        context, [&ctx](std::string_view line) { ctx.warn("note: " + std::string(line)); });
    const auto created = unwrap(
        ops::create_silence(client, context, service, valid, author, ops::default_audit_path()));
    for (const auto& skipped : created.skipped) {
        ctx.warn("note: " + skipped + " (created on the next instance; they gossip)");
    }
    if (ctx.json()) {
        auto j = views::silence_json(created.silence, created.service);
        j["alertmanager"] = created.alertmanager;
        render::print_json(j);
        return;
    }
    fmt::print("{}", views::created_silence_text(created, now()));
}

void run_list(AppContext& ctx, const std::string& service_name) {
    std::optional<config::Service> service;
    if (!service_name.empty()) {
        service = ctx.service(service_name);
    }
    const auto client = client_for(ctx);
    std::vector<std::string> warnings;
    const auto silences = unwrap(ops::list_silences(client, service, &warnings));
    for (const auto& w : warnings) {
        ctx.warn("warning: " + w);
    }
    const auto ref = now();
    if (ctx.json()) {
        render::print_json(views::silence_list_json(silences, ref));
        return;
    }
    if (silences.empty() && ctx.options.quiet) {
        return;
    }
    fmt::print("{}", views::silence_list_text(silences, ref, ctx.style()));
}

void run_expire(AppContext& ctx, const std::string& id) {
    const auto& context = ctx.context();
    const auto client = client_for(ctx);
    const auto author =
        ops::silence_author(context, [&ctx](std::string_view line) { ctx.debug(line); });
    const auto result =
        unwrap(ops::expire_silence(client, context, id, author, ops::default_audit_path()));
    if (ctx.json()) {
        render::print_json(views::expired_silence_json(result));
        return;
    }
    fmt::print("{}", views::expired_silence_text(result));
}

} // namespace

void register_silence(CLI::App& app, AppContext& ctx) {
    auto flags = std::make_shared<SilenceFlags>();
    auto* cmd = app.add_subcommand(
        "silence", "Quiet a service's alerts while the fix lands (an Alertmanager silence "
                   "scoped to the service, audited)");
    takes(cmd->add_option("SERVICE", flags->service, "Service whose alerts to silence"),
          cli::ValueKind::service);
    cmd->add_option("--for", flags->request.duration,
                    "How long, e.g. 1h (at most the context's silences.max, 4h)")
        ->each([flags](const std::string&) { flags->for_given = true; });
    cmd->add_option("--reason", flags->request.reason,
                    "Why the page may stay quiet (the silence's comment)")
        ->each([flags](const std::string&) { flags->reason_given = true; });
    takes(cmd->add_option(
              "--alert", flags->request.alerts,
              "Only this alert (repeat for several); default: every alert of the service"),
          cli::ValueKind::alert);
    cmd->add_option("--ticket", flags->request.ticket,
                    "Incident or ticket id (added to the comment)");

    auto* list = cmd->add_subcommand(
        "list", "Active and pending silences (of SERVICE), merged across the HA set");
    takes(list->add_option("SERVICE", flags->list_service, "Only the silences of this service"),
          cli::ValueKind::service);
    list->callback([&ctx, flags] { run_list(ctx, flags->list_service); });

    auto* expire = cmd->add_subcommand("expire", "End a silence now (audited)");
    takes(expire->add_option("ID", flags->expire_id, "Silence id (see oncall silence list)")
              ->required(),
          cli::ValueKind::silence);
    expire->callback([&ctx, flags] { run_expire(ctx, flags->expire_id); });

    cmd->callback([&ctx, flags, list, expire] {
        if (list->parsed() || expire->parsed()) {
            return;
        }
        run_create(ctx, *flags);
    });
}

} // namespace oncall::app
