// Rollback and redeploy: flags -> ops::ChangeRequest, progress on stderr, the outcome's view.

#include "deploy_flow.h"

#include "oncall/backends/clients.h"
#include "oncall/core/duration.h"
#include "oncall/ops/change.h"
#include "oncall/render/output.h"
#include "oncall/render/progress.h"
#include "oncall/render/sanitize.h"
#include "oncall/views/change.h"

#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <set>
#include <unistd.h>

namespace oncall::app {
namespace {

// Progress on stderr: a live line on a terminal, plain lines otherwise; the prompt on the terminal.
class TerminalObserver final : public ops::ChangeObserver {
public:
    explicit TerminalObserver(AppContext& ctx) : m_ctx(ctx) {}

    void planned(const ops::ChangePlan& plan, const ops::ChangeRequest& request) override {
        if (m_ctx.options.quiet) {
            return;
        }
        std::FILE* out = m_ctx.json() ? stderr : stdout;
        fmt::print(out, "{}", views::change_plan_text(plan, request));
        std::fflush(out);
    }

    Result<void> confirm(const ops::ChangePlan& plan, const ops::ChangeRequest& request) override {
        if (::isatty(STDIN_FILENO) != 1) {
            return make_error(Errc::usage,
                              "refusing to change production without confirmation: there is no "
                              "terminal to ask on; review the plan with --dry-run and pass --yes");
        }
        fmt::print(stderr, "{} {} from {} to {}? [y/N] ", ops::deploy_action_name(plan.action),
                   request.service.name,
                   plan.from.revision == 0 ? std::string("a new revision")
                                           : fmt::format("revision {}", plan.from.revision),
                   plan.to.revision == 0 ? std::string("a new revision")
                                         : fmt::format("revision {}", plan.to.revision));
        std::fflush(stderr);
        std::string answer;
        if (!std::getline(std::cin, answer)) {
            answer.clear();
        }
        if (answer != "y" && answer != "Y" && answer != "yes" && answer != "YES") {
            return make_error(Errc::usage, "not confirmed; nothing was changed");
        }
        return ok_result();
    }

    void rollout_progress(const ops::RolloutStatus& s) override {
        if (m_ctx.options.quiet) {
            return;
        }
        if (!m_progress) {
            m_progress.emplace(std::cerr, ::isatty(STDERR_FILENO) == 1);
        }
        m_progress->update(render::sanitize(
            fmt::format("rollout: {} desired, {} updated, {} ready, {} available: {}", s.desired,
                        s.updated, s.ready, s.available, s.message)));
    }

    void rollout_finished(const ops::WaitResult& w) override {
        if (m_progress) {
            m_progress->finish(render::sanitize(
                w.end == ops::WaitEnd::complete
                    ? fmt::format("rollout: complete in {}", format_duration(w.elapsed))
                    : fmt::format("rollout: {} after {}: {}",
                                  w.end == ops::WaitEnd::timed_out ? "not done" : "ended",
                                  format_duration(w.elapsed), w.reason)));
            m_progress.reset();
        }
    }

    void verifying(std::chrono::seconds window, const ops::ScrapeInterval& scrape) override {
        if (!m_ctx.options.quiet) {
            fmt::print(
                stderr,
                "verify: judging the signals over {} after the rollout (4 scrape intervals of {}, "
                "from {}, and at least --verify-window)...\n",
                format_duration(window), format_duration(scrape.interval), scrape.source);
        }
    }

    void rolling_back(long revision, std::string_view why) override {
        m_ctx.warn(fmt::format("auto-rollback: {}; returning to revision {}", why, revision));
    }

    void note(std::string_view text) override { m_ctx.warn(text); }

private:
    AppContext& m_ctx;
    std::optional<render::Progress> m_progress;
};

} // namespace

kube::KubeClient make_kube_client(AppContext& ctx) {
    auto client = unwrap(backends::make_kube_client(ctx.context(), ctx.logger()));
    if (client.connection().insecure_skip_tls_verify) {
        ctx.warn(
            "warning: TLS verification of the Kubernetes API server is disabled for this context");
    }
    return client;
}

void add_change_flags(CLI::App& cmd, ChangeFlags& flags) {
    cmd.add_option("SERVICE", flags.service, "Service (its Deployment per the configuration)")
        ->required();
    cmd.add_option("--reason", flags.reason,
                   "Why: recorded in change-cause, the Event and the audit log");
    cmd.add_flag("--dry-run", flags.dry_run,
                 "Ask the API server to validate the change without writing it");
    cmd.add_flag("-y,--yes", flags.yes, "Do not ask for confirmation (for scripts)");
    cmd.add_flag("--no-wait", flags.no_wait, "Do not wait for the rollout (nor verify)");
    cmd.add_option("--timeout", flags.timeout, "How long to wait for the rollout (default 5m)");
    cmd.add_flag("--no-verify", flags.no_verify,
                 "Do not re-check the signals against the SLO afterwards");
    cmd.add_option(
        "--verify-window", flags.verify_window,
        "Judge the signals over at least this long after the rollout (default 30s; never less than "
        "four scrape intervals)");
    cmd.add_flag("--require-verification", flags.require_verification,
                 "Fail (exit 7) when the verification finds no evidence either way");
    cmd.add_flag("--force", flags.force,
                 "Write even when a GitOps controller (Argo CD, Flux) owns the Deployment");
}

void refuse_flags_as_values(const CLI::App& cmd) {
    std::set<std::string> names;
    for (const auto* opt : cmd.get_options()) {
        for (const auto& l : opt->get_lnames()) {
            names.insert("--" + l);
        }
        for (const auto& s : opt->get_snames()) {
            names.insert("-" + s);
        }
    }
    for (const auto* opt : cmd.get_options()) {
        if (opt->get_expected_min() == 0 || opt->get_lnames().empty()) {
            continue; // flags and positionals
        }
        for (const auto& value : opt->results()) {
            const auto name = value.substr(0, value.find('='));
            if (names.count(name) > 0) {
                fail(make_error(
                    Errc::usage,
                    fmt::format("--{} takes a value, and '{}' is one of this command's flags: give "
                                "--{} its value (quote it if it really starts with '-')",
                                opt->get_lnames().front(), value, opt->get_lnames().front())));
            }
        }
    }
}

void run_change(AppContext& ctx, const CLI::App& cmd, ops::DeployAction action,
                const ChangeFlags& flags) {
    refuse_flags_as_values(cmd);
    ops::ChangeOptions options;
    options.yes = flags.yes;
    options.wait = !flags.no_wait;
    options.verify = !flags.no_verify;
    options.auto_rollback = flags.auto_rollback;
    options.require_verification = flags.require_verification;
    options.timeout = parse_flag_duration("--timeout", flags.timeout);
    options.verify_window = std::chrono::duration_cast<std::chrono::seconds>(
        parse_flag_duration("--verify-window", flags.verify_window));
    ops::ChangeRequest request;
    request.action = action;
    request.service = ctx.service(flags.service);
    request.to_revision = flags.to_revision;
    request.images = flags.images;
    request.reason = flags.reason;
    request.dry_run = flags.dry_run;
    request.force = flags.force;
    request.actor = ops::local_user();
    if (cmd.count("--reason") > 0 && flags.reason.empty()) {
        request.reason = " "; // given but empty: refused by the reason rule
    }
    TerminalObserver observer(ctx);
    const auto outcome =
        unwrap(ops::run_change_in_context(ctx.context(), request, options, observer, ctx.logger()));
    if (ctx.json()) {
        render::print_json(views::change_json(outcome));
    } else {
        fmt::print("{}", views::change_text(outcome, ctx.text_options()));
    }
    if (outcome.error) {
        fail(*outcome.error);
    }
}

} // namespace oncall::app
