// The flow of a change: plan, show, confirm, write, wait, verify, audit, report.

#include "deploy_flow.h"

#include "oncall/backends/endpoint.h"
#include "oncall/core/duration.h"
#include "oncall/core/time.h"
#include "oncall/ops/access.h"
#include "oncall/ops/audit.h"
#include "oncall/ops/rollout.h"
#include "oncall/ops/verify.h"
#include "oncall/render/output.h"
#include "oncall/render/progress.h"
#include "oncall/render/style.h"

#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace oncall::app {
namespace {

using nlohmann::json;

std::chrono::milliseconds parse_flag_duration(const std::string& text, const char* flag) {
    auto d = parse_duration(text);
    if (!d) {
        auto e = std::move(d).error();
        e.code = Errc::usage;
        e.message = fmt::format("{}: {}", flag, e.message);
        fail(std::move(e));
    }
    return *d;
}

std::string artifacts_text(const std::vector<std::string>& artifacts) {
    return artifacts.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(artifacts, ", "));
}

std::string revision_text(long revision) {
    return revision == 0 ? std::string("a new revision") : fmt::format("revision {}", revision);
}

// Asks on the terminal; refuses (exit 2) when there is none.
void confirm_or_refuse(const std::string& question) {
    if (::isatty(STDIN_FILENO) != 1) {
        fail(make_error(Errc::usage, "refusing to change production without confirmation: there is no terminal to "
                                     "ask on; review the plan with --dry-run and pass --yes"));
    }
    fmt::print(stderr, "{} [y/N] ", question);
    std::fflush(stderr);
    std::string answer;
    if (!std::getline(std::cin, answer)) {
        answer.clear();
    }
    if (answer != "y" && answer != "Y" && answer != "yes" && answer != "YES") {
        fail(make_error(Errc::usage, "not confirmed; nothing was changed"));
    }
}

void print_plan(AppContext& ctx, const ops::ChangePlan& plan, const ops::ChangeRequest& request) {
    if (ctx.options.quiet) {
        return;
    }
    std::FILE* out = ctx.json() ? stderr : stdout;
    const auto& d = plan.deployment;
    fmt::print(out, "{} {} (deployment {}/{}){}\n", ops::deploy_action_name(plan.action), request.service.name,
               d.metadata.namespace_name, d.metadata.name, request.dry_run ? " [dry run]" : "");
    fmt::print(out, "  from: {}  {}\n", revision_text(plan.from.revision), artifacts_text(plan.from.artifacts));
    fmt::print(out, "  to:   {}  {}\n", revision_text(plan.to.revision), artifacts_text(plan.to.artifacts));
    fmt::print(out, "  rule: {}\n", plan.rule);
    fmt::print(out, "  change-cause: {}\n", plan.cause);
    if (plan.gitops) {
        fmt::print(out, "  warning: managed by {}; writing anyway because of --force\n", *plan.gitops);
    }
    std::fflush(out);
}

struct Outcome {
    std::string result = "done"; // done | skipped | dry-run | failed
    std::optional<Error> error;
    json rollout = nullptr;
    json verification = nullptr;
    json auto_rollback = nullptr;
};

json change_json(const ops::ChangeRequest& request, const ops::ChangePlan& plan, const Outcome& outcome) {
    json j = {{"service", request.service.name},
              {"action", ops::deploy_action_name(request.action)},
              {"from", ops::revision_ref_json(plan.from)},
              {"to", ops::revision_ref_json(plan.to)},
              {"rule", plan.rule},
              {"result", outcome.result},
              {"verification", outcome.verification},
              {"rollout", outcome.rollout},
              {"change_cause", plan.cause},
              {"dry_run", request.dry_run}};
    if (plan.skip) {
        j["skip_reason"] = plan.skip_reason;
    }
    if (!outcome.auto_rollback.is_null()) {
        j["auto_rollback"] = outcome.auto_rollback;
    }
    if (outcome.error) {
        j["error"] = {{"code", errc_name(outcome.error->code)}, {"message", outcome.error->message}};
    }
    return j;
}

// Writes the plan, retrying only when nothing but the status moved under us (the rollout
// controller updates status and with it resourceVersion); any change to the spec, labels or
// annotations is a real conflict and ends the command with nothing overwritten.
Result<ops::Applied> write_plan(AppContext& ctx, const kube::KubeClient& client, ops::ChangePlan& plan,
                                const ops::ChangeRequest& request,
                                const std::function<Result<ops::ChangePlan>()>& replan) {
    for (int attempt = 0;; ++attempt) {
        auto applied = ops::apply_plan(client, plan, request);
        if (applied || applied.error().code != Errc::conflict || attempt >= 3) {
            return applied;
        }
        auto fresh = client.get_deployment(plan.deployment.metadata.namespace_name, plan.deployment.metadata.name);
        if (!fresh) {
            return applied;
        }
        const auto& before = plan.deployment;
        const bool only_status = fresh->metadata.generation == before.metadata.generation &&
                                 fresh->raw.value("spec", json::object()) == before.raw.value("spec", json::object()) &&
                                 fresh->metadata.annotations == before.metadata.annotations &&
                                 fresh->metadata.labels == before.metadata.labels;
        if (!only_status) {
            return applied;
        }
        auto again = replan();
        if (!again || again->skip || again->from.artifacts != plan.from.artifacts ||
            again->to.artifacts != plan.to.artifacts) {
            return applied;
        }
        ctx.debug(fmt::format("only the status of deployment {} changed since it was read; writing again",
                              plan.deployment.metadata.name));
        plan = std::move(*again);
    }
}

// Waits for the rollout with a progress line; returns the outcome's error (nullopt on success).
std::optional<Error> wait_rollout(AppContext& ctx, const kube::KubeClient& client, const ops::ChangePlan& plan,
                                  std::chrono::milliseconds timeout, json& rollout_json, TimePoint& done_at) {
    const bool live = ::isatty(STDERR_FILENO) == 1;
    std::optional<render::Progress> progress;
    if (!ctx.options.quiet) {
        progress.emplace(std::cerr, live);
    }
    ops::WaitOptions options;
    options.timeout = timeout;
    options.on_update = [&](const ops::RolloutStatus& s) {
        if (progress) {
            progress->update(fmt::format("rollout: {} desired, {} updated, {} ready, {} available: {}", s.desired,
                                         s.updated, s.ready, s.available, s.message));
        }
    };
    const auto& d = plan.deployment;
    auto waited = ops::wait_for_rollout(client, d.metadata.namespace_name, d.metadata.name, options);
    done_at = now();
    if (!waited) {
        if (progress) {
            progress->finish("rollout: could not follow the rollout");
        }
        return waited.error();
    }
    const auto& w = *waited;
    rollout_json = {{"state", ops::rollout_state_name(w.status.state)},
                    {"desired", w.status.desired},
                    {"updated", w.status.updated},
                    {"ready", w.status.ready},
                    {"available", w.status.available},
                    {"elapsed_ms", w.elapsed.count()},
                    {"message", w.reason}};
    const std::string took = format_duration(w.elapsed);
    switch (w.end) {
    case ops::WaitEnd::complete:
        if (progress) {
            progress->finish(fmt::format("rollout: complete in {} ({}/{} available)", took, w.status.available,
                                         w.status.desired));
        }
        return std::nullopt;
    case ops::WaitEnd::failed:
        if (progress) {
            progress->finish(fmt::format("rollout: failed after {}: {}", took, w.reason));
        }
        rollout_json["state"] = "failed";
        return make_error(Errc::rollout_failed,
                          fmt::format("the rollout of {} failed after {}: {}", d.metadata.name, took, w.reason));
    case ops::WaitEnd::paused:
        if (progress) {
            progress->finish("rollout: the deployment was paused");
        }
        return make_error(Errc::conflict, fmt::format("deployment {} was paused during the rollout", d.metadata.name));
    case ops::WaitEnd::timed_out:
        if (progress) {
            progress->finish(fmt::format("rollout: not done after {}: {}", took, w.status.message));
        }
        return make_error(Errc::wait_timeout,
                          fmt::format("the rollout of {} did not finish within {} ({}); it may still converge: "
                                      "follow it with 'oncall status {} --watch'",
                                      d.metadata.name, took, w.status.message, d.metadata.name));
    }
    return std::nullopt;
}

std::optional<Error> verify(AppContext& ctx, const ops::ChangeRequest& request,
                            const std::optional<prometheus::Client>& prom, TimePoint done_at,
                            std::chrono::seconds window, json& verification_json) {
    if (!prom) {
        verification_json = {{"passed", nullptr}, {"skipped", "no prometheus configured for this context"}};
        ctx.warn("verification skipped: no prometheus configured for this context");
        return std::nullopt;
    }
    if (!ctx.options.quiet) {
        fmt::print(stderr, "verify: checking {}'s signals over {} after the rollout...\n", request.service.name,
                   format_duration(window));
    }
    auto v = ops::verify_signals(*prom, request.service, done_at, window);
    if (!v) {
        verification_json = {{"passed", nullptr}, {"error", v.error().message}};
        return v.error();
    }
    verification_json = ops::verification_json(*v);
    if (!v->passed) {
        return make_error(Errc::verification_failed,
                          fmt::format("verification of {} failed: {} (window {} from the rollout's end)",
                                      request.service.name, v->summary, format_duration(window)));
    }
    if (!ctx.options.quiet) {
        fmt::print(stderr, "verify: {}{}\n", v->conclusive ? "passed: " : "inconclusive (no SLO data): ", v->summary);
    }
    return std::nullopt;
}

} // namespace

kube::KubeClient make_kube_client(AppContext& ctx) {
    auto client = kube::KubeClient::create(ctx.context().kubernetes, ctx.logger());
    if (!client) {
        fail(std::move(client).error());
    }
    if (client->connection().insecure_skip_tls_verify) {
        ctx.warn("warning: TLS verification of the Kubernetes API server is disabled for this context");
    }
    return std::move(*client);
}

std::optional<prometheus::Client> make_prometheus_client(AppContext& ctx) {
    const auto& endpoint = ctx.context().prometheus;
    if (!endpoint.configured()) {
        return std::nullopt;
    }
    backends::EndpointDefaults defaults;
    defaults.timeout = std::chrono::milliseconds(15000);
    defaults.log = ctx.logger();
    auto client = unwrap(backends::make_endpoint_client("prometheus", endpoint, defaults, ctx.context().kubernetes));
    return prometheus::Client(client.client, client.urls.front());
}

void add_change_flags(CLI::App& cmd, ChangeFlags& flags) {
    cmd.add_option("SERVICE", flags.service, "Service (its Deployment per the configuration)")->required();
    cmd.add_option("--reason", flags.reason, "Why: recorded in change-cause, the Event and the audit log");
    cmd.add_flag("--dry-run", flags.dry_run, "Ask the API server to validate the change without writing it");
    cmd.add_flag("-y,--yes", flags.yes, "Do not ask for confirmation (for scripts)");
    cmd.add_flag("--no-wait", flags.no_wait, "Do not wait for the rollout (nor verify)");
    cmd.add_option("--timeout", flags.timeout, "How long to wait for the rollout (default 5m)");
    cmd.add_flag("--no-verify", flags.no_verify, "Do not re-check the signals against the SLO afterwards");
    cmd.add_option("--verify-window", flags.verify_window,
                   "How long after the rollout the signals are judged over (default 30s)");
    cmd.add_flag("--force", flags.force, "Write even when a GitOps controller (Argo CD, Flux) owns the Deployment");
}

void run_change(AppContext& ctx, ops::DeployAction action, const ChangeFlags& flags) {
    const auto timeout = parse_flag_duration(flags.timeout, "--timeout");
    const auto window =
        std::chrono::duration_cast<std::chrono::seconds>(parse_flag_duration(flags.verify_window, "--verify-window"));
    if (window.count() < 5) {
        fail(make_error(Errc::usage, "--verify-window must be at least 5s (a few scrapes)"));
    }
    ops::ChangeRequest request;
    request.action = action;
    request.service = ctx.service(flags.service);
    request.to_revision = flags.to_revision;
    request.images = flags.images;
    request.reason = flags.reason;
    request.dry_run = flags.dry_run;
    request.force = flags.force;
    request.actor = ops::local_user();
    if (flags.to_revision && *flags.to_revision <= 0) {
        fail(make_error(Errc::usage, "--to-revision must be a positive revision number (see 'oncall history')"));
    }
    // Writes use an active deployer grant's token for this service (when grants are required).
    const auto access = unwrap(ops::write_access_for(ctx.context(), request.service));
    request.write_token = access.bearer_token;
    if (access.grant && !access.grant->requester.empty()) {
        request.actor = access.grant->requester;
    }
    if (access.warning) {
        ctx.warn(*access.warning); // already starts with "warning:"
    }
    const auto client = make_kube_client(ctx);
    const auto prom = make_prometheus_client(ctx);
    const registry::RegistryClient registry(ctx.context().registry, ctx.logger());

    auto note = [&ctx](std::string_view line) { ctx.warn(fmt::format("note: {}", line)); };
    ops::SignalTargetRule rule;
    if (prom && action == ops::DeployAction::rollback) {
        rule = ops::signal_target_rule(*prom, request.service, note);
    }
    auto make_plan = [&]() -> Result<ops::ChangePlan> {
        return action == ops::DeployAction::rollback ? ops::plan_rollback(client, request, rule)
                                                     : ops::plan_redeploy(client, registry, request);
    };
    ops::ChangePlan plan = unwrap(make_plan());
    Outcome outcome;
    if (plan.skip) {
        outcome.result = "skipped";
        if (ctx.json()) {
            render::print_json(change_json(request, plan, outcome));
        } else {
            fmt::print("skipped: {}\n", plan.skip_reason);
        }
        return;
    }
    print_plan(ctx, plan, request);
    if (!flags.dry_run && !flags.yes) {
        confirm_or_refuse(fmt::format("{} {} from {} to {}?", ops::deploy_action_name(action),
                                           request.service.name, revision_text(plan.from.revision),
                                           revision_text(plan.to.revision)));
    }
    auto applied = write_plan(ctx, client, plan, request, make_plan);
    if (!applied) {
        auto error = std::move(applied).error();
        if (request.write_token) {
            error = ops::explain_grant_refusal(std::move(error), ctx.context(), request.service.name);
        }
        if (!flags.dry_run && error.code == Errc::conflict) {
            outcome.result = "failed";
            unwrap(ops::append_audit(ops::default_audit_path(),
                                     ops::change_audit_record(ctx.context().name, request, plan, "conflict",
                                                              static_cast<int>(exit_code_for(error)))));
        }
        fail(std::move(error));
    }
    if (flags.dry_run) {
        outcome.result = "dry-run";
        if (ctx.json()) {
            render::print_json(change_json(request, plan, outcome));
        } else {
            fmt::print("dry run: the API server accepted the change; nothing was written\n");
        }
        return;
    }
    if (applied->event_warning) {
        ctx.warn(fmt::format("warning: {}", *applied->event_warning));
    }
    auto audit = [&](const std::string& result, const std::optional<Error>& error) {
        const int code = error ? static_cast<int>(exit_code_for(*error)) : 0;
        auto record = ops::change_audit_record(ctx.context().name, request, plan, result, code);
        if (access.grant) {
            record["grant"] = access.grant->id;
        }
        if (!outcome.verification.is_null()) {
            record["verification"] = outcome.verification.value("summary", outcome.verification.dump());
        }
        if (!outcome.auto_rollback.is_null()) {
            record["auto_rollback"] = outcome.auto_rollback;
        }
        auto written = ops::append_audit(ops::default_audit_path(), record);
        if (!written) {
            auto e = std::move(written).error();
            e.message = fmt::format("the change was made but its audit line could not be written: {}", e.message);
            fail(std::move(e));
        }
    };
    std::optional<Error> failure;
    if (!flags.no_wait) {
        TimePoint done_at = now();
        failure = wait_rollout(ctx, client, plan, timeout, outcome.rollout, done_at);
        if (!failure && !flags.no_verify) {
            failure = verify(ctx, request, prom, done_at, window, outcome.verification);
        }
    }
    // Redeploy --auto-rollback: back to the revision that ran before.
    if (failure && flags.auto_rollback && action == ops::DeployAction::redeploy && plan.from.revision > 0 &&
        (failure->code == Errc::rollout_failed || failure->code == Errc::verification_failed ||
         failure->code == Errc::wait_timeout)) {
        ctx.warn(fmt::format("auto-rollback: the redeploy failed; returning {} to revision {}", request.service.name,
                             plan.from.revision));
        ops::ChangeRequest back = request;
        back.action = ops::DeployAction::rollback;
        back.to_revision = plan.from.revision;
        back.images.clear();
        back.reason = fmt::format("auto-rollback after failed redeploy: {}", failure->message);
        auto back_plan = ops::plan_rollback(client, back);
        json back_json = {{"to", plan.from.revision}};
        if (!back_plan) {
            back_json["result"] = "failed";
            back_json["error"] = back_plan.error().message;
        } else if (back_plan->skip) {
            back_json["result"] = "skipped";
        } else {
            auto back_applied = write_plan(ctx, client, *back_plan, back,
                                           [&]() { return ops::plan_rollback(client, back); });
            if (!back_applied) {
                back_json["result"] = "failed";
                back_json["error"] = back_applied.error().message;
            } else {
                json back_rollout = nullptr;
                TimePoint back_done = now();
                auto back_failure = wait_rollout(ctx, client, *back_plan, timeout, back_rollout, back_done);
                back_json["result"] = back_failure ? "failed" : "done";
                back_json["rollout"] = back_rollout;
                back_json["artifacts"] = back_plan->to.artifacts;
                if (back_failure) {
                    back_json["error"] = back_failure->message;
                }
                auto back_record = ops::change_audit_record(ctx.context().name, back, *back_plan,
                                                            back_failure ? "failed" : "done",
                                                            back_failure ? static_cast<int>(exit_code_for(*back_failure)) : 0);
                unwrap(ops::append_audit(ops::default_audit_path(), back_record));
            }
        }
        outcome.auto_rollback = back_json;
        failure->message += fmt::format("; auto-rollback to revision {}: {}", plan.from.revision,
                                        back_json.value("result", std::string("failed")));
    }
    outcome.result = failure ? "failed" : "done";
    outcome.error = failure;
    audit(outcome.result, failure);
    if (ctx.json()) {
        render::print_json(change_json(request, plan, outcome));
    } else if (!failure) {
        fmt::print("{}: {} now {} ({})\n", ops::deploy_action_name(action), request.service.name,
                   flags.no_wait ? "rolling out" : "runs", artifacts_text(plan.to.artifacts));
    }
    if (failure) {
        fail(std::move(*failure));
    }
}

} // namespace oncall::app
