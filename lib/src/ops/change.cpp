// The change workflow of rollback and redeploy.

#include "oncall/ops/change.h"

#include "oncall/backends/clients.h"
#include "oncall/core/duration.h"
#include "oncall/core/exit_code.h"
#include "oncall/core/time.h"
#include "oncall/ops/audit.h"
#include "oncall/ops/grants.h"

#include <cctype>
#include <fmt/format.h>

namespace oncall::ops {

void ChangeObserver::planned(const ChangePlan& /*plan*/, const ChangeRequest& /*request*/) {}
Result<void> ChangeObserver::confirm(const ChangePlan& /*plan*/, const ChangeRequest& /*request*/) {
    return make_error(Errc::usage,
                      "refusing to change production without confirmation; pass --yes");
}
void ChangeObserver::rollout_progress(const RolloutStatus& /*status*/) {}
void ChangeObserver::rollout_finished(const WaitResult& /*result*/) {}
void ChangeObserver::verifying(std::chrono::seconds /*window*/, const ScrapeInterval& /*scrape*/) {}
void ChangeObserver::verified(const Verification& /*verification*/) {}
void ChangeObserver::rolling_back(long /*revision*/, std::string_view /*why*/) {}
void ChangeObserver::note(std::string_view /*text*/) {}

const char* change_result_name(ChangeResult result) noexcept {
    switch (result) {
    case ChangeResult::done:
        return "done";
    case ChangeResult::skipped:
        return "skipped";
    case ChangeResult::dry_run:
        return "dry-run";
    case ChangeResult::failed:
        return "failed";
    }
    return "failed";
}

Result<void> validate_change(const ChangeRequest& request, const ChangeOptions& options) {
    if (!request.reason.empty()) {
        if (auto ok = validate_reason(request.reason); !ok) {
            auto e = std::move(ok).error();
            e.code = Errc::usage;
            return e;
        }
    }
    if (request.to_revision && *request.to_revision <= 0) {
        return make_error(
            Errc::usage, "--to-revision must be a positive revision number (see 'oncall history')");
    }
    if (options.verify_window < std::chrono::seconds(5)) {
        return make_error(Errc::usage, "--verify-window must be at least 5s (a few scrapes)");
    }
    if (options.require_verification && (!options.wait || !options.verify)) {
        return make_error(Errc::usage,
                          "--require-verification needs the rollout followed and verified; drop "
                          "--no-wait and --no-verify");
    }
    if (options.auto_rollback) {
        if (request.action != DeployAction::redeploy) {
            return make_error(Errc::usage, "--auto-rollback is for redeploy");
        }
        if (!options.wait || !options.verify) {
            return make_error(
                Errc::usage,
                "--auto-rollback needs the rollout followed and verified; drop --no-wait "
                "and --no-verify, or drop --auto-rollback");
        }
    }
    return ok_result();
}

namespace {

int exit_of(const std::optional<Error>& error) {
    return error ? static_cast<int>(exit_code_for(*error)) : 0;
}

// Writes the plan, retrying only when nothing but the status moved under us (the rollout
// controller updates status and with it resourceVersion); any change to the spec, labels or
// annotations is a real conflict and ends the change with nothing overwritten.
Result<Applied> write_plan(const kube::Api& client, ChangePlan& plan, const ChangeRequest& request,
                           const std::function<Result<ChangePlan>()>& replan,
                           ChangeObserver& observer) {
    for (int attempt = 0;; ++attempt) {
        auto applied = apply_plan(client, plan, request);
        if (applied || applied.error().code != Errc::conflict || attempt >= 3) {
            return applied;
        }
        const auto& before = plan.deployment;
        auto fresh = client.get_deployment(before.metadata.namespace_name, before.metadata.name);
        if (!fresh) {
            return applied;
        }
        const bool only_status = fresh->metadata.generation == before.metadata.generation &&
                                 fresh->raw.value("spec", nlohmann::json::object()) ==
                                     before.raw.value("spec", nlohmann::json::object()) &&
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
        observer.note(fmt::format(
            "note: only the status of deployment {} changed since it was read; writing again",
            before.metadata.name));
        plan = std::move(*again);
    }
}

// The error a wait ended with (nullopt when complete).
std::optional<Error> wait_error(const WaitResult& w, const std::string& name) {
    const std::string took = format_duration(w.elapsed);
    switch (w.end) {
    case WaitEnd::complete:
        return std::nullopt;
    case WaitEnd::failed:
        return make_error(Errc::rollout_failed, fmt::format("the rollout of {} failed after {}: {}",
                                                            name, took, w.reason));
    case WaitEnd::paused:
        return make_error(Errc::conflict,
                          fmt::format("deployment {} was paused during the rollout", name));
    case WaitEnd::timed_out:
        return make_error(
            Errc::wait_timeout,
            fmt::format("the rollout of {} did not finish within {} ({}); it may still converge: "
                        "follow it with 'oncall status {} --watch'",
                        name, took, w.status.message, name));
    }
    return std::nullopt;
}

Result<WaitResult> follow(const kube::Api& client, const ChangePlan& plan,
                          const ChangeOptions& options, ChangeObserver& observer) {
    WaitOptions wait;
    wait.timeout = options.timeout;
    wait.on_update = [&observer](const RolloutStatus& s) { observer.rollout_progress(s); };
    const auto& d = plan.deployment;
    auto waited = wait_for_rollout(client, d.metadata.namespace_name, d.metadata.name, wait);
    if (waited) {
        observer.rollout_finished(*waited);
    }
    return waited;
}

Verification no_evidence(std::string reason) {
    Verification v;
    v.status = VerificationStatus::inconclusive;
    v.from = now();
    v.to = v.from;
    v.reason = std::move(reason);
    v.summary = v.reason;
    return v;
}

Verification verify_change(const ChangeBackends& backends, const ChangeRequest& request,
                           const ChangeOptions& options, const ChangeTimes& times,
                           ChangeObserver& observer) {
    if (backends.prometheus == nullptr) {
        return no_evidence("no Prometheus is configured for this context");
    }
    const auto scrape = find_scrape_interval(
        *backends.prometheus, request.service,
        [&observer](std::string_view line) { observer.note(fmt::format("note: {}", line)); });
    const auto window = verification_window(scrape.interval, options.verify_window);
    observer.verifying(window, scrape);
    auto v = verify_signals(*backends.prometheus, request.service, times, window, scrape,
                            backends.sleep_until);
    if (!v) {
        auto none =
            no_evidence(fmt::format("Prometheus could not be asked: {}", v.error().message));
        none.window = window;
        none.scrape = scrape;
        return none;
    }
    return *v;
}

// The audit record of an attempt, with the grant when one was used.
nlohmann::json attempt_record(const ChangeBackends& backends, const ChangeRequest& request,
                              const ChangePlan& plan) {
    auto record = change_audit_record(backends.context.name, request, plan, "", 0);
    record.erase("result");
    record.erase("exit_code");
    if (backends.access.grant) {
        record["grant"] = backends.access.grant->id;
    }
    return record;
}

Result<void> write_result(const ChangeBackends& backends, nlohmann::json record,
                          const std::string& attempt, const std::string& result,
                          const std::optional<Error>& error) {
    record["result"] = result;
    record["exit_code"] = exit_of(error);
    if (error) {
        record["error"] = error->message;
    }
    auto written = audit_result(backends.audit_path, std::move(record), attempt);
    if (!written) {
        auto e = std::move(written).error();
        e.message = fmt::format(
            "the change was made but its audit result line could not be written (its intent "
            "line is in the log): {}",
            e.message);
        return e;
    }
    return ok_result();
}

// Returns a failed redeploy to the revision that ran before it: one more attempt with its own
// intent and result lines.
AutoRollback roll_back(const ChangeBackends& backends, const ChangeRequest& request,
                       const ChangePlan& failed, const ChangeOptions& options, const Error& why,
                       std::string trigger, const std::string& first_attempt,
                       ChangeObserver& observer) {
    AutoRollback back;
    back.trigger = std::move(trigger);
    back.to_revision = failed.from.revision;
    observer.rolling_back(back.to_revision, why.message);
    ChangeRequest again = request;
    again.action = DeployAction::rollback;
    again.to_revision = failed.from.revision;
    again.images.clear();
    again.reason = fmt::format("auto-rollback after failed redeploy: {}", why.message);
    for (auto& c : again.reason) {
        if (std::iscntrl(static_cast<unsigned char>(c)) != 0) {
            c = ' ';
        }
    }
    if (again.reason.size() > 1000) {
        again.reason.resize(1000);
    }
    auto replan = [&]() { return plan_rollback(backends.kube, again); };
    auto plan = replan();
    if (!plan) {
        back.error = plan.error().message;
        return back;
    }
    back.artifacts = plan->to.artifacts;
    if (plan->skip) {
        back.result = ChangeResult::skipped;
        return back;
    }
    back.attempt = new_attempt_id();
    auto record = attempt_record(backends, again, *plan);
    record["auto_rollback_of"] = first_attempt;
    record["trigger"] = back.trigger;
    if (auto intent = audit_intent(backends.audit_path, record, back.attempt); !intent) {
        back.error = intent.error().message;
        back.attempt.clear();
        return back;
    }
    std::optional<Error> failure;
    auto applied = write_plan(backends.kube, *plan, again, replan, observer);
    if (!applied) {
        failure = applied.error();
    } else {
        auto waited = follow(backends.kube, *plan, options, observer);
        if (!waited) {
            failure = waited.error();
        } else {
            back.rollout = *waited;
            failure = wait_error(*waited, plan->deployment.metadata.name);
        }
    }
    back.result = failure ? ChangeResult::failed : ChangeResult::done;
    if (failure) {
        back.error = failure->message;
    }
    if (auto written =
            write_result(backends, record, back.attempt, change_result_name(back.result), failure);
        !written) {
        back.error = written.error().message;
        back.result = ChangeResult::failed;
    }
    return back;
}

} // namespace

Result<ChangeOutcome> run_change(const ChangeBackends& backends, const ChangeRequest& request_in,
                                 const ChangeOptions& options, ChangeObserver& observer) {
    if (auto ok = validate_change(request_in, options); !ok) {
        return std::move(ok).error();
    }
    ChangeOutcome out;
    out.request = request_in;
    ChangeRequest& request = out.request;
    request.write_token = backends.access.bearer_token;
    if (backends.access.grant) {
        out.grant = backends.access.grant->id;
        if (!backends.access.grant->requester.empty()) {
            request.actor = backends.access.grant->requester;
        }
    }
    if (backends.access.warning) {
        observer.note(*backends.access.warning);
    }
    const kube::Api& client = backends.kube;
    SignalTargetRule rule;
    if (backends.prometheus != nullptr && request.action == DeployAction::rollback) {
        rule = signal_target_rule(
            *backends.prometheus, request.service,
            [&observer](std::string_view line) { observer.note(fmt::format("note: {}", line)); });
    }
    auto make_plan = [&]() -> Result<ChangePlan> {
        if (request.action == DeployAction::rollback) {
            return plan_rollback(client, request, rule);
        }
        if (backends.registry == nullptr && !request.images.empty()) {
            return make_error(Errc::internal, "redeploy --image needs a registry client");
        }
        static const registry::RegistryClient k_no_registry(config::Endpoint{});
        return plan_redeploy(
            client, backends.registry != nullptr ? *backends.registry : k_no_registry, request);
    };
    auto planned = make_plan();
    if (!planned) {
        return std::move(planned).error();
    }
    out.plan = std::move(*planned);
    if (out.plan.skip) {
        out.result = ChangeResult::skipped;
        return out;
    }
    observer.planned(out.plan, request);
    if (!request.dry_run && !options.yes) {
        if (auto confirmed = observer.confirm(out.plan, request); !confirmed) {
            return std::move(confirmed).error();
        }
    }
    // Write-ahead: the intent is on disk before the first request that changes the cluster.
    nlohmann::json record;
    if (!request.dry_run) {
        out.attempt = new_attempt_id();
        record = attempt_record(backends, request, out.plan);
        if (auto intent = audit_intent(backends.audit_path, record, out.attempt); !intent) {
            return std::move(intent).error();
        }
    }
    const TimePoint started_at = now();
    auto applied = write_plan(client, out.plan, request, make_plan, observer);
    if (!applied) {
        auto error = std::move(applied).error();
        if (request.write_token) {
            error = explain_grant_refusal(std::move(error), backends.context, request.service.name);
        }
        if (request.dry_run) {
            return error;
        }
        out.result = ChangeResult::failed;
        if (auto written = write_result(backends, record, out.attempt, "failed", error); !written) {
            error.message += "; " + written.error().message;
        }
        out.error = std::move(error);
        return out;
    }
    if (request.dry_run) {
        out.result = ChangeResult::dry_run;
        return out;
    }
    if (applied->event_warning) {
        observer.note(fmt::format("warning: {}", *applied->event_warning));
    }
    std::optional<Error> failure;
    bool rollout_failed = false;
    bool breach = false;
    std::string trigger;
    if (options.wait) {
        auto waited = follow(client, out.plan, options, observer);
        const TimePoint done_at = now();
        if (!waited) {
            failure = waited.error();
        } else {
            out.rollout = *waited;
            failure = wait_error(*waited, out.plan.deployment.metadata.name);
            rollout_failed = waited->end == WaitEnd::failed || waited->end == WaitEnd::timed_out;
            trigger = waited->end == WaitEnd::failed ? "rollout_failed" : "rollout_timed_out";
        }
        if (!failure && options.verify) {
            out.verification = verify_change(backends, request, options,
                                             ChangeTimes{started_at, done_at}, observer);
            observer.verified(*out.verification);
            const auto& v = *out.verification;
            const std::string window = format_duration(v.window);
            if (v.status == VerificationStatus::breach) {
                breach = true;
                trigger = "breach";
                failure = make_error(
                    Errc::verification_failed,
                    fmt::format("verification of {} failed: {} (over {} after the rollout)",
                                request.service.name, v.summary, window));
            } else if (v.status == VerificationStatus::inconclusive &&
                       (options.require_verification || options.auto_rollback)) {
                failure = make_error(
                    Errc::verification_failed,
                    fmt::format("{} could not be verified ({}){}; nothing was rolled back",
                                request.service.name, v.reason,
                                options.auto_rollback ? " and --auto-rollback acts only on evidence"
                                                      : " and --require-verification is set"));
            } else if (v.status == VerificationStatus::inconclusive) {
                observer.note(fmt::format("warning: {} could not be verified: {}",
                                          request.service.name, v.reason));
            }
        }
    }
    out.result = failure ? ChangeResult::failed : ChangeResult::done;
    {
        auto result_record = record;
        if (out.verification) {
            result_record["verification"] = verification_status_name(out.verification->status);
        }
        if (auto written = write_result(backends, result_record, out.attempt,
                                        change_result_name(out.result), failure);
            !written) {
            failure = written.error();
            out.result = ChangeResult::failed;
        }
    }
    if (failure && options.auto_rollback && (breach || rollout_failed) &&
        out.plan.from.revision > 0) {
        out.auto_rollback = roll_back(backends, request, out.plan, options, *failure, trigger,
                                      out.attempt, observer);
        failure->message +=
            fmt::format("; auto-rollback to revision {}: {}", out.plan.from.revision,
                        out.auto_rollback->error.empty()
                            ? std::string(change_result_name(out.auto_rollback->result))
                            : out.auto_rollback->error);
    }
    out.error = failure;
    return out;
}

Result<ChangeOutcome> run_change_in_context(const config::Context& context, ChangeRequest request,
                                            const ChangeOptions& options, ChangeObserver& observer,
                                            const std::function<void(std::string_view)>& log) {
    if (auto ok = validate_change(request, options); !ok) {
        return std::move(ok).error();
    }
    auto kube = backends::make_kube_client(context, log);
    if (!kube) {
        return std::move(kube).error();
    }
    // Writes use an active deployer grant's token for this service (when grants are required),
    // and only when the resolved connection points at the server that minted it; checked before
    // anything is sent.
    auto access = write_access_for(context, request.service, kube->connection());
    if (!access) {
        return std::move(access).error();
    }
    if (kube->connection().insecure_skip_tls_verify) {
        observer.note(
            "warning: TLS verification of the Kubernetes API server is disabled for this context");
    }
    auto prometheus = backends::make_prometheus_client(context, log);
    if (!prometheus) {
        return std::move(prometheus).error();
    }
    const auto registry = backends::make_registry_client(context, log);
    ChangeBackends backends{*kube,
                            &registry,
                            *prometheus ? &**prometheus : nullptr,
                            context,
                            default_audit_path(),
                            std::move(*access),
                            {}};
    return run_change(backends, request, options, observer);
}

} // namespace oncall::ops
