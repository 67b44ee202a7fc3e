// The triage engine: facts in, verdict and next commands out. Pure.

#include "oncall/ops/triage.h"

#include "oncall/backends/registry.h"
#include "oncall/core/duration.h"
#include "oncall/ops/deploy_plan.h"
#include "oncall/ops/grants.h"
#include "oncall/ops/rollout.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <set>

namespace oncall::ops {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds k_stale{std::chrono::minutes(5)};

std::optional<double> value_now(const SignalSeries& s, TimePoint at) {
    for (auto it = s.points.rbegin(); it != s.points.rend(); ++it) {
        if (it->time <= at) {
            if (at - it->time > k_stale) {
                return std::nullopt;
            }
            return it->value;
        }
    }
    return std::nullopt;
}

bool counts_as_firing(const alertmanager::Alert& a) {
    return a.state == "active" && alertmanager::severity_rank(a.severity) <= 2;
}

// Start of the breach the series is in at its end, or nullopt when it is not breaching.
std::optional<TimePoint> breach_start(const SignalSeries& s) {
    if (s.points.empty() || !breaches(s, s.points.back().value)) {
        return std::nullopt;
    }
    std::size_t i = s.points.size() - 1;
    while (i > 0 && breaches(s, s.points[i - 1].value)) {
        --i;
    }
    return s.points[i].time;
}

std::string digest_of(std::string_view ref) {
    const auto at = ref.find("@sha256:");
    if (at != std::string_view::npos) {
        return std::string(ref.substr(at + 1));
    }
    const auto sha = ref.find("sha256:");
    return sha == std::string_view::npos ? std::string() : std::string(ref.substr(sha));
}

const kube::Revision* newest_revision(const KubeFacts& k) {
    const kube::Revision* best = nullptr;
    for (const auto& r : k.revisions) {
        if (best == nullptr || r.number > best->number) {
            best = &r;
        }
    }
    return best;
}

} // namespace

const char* verdict_name(Verdict verdict) noexcept {
    switch (verdict) {
    case Verdict::healthy:
        return "healthy";
    case Verdict::degraded:
        return "degraded";
    case Verdict::unknown:
        break;
    }
    return "unknown";
}

const char* signal_status_name(SignalStatus status) noexcept {
    switch (status) {
    case SignalStatus::ok:
        return "ok";
    case SignalStatus::breach:
        return "breach";
    case SignalStatus::unknown:
        break;
    }
    return "unknown";
}

const char* drift_kind_name(DriftKind kind) noexcept {
    return kind == DriftKind::mutable_tag ? "mutable_tag" : "image_mismatch";
}

RolloutReport rollout_health(const KubeFacts& k) {
    const auto status = assess_rollout(k.deployment, k.replicasets, k.pods);
    RolloutReport r;
    r.desired = status.desired;
    r.updated = status.updated;
    r.ready = status.ready;
    r.available = status.available;
    r.state = status.state;
    if (!status.reason.empty()) {
        r.problems.push_back(status.reason);
    }
    for (const auto& p : status.problems) {
        if (!p.fatal()) {
            continue;
        }
        std::string line = problem_sentence(p);
        if (line == status.reason) {
            continue;
        }
        r.problems.push_back(p.in_new_replicaset ? line : line + " [old revision]");
    }
    if (status.state == RolloutState::progressing) {
        if (!status.observed) {
            r.problems.push_back("the controller has not observed the newest generation yet");
        }
        if (r.updated < r.desired) {
            r.problems.push_back(fmt::format("{} of {} replicas updated", r.updated, r.desired));
        }
        if (r.available < r.desired) {
            r.problems.push_back(
                fmt::format("{} of {} replicas available", r.available, r.desired));
        }
    }
    return r;
}

std::vector<DriftReport> find_drift(const KubeFacts& k) {
    std::vector<DriftReport> out;
    for (const auto& c : k.deployment.pod_template.containers) {
        if (c.image.find("@sha256:") == std::string::npos) {
            out.push_back(DriftReport{DriftKind::mutable_tag, "", c.name,
                                      registry::repository_of(c.image) + "@sha256:...", c.image});
        }
    }
    const auto* rev = newest_revision(k);
    if (rev == nullptr) {
        return out;
    }
    // Expected digest per container: from the template, else what most pods of the ReplicaSet run.
    std::map<std::string, std::string> expected;
    for (const auto& c : rev->pod_template.containers) {
        const auto d = digest_of(c.image);
        if (!d.empty()) {
            expected[c.name] = d;
            continue;
        }
        std::map<std::string, int> votes;
        for (const auto& pod : k.pods) {
            for (const auto& cs : pod.container_statuses) {
                if (cs.name == c.name && !digest_of(cs.image_id).empty()) {
                    ++votes[digest_of(cs.image_id)];
                }
            }
        }
        int best = 0;
        for (const auto& [digest, n] : votes) {
            if (n > best) {
                best = n;
                expected[c.name] = digest;
            }
        }
    }
    std::map<std::string, std::string> image_of;
    for (const auto& c : rev->pod_template.containers) {
        image_of[c.name] = c.image;
    }
    for (const auto& pod : k.pods) {
        for (const auto& cs : pod.container_statuses) {
            const auto want = expected.find(cs.name);
            const auto got = digest_of(cs.image_id);
            if (want == expected.end() || got.empty() || got == want->second) {
                continue;
            }
            const auto repo = registry::repository_of(image_of[cs.name]);
            out.push_back(DriftReport{DriftKind::image_mismatch, pod.metadata.name, cs.name,
                                      repo + "@" + want->second, repo + "@" + got});
        }
    }
    return out;
}

TriageReport build_report(const TriageFacts& f, const CorrelationOptions& options) {
    TriageReport r;
    r.service = f.service;
    r.context = f.context;
    r.at = f.at;
    r.window = f.window;
    r.sources = f.sources;
    const TimePoint window_start = f.at - f.window;

    // Signals.
    std::vector<SignalSeries> series;
    for (std::size_t i = 0; i < f.specs.size(); ++i) {
        const auto& spec = f.specs[i];
        SignalReport s;
        s.name = spec.name;
        s.title = spec.title;
        s.threshold = spec.threshold;
        if (i < f.series.size() && f.series[i]) {
            const auto& ser = *f.series[i];
            s.points = ser.points;
            s.now = value_now(ser, f.at);
            series.push_back(ser);
        }
        r.signals.push_back(std::move(s));
    }
    const auto onset = find_onset(series, options);
    for (auto& s : r.signals) {
        const auto it = std::find_if(series.begin(), series.end(),
                                     [&](const SignalSeries& x) { return x.name == s.name; });
        if (it == series.end()) {
            continue;
        }
        // Baseline: the window's length before the change, or the window but its last minutes.
        const TimePoint baseline_end = onset ? onset->at : f.at - options.compare_window;
        const TimePoint baseline_start = onset ? onset->at - f.window : window_start;
        s.baseline = median_between(*it, baseline_start, baseline_end);
        // Only the window is shown; older history served the correlation.
        s.points.erase(std::remove_if(s.points.begin(), s.points.end(),
                                      [&](const Point& p) { return p.time < window_start; }),
                       s.points.end());
        if (s.now) {
            // Without an SLO, the signal is judged against its own baseline.
            const bool breach = s.threshold
                                    ? breaches(*it, *s.now)
                                    : s.baseline && breaches_baseline(s.name, *s.baseline, *s.now);
            s.status = breach ? SignalStatus::breach : SignalStatus::ok;
        }
    }

    // Alerts.
    if (f.silences) {
        r.silences = *f.silences;
    }
    if (f.alerts) {
        r.alerts = *f.alerts;
        std::stable_sort(r.alerts.begin(), r.alerts.end(), [](const auto& a, const auto& b) {
            if ((a.state == "active") != (b.state == "active")) {
                return a.state == "active";
            }
            return alertmanager::severity_rank(a.severity) <
                   alertmanager::severity_rank(b.severity);
        });
    }

    // Kubernetes: deploys, rollout, drift, logs.
    std::vector<RevisionInfo> revinfos;
    if (f.kube) {
        for (const auto& rev : f.kube->revisions) {
            if (rev.deployed_at && *rev.deployed_at > f.at) {
                continue; // deployed after the moment asked about
            }
            DeployReport d;
            d.revision = static_cast<int>(rev.number);
            d.artifacts = rev.artifacts;
            d.deployed_at = rev.deployed_at;
            d.change_cause = rev.change_cause;
            d.current = rev.current;
            r.deploys.push_back(std::move(d));
            if (rev.deployed_at) {
                revinfos.push_back(
                    RevisionInfo{static_cast<int>(rev.number), *rev.deployed_at, rev.artifacts});
            }
        }
        std::sort(
            r.deploys.begin(), r.deploys.end(),
            [](const DeployReport& a, const DeployReport& b) { return a.revision > b.revision; });
        if (!f.kube->live && !r.deploys.empty()) {
            // As of a past moment, the newest revision deployed by then was the current one.
            for (auto& d : r.deploys) {
                d.current = false;
            }
            r.deploys.front().current = true;
        }
        if (f.kube->live) {
            r.rollout = rollout_health(*f.kube);
            r.drift = find_drift(*f.kube);
            r.logs = group_log_lines(f.kube->log_lines);
        }
    }

    // Verdict.
    for (const auto& s : r.signals) {
        if (s.status == SignalStatus::breach && s.threshold) {
            r.verdict_reasons.push_back(fmt::format("{} {} over the SLO of {}", s.title,
                                                    format_signal_value(s.name, *s.now),
                                                    format_signal_value(s.name, *s.threshold)));
        } else if (s.status == SignalStatus::breach) {
            r.verdict_reasons.push_back(fmt::format("{} {}, up from a baseline of {} (no SLO set)",
                                                    s.title, format_signal_value(s.name, *s.now),
                                                    format_signal_value(s.name, *s.baseline)));
        }
    }
    if (r.rollout && r.rollout->state == RolloutState::failed) {
        r.verdict_reasons.push_back("rollout failed" +
                                    (r.rollout->problems.empty()
                                         ? std::string()
                                         : ": " + r.rollout->problems.front().raw()));
    }
    std::optional<TimePoint> first_alert;
    for (const auto& a : r.alerts) {
        if (counts_as_firing(a)) {
            r.verdict_reasons.push_back(fmt::format(
                "alert {} ({}) firing", a.name, a.severity.empty() ? "no severity" : a.severity));
            if (a.starts_at && (!first_alert || *a.starts_at < *first_alert)) {
                first_alert = a.starts_at;
            }
        }
    }
    bool any_failed = false;
    for (const auto& s : r.sources) {
        any_failed = any_failed || (!s.ok && !s.skipped);
    }
    bool any_signal_data = false;
    for (const auto& s : r.signals) {
        any_signal_data = any_signal_data || s.now.has_value();
    }
    const bool prometheus_answered =
        std::any_of(f.series.begin(), f.series.end(), [](const auto& s) { return s.has_value(); });
    const bool no_metrics = !f.specs.empty() && prometheus_answered && !any_signal_data;
    if (!r.verdict_reasons.empty()) {
        r.verdict = Verdict::degraded;
        r.exit_code = ExitCode::degraded;
    } else if (any_failed || no_metrics) {
        r.verdict = Verdict::unknown;
        r.exit_code = ExitCode::partial;
        if (no_metrics) {
            r.verdict_reasons.push_back(
                "Prometheus has no current data for this service's selector");
        }
    } else {
        r.verdict = Verdict::healthy;
        r.exit_code = ExitCode::success;
    }
    for (const auto& s : r.sources) {
        if (!s.ok && !s.skipped) {
            r.verdict_reasons.push_back(fmt::format("{} could not be checked", s.name));
        }
    }

    // Since.
    if (r.verdict == Verdict::degraded) {
        std::optional<TimePoint> since;
        std::string why;
        if (onset) {
            since = onset->at;
            why = onset->reason;
        }
        if (first_alert && (!since || *first_alert < *since)) {
            since = first_alert;
            why = "the earliest firing alert started";
        }
        if (!since) {
            for (const auto& s : series) {
                const auto b = breach_start(s);
                if (b && (!since || *b < *since)) {
                    since = b;
                    why = b <= s.points.front().time
                              ? fmt::format("{} was over the SLO in all the history looked at",
                                            s.title)
                              : fmt::format("{} crossed the SLO", s.title);
                }
            }
        }
        if (r.rollout && r.rollout->state == RolloutState::failed && f.kube) {
            if (const auto* n = newest_revision(*f.kube);
                n != nullptr && n->deployed_at && (!since || *n->deployed_at < *since)) {
                since = n->deployed_at;
                why = fmt::format("the rollout of revision {} began", n->number);
            }
        }
        r.since = since;
        r.since_reason = why;
    }

    // Suspect and rollback target.
    const auto* newest = f.kube ? newest_revision(*f.kube) : nullptr;
    if (r.verdict == Verdict::degraded) {
        if (!revinfos.empty() && !series.empty()) {
            if (const auto s = find_suspect(revinfos, series, onset, options)) {
                r.suspect = SuspectReport{s->revision, s->reason};
            }
        }
        if (!r.suspect && r.rollout && r.rollout->state == RolloutState::failed &&
            newest != nullptr) {
            r.suspect = SuspectReport{
                static_cast<int>(newest->number),
                fmt::format("its rollout failed: {}", r.rollout->problems.empty()
                                                          ? std::string("see rollout")
                                                          : r.rollout->problems.front().raw())};
        }
        if (r.suspect) {
            auto target =
                pick_rollback_target(revinfos, r.suspect->revision, series, f.at, options);
            if (target) {
                r.rollback_target = std::move(*target);
            }
        }
        for (auto& d : r.deploys) {
            d.suspect = r.suspect && d.revision == r.suspect->revision;
            d.target = r.rollback_target && d.revision == r.rollback_target->revision;
        }
    }

    // Recommendations.
    const std::string& svc = f.service;
    const auto gitops = f.kube ? gitops_owner_of(f.kube->deployment) : std::nullopt;
    if (r.rollback_target && r.suspect && gitops && gitops->tool == GitOpsOwner::Tool::argocd) {
        // Argo CD would revert a rollback made here at its next sync: roll back through it.
        r.recommendations.push_back(
            {fmt::format("argocd app history {}", gitops->name),
             fmt::format("{} is managed by Argo CD application {}: find the history ID that "
                         "deployed revision {}'s artifacts",
                         svc, gitops->name, r.rollback_target->revision)});
        r.recommendations.push_back(
            {fmt::format("argocd app rollback {} ID", gitops->name),
             fmt::format("{} (ID from the history above)", r.rollback_target->reason)});
    } else if (r.rollback_target && r.suspect && gitops) {
        // Flux: suspend its reconciliation first, then roll back here, then fix Git and resume.
        const char* kind =
            gitops->tool == GitOpsOwner::Tool::flux_helmrelease ? "helmrelease" : "kustomization";
        r.recommendations.push_back(
            {fmt::format("flux suspend {} {}{}", kind, gitops->name,
                         gitops->namespace_name.empty() ? std::string()
                                                        : " -n " + gitops->namespace_name),
             fmt::format("{} is managed by Flux {} {}: suspend it so it does not revert the "
                         "rollback (resume it "
                         "once Git names the good artifacts)",
                         svc, kind, gitops->name)});
        if (!f.deployer_grant_active) {
            r.recommendations.push_back(
                {request_access_command(svc, k_deployer_role, f.deployer_role_max),
                 "rollback needs an active deployer grant for " + svc + " and none is active"});
        }
        r.recommendations.push_back({fmt::format("oncall rollback {} --to-revision {} --force", svc,
                                                 r.rollback_target->revision),
                                     r.rollback_target->reason});
    } else if (r.rollback_target && r.suspect) {
        if (!f.deployer_grant_active) {
            r.recommendations.push_back(
                {request_access_command(svc, k_deployer_role, f.deployer_role_max),
                 "rollback needs an active deployer grant for " + svc + " and none is active"});
        }
        r.recommendations.push_back(
            {fmt::format("oncall rollback {} --to-revision {}", svc, r.rollback_target->revision),
             r.rollback_target->reason});
        r.recommendations.push_back({fmt::format("oncall status {} --watch", svc),
                                     "follow the rollback until it completes"});
    } else if (r.rollout && r.rollout->state != RolloutState::complete) {
        r.recommendations.push_back(
            {fmt::format("oncall status {} --watch", svc),
             fmt::format("the rollout is {}", rollout_state_name(r.rollout->state))});
    }
    if (r.verdict == Verdict::degraded && !r.suspect) {
        r.recommendations.push_back(
            {fmt::format("oncall history {}", svc),
             "no deploy in the window explains the change; compare what ran when"});
    }
    std::set<std::string> drift_done;
    for (const auto& d : r.drift) {
        if (d.kind == DriftKind::mutable_tag && drift_done.insert("tag:" + d.container).second) {
            r.recommendations.push_back(
                {fmt::format("oncall redeploy {} --image {}={}", svc, d.container, d.running),
                 fmt::format("the template runs the mutable tag {}; redeploy resolves it and pins "
                             "the digest",
                             d.running)});
        } else if (d.kind == DriftKind::image_mismatch && drift_done.insert("pods").second) {
            r.recommendations.push_back(
                {fmt::format("oncall redeploy {}", svc),
                 "replaces the pods so every one runs the artifact its revision names"});
        }
    }
    return r;
}

} // namespace oncall::ops
