// Gathering triage facts: every source at once, each with its own deadline.

#include "oncall/backends/endpoint.h"
#include "oncall/core/duration.h"
#include "oncall/core/live.h"
#include "oncall/ops/grants.h"
#include "oncall/ops/silences.h"
#include "oncall/ops/triage.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fmt/format.h>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace oncall::ops {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

milliseconds since(Steady::time_point start) {
    return std::chrono::duration_cast<milliseconds>(Steady::now() - start);
}

milliseconds deadline_of(const config::Endpoint& e, const TriageRequest& req) {
    return e.timeout.count() > 0 ? e.timeout : req.source_timeout;
}

Result<backends::EndpointClient> http_client_for(std::string_view name, const config::Endpoint& e,
                                                 milliseconds deadline, const TriageRequest& req,
                                                 const config::KubernetesConfig& kubernetes) {
    backends::EndpointDefaults defaults;
    defaults.timeout = deadline;
    defaults.connect_timeout = std::min(deadline, milliseconds(3000));
    defaults.retry =
        http::RetryPolicy::none(); // the deadline is short; a failed source is reported instead
    defaults.log = req.log;
    return backends::make_endpoint_client(name, e, defaults, kubernetes);
}

// What the source is, before its client exists: the (first) URL or the kube-service.
std::string shown_endpoint(const config::Endpoint& e) {
    if (e.kube_service.configured()) {
        return "kube-service " + e.kube_service.text();
    }
    std::string urls;
    for (const auto& u : e.urls) {
        urls += (urls.empty() ? "" : ", ") + http::redact_url(u);
    }
    return urls;
}

// "prometheus at URL: timed out after 3s" instead of the transport's wording.
Error source_error(Error e, const std::string& name, const std::string& url,
                   milliseconds deadline) {
    if (e.code == Errc::timeout) {
        e.message =
            fmt::format("{} at {}: timed out after {}", name, url, format_duration(deadline));
    } else if (e.message.rfind(name + " at ", 0) != 0) {
        e.message = fmt::format("{} at {}: {}", name, url, e.message);
    }
    return e;
}

struct PrometheusPart {
    SourceStatus status;
    std::vector<std::optional<SignalSeries>> series;
};

PrometheusPart collect_prometheus(const config::Endpoint& e,
                                  const config::KubernetesConfig& kubernetes,
                                  const std::vector<SignalSpec>& specs, TimePoint at,
                                  const TriageRequest& req) {
    PrometheusPart part;
    part.status.name = "prometheus";
    part.series.resize(specs.size());
    if (!e.configured()) {
        part.status.skipped = true;
        part.status.error = make_error(Errc::config, "not configured");
        return part;
    }
    const auto started = Steady::now();
    const auto deadline = deadline_of(e, req);
    part.status.url = shown_endpoint(e);
    auto http = http_client_for("prometheus", e, deadline, req, kubernetes);
    if (!http) {
        part.status.error =
            source_error(std::move(http).error(), "prometheus", part.status.url, deadline);
        return part;
    }
    const prometheus::Client client(http->client, http->urls.front());
    part.status.url = client.redacted_url();
    auto step = req.step;
    if (step.count() <= 0) {
        step = std::max<milliseconds>(std::chrono::seconds(15),
                                      std::max(req.window, req.lookback) / 240);
    }
    std::vector<prometheus::Query> queries;
    for (const auto& spec : specs) {
        // History reaches back past the window so that an older onset, its suspect and the revision
        // before it can still be found; the screen shows the window.
        const auto from = at - std::max(req.window, req.lookback);
        queries.emplace_back(prometheus::RangeQuery{spec.query, from, at, step, deadline});
    }
    auto answers = client.query_all(queries, req.sequential);
    part.status.requests = static_cast<int>(queries.size());
    int failed = 0;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        auto& decoded = answers[i];
        if (!decoded) {
            ++failed;
            if (!part.status.error) {
                part.status.error = source_error(std::move(decoded).error(), "prometheus",
                                                 part.status.url, deadline);
            }
            continue;
        }
        for (const auto& w : decoded->warnings) {
            part.status.warnings.push_back(fmt::format("{}: {}", specs[i].name, w));
        }
        part.series[i] = to_signal_series(specs[i], *decoded);
    }
    part.status.ok = failed == 0;
    if (failed > 0 && failed < static_cast<int>(specs.size()) && part.status.error) {
        part.status.error->message +=
            fmt::format(" ({} of {} queries failed)", failed, specs.size());
    }
    part.status.elapsed = since(started);
    return part;
}

struct AlertPart {
    SourceStatus status;
    std::optional<std::vector<alertmanager::Alert>> alerts;
    std::optional<std::vector<alertmanager::Silence>> silences;
};

std::vector<std::string> alert_filter(const config::Service& svc) {
    return svc.alerts.empty() ? std::vector<std::string>{fmt::format("service=\"{}\"", svc.name)}
                              : svc.alerts;
}

// A stable fingerprint of a label set (FNV-1a), for alerts read from Prometheus' ALERTS series.
std::string label_fingerprint(const std::map<std::string, std::string>& labels) {
    std::uint64_t h = 14695981039346656037ULL;
    for (const auto& [k, v] : labels) {
        for (const auto* part : {&k, &v}) {
            for (unsigned char c : *part) {
                h = (h ^ c) * 1099511628211ULL;
            }
            h = (h ^ 0xff) * 1099511628211ULL;
        }
    }
    return fmt::format("{:016x}", h);
}

// Alerts as of a past moment: Alertmanager keeps no history, Prometheus' ALERTS series do.
AlertPart collect_past_alerts(const config::Endpoint& prom,
                              const config::KubernetesConfig& kubernetes,
                              const config::Service& svc, TimePoint at, const TriageRequest& req) {
    AlertPart part;
    part.status.name = "alertmanager";
    if (!prom.configured()) {
        part.status.skipped = true;
        part.status.error = make_error(
            Errc::config, "alerts as of --at come from Prometheus, which is not configured");
        return part;
    }
    const auto started = Steady::now();
    const auto deadline = deadline_of(prom, req);
    part.status.url = shown_endpoint(prom);
    std::vector<backends::Matcher> matchers;
    for (const auto& entry : alert_filter(svc)) {
        auto m = backends::parse_selector(entry);
        if (!m) {
            part.status.error = m.error();
            return part;
        }
        matchers.insert(matchers.end(), m->begin(), m->end());
    }
    const auto selector = backends::format_selector(matchers);
    auto http = http_client_for("prometheus", prom, deadline, req, kubernetes);
    if (!http) {
        part.status.error =
            source_error(std::move(http).error(), "prometheus", part.status.url, deadline);
        return part;
    }
    const prometheus::Client client(http->client, http->urls.front());
    part.status.url = client.redacted_url() + " (ALERTS series)";
    auto answers = client.query_all(
        {prometheus::InstantQuery{fmt::format("ALERTS{{alertstate=\"firing\",{}}}", selector), at,
                                  deadline},
         prometheus::InstantQuery{fmt::format("ALERTS_FOR_STATE{{{}}}", selector), at, deadline}},
        req.sequential);
    part.status.requests = 2;
    auto& firing = answers[0];
    auto& active_since = answers[1];
    part.status.elapsed = since(started);
    if (!firing) {
        part.status.error =
            source_error(std::move(firing).error(), "prometheus", client.redacted_url(), deadline);
        return part;
    }
    std::map<std::map<std::string, std::string>, TimePoint> starts;
    if (active_since) {
        for (const auto& series : active_since->series) {
            auto labels = series.labels;
            labels.erase("__name__");
            if (!series.samples.empty() && std::isfinite(series.samples[0].value)) {
                starts[labels] = TimePoint(
                    milliseconds(static_cast<long long>(series.samples[0].value * 1000.0)));
            }
        }
    }
    std::vector<alertmanager::Alert> alerts;
    for (const auto& series : firing->series) {
        auto labels = series.labels;
        labels.erase("__name__");
        labels.erase("alertstate");
        alertmanager::Alert a;
        a.labels = labels;
        a.name = labels.count("alertname") ? labels.at("alertname") : std::string();
        a.severity = labels.count("severity") ? labels.at("severity") : std::string();
        a.state = "active";
        a.fingerprint = label_fingerprint(labels);
        if (const auto it = starts.find(labels); it != starts.end()) {
            a.starts_at = it->second;
        }
        a.summary = "(as recorded by Prometheus; annotations are not kept in history)";
        alerts.push_back(std::move(a));
    }
    part.status.ok = true;
    part.status.warnings.push_back(
        "Alertmanager keeps no history: alerts as of --at come from Prometheus' ALERTS series");
    part.alerts = std::move(alerts);
    return part;
}

// The service's active silences: those carrying its matchers, and any that silence its alerts.
std::vector<alertmanager::Silence>
service_silences(std::vector<alertmanager::Silence> all, const config::Service& svc,
                 const std::vector<alertmanager::Alert>& alerts) {
    std::set<std::string> silencing;
    for (const auto& a : alerts) {
        silencing.insert(a.silenced_by.begin(), a.silenced_by.end());
    }
    std::vector<alertmanager::Silence> out;
    for (auto& s : all) {
        if (s.state == "active" && (silencing.count(s.id) != 0 || silence_covers_service(s, svc))) {
            out.push_back(std::move(s));
        }
    }
    return out;
}

AlertPart collect_alerts(const config::Endpoint& e, const config::KubernetesConfig& kubernetes,
                         const config::Service& svc, const TriageRequest& req) {
    AlertPart part;
    part.status.name = "alertmanager";
    if (!e.configured()) {
        part.status.skipped = true;
        part.status.error = make_error(Errc::config, "not configured");
        return part;
    }
    std::string urls = shown_endpoint(e);
    part.status.url = urls;
    const auto started = Steady::now();
    const auto deadline = deadline_of(e, req);
    auto http = http_client_for("alertmanager", e, deadline, req, kubernetes);
    if (!http) {
        part.status.error = source_error(std::move(http).error(), "alertmanager", urls, deadline);
        return part;
    }
    const alertmanager::Client client(http->client, http->urls);
    urls = client.redacted_urls();
    part.status.url = urls;
    alertmanager::AlertQuery q;
    q.filter = alert_filter(svc);
    q.active = true;
    q.silenced = true;
    q.inhibited = true;
    q.timeout = deadline;
    auto requests = client.requests(q);
    if (!requests) {
        part.status.error = requests.error();
        return part;
    }
    // The silences go out with the alerts (same batch, same deadline).
    const std::size_t alert_requests = requests->size();
    if (auto silence_requests = client.silence_requests({}, deadline); silence_requests) {
        requests->insert(requests->end(), silence_requests->begin(), silence_requests->end());
    }
    std::vector<Result<http::Response>> responses;
    if (req.sequential) {
        for (const auto& r : *requests) {
            responses.push_back(client.http().perform(r));
        }
    } else {
        responses = client.http().perform_all(*requests, requests->size());
    }
    part.status.requests = static_cast<int>(requests->size());
    // Per-peer timeouts get the uniform wording.
    for (std::size_t i = 0; i < responses.size(); ++i) {
        if (!responses[i] && responses[i].error().code == Errc::timeout) {
            responses[i] = make_error(Errc::timeout,
                                      fmt::format("timed out after {}", format_duration(deadline)));
        }
    }
    std::vector<Result<http::Response>> silence_responses(
        std::make_move_iterator(responses.begin() + static_cast<std::ptrdiff_t>(alert_requests)),
        std::make_move_iterator(responses.end()));
    responses.erase(responses.begin() + static_cast<std::ptrdiff_t>(alert_requests),
                    responses.end());
    auto set = client.decode(responses);
    part.status.elapsed = since(started);
    if (!silence_responses.empty()) {
        if (auto silences = client.decode_silence_list(silence_responses); silences) {
            part.silences =
                service_silences(std::move(silences->silences), svc,
                                 set ? set->alerts : std::vector<alertmanager::Alert>{});
        } else {
            part.status.warnings.push_back("silences: " + silences.error().message);
        }
    }
    if (!set) {
        part.status.error = source_error(std::move(set).error(), "alertmanager", urls, deadline);
        return part;
    }
    for (const auto& err : set->errors) {
        part.status.warnings.push_back(err.message + " (the other peer answered)");
    }
    part.status.ok = true;
    part.alerts = std::move(set->alerts);
    return part;
}

struct KubePart {
    SourceStatus status;
    std::optional<KubeFacts> facts;
};

KubePart collect_kube(const config::Context& ctx, const config::Service& svc, TimePoint at,
                      const TriageRequest& req) {
    KubePart part;
    part.status.name = "kubernetes";
    const auto started = Steady::now();
    const auto deadline = req.source_timeout;
    auto conn =
        kube::resolve_connection(ctx.kubernetes, kube::ResolveOptions{true, req.log, deadline});
    if (!conn) {
        part.status.error = std::move(conn).error();
        return part;
    }
    part.status.url = http::redact_url(conn->server);
    const kube::KubeClient client(*conn, req.log, deadline);
    const auto fail = [&](Error e) {
        part.status.error = source_error(std::move(e), "kubernetes", part.status.url, deadline);
        part.status.elapsed = since(started);
    };
    const auto out_of_time = [&] {
        if (since(started) >= deadline) {
            fail(make_error(Errc::timeout, "deadline"));
            return true;
        }
        return false;
    };
    const std::string ns = svc.namespace_name.empty() ? conn->namespace_name : svc.namespace_name;
    const std::string name = svc.deployment.empty() ? svc.name : svc.deployment;
    KubeFacts facts;
    facts.live = at >= now() - k_live_within;
    auto dep = client.get_deployment(ns, name);
    ++part.status.requests;
    if (!dep) {
        fail(std::move(dep).error());
        return part;
    }
    facts.deployment = std::move(*dep);
    if (out_of_time()) {
        return part;
    }
    // The revisions (ReplicaSets) and the pods share the Deployment's selector: both lists at once.
    kube::ListOptions lo;
    lo.label_selector = facts.deployment.selector_string();
    std::future<Result<kube::List<kube::Pod>>> pods_future;
    if (facts.live) {
        pods_future = std::async(req.sequential ? std::launch::deferred : std::launch::async,
                                 [&client, &ns, &lo] { return client.list_pods(ns, lo); });
    }
    auto replicasets = client.list_replicasets(ns, lo);
    ++part.status.requests;
    Result<std::vector<kube::Revision>> revs = std::vector<kube::Revision>{};
    if (replicasets) {
        revs = kube::revisions_of(facts.deployment, replicasets->items);
        facts.replicasets = std::move(replicasets->items);
    } else {
        revs = std::move(replicasets).error();
    }
    Result<kube::List<kube::Pod>> all_pods = kube::List<kube::Pod>{};
    if (pods_future.valid()) {
        all_pods = pods_future.get();
        ++part.status.requests;
    }
    if (!revs) {
        fail(std::move(revs).error());
        return part;
    }
    facts.revisions = std::move(*revs);
    if (facts.live && !facts.revisions.empty()) {
        if (!all_pods) {
            fail(std::move(all_pods).error());
            return part;
        }
        if (out_of_time()) {
            return part;
        }
        // Pods of the newest ReplicaSet (the one the rollout moves to).
        const auto newest = std::max_element(
            facts.revisions.begin(), facts.revisions.end(),
            [](const kube::Revision& a, const kube::Revision& b) { return a.number < b.number; });
        const auto hash = newest->pod_template.labels.find(kube::k_pod_template_hash_label);
        for (auto& pod : all_pods->items) {
            const auto h = pod.metadata.labels.find(kube::k_pod_template_hash_label);
            if (hash == newest->pod_template.labels.end() ||
                (h != pod.metadata.labels.end() && h->second == hash->second)) {
                facts.pods.push_back(std::move(pod));
            }
        }
        std::sort(facts.pods.begin(), facts.pods.end(), [](const kube::Pod& a, const kube::Pod& b) {
            return a.metadata.name < b.metadata.name;
        });
        if (out_of_time()) {
            return part;
        }
        // Recent log lines of up to four pods, fetched at once; a failed log read is a warning.
        std::vector<std::future<std::pair<std::string, Result<std::string>>>> logs;
        const std::size_t n = std::min<std::size_t>(facts.pods.size(), 4);
        const auto since_seconds =
            static_cast<int>(std::max<long long>(60, req.window.count() / 1000));
        for (std::size_t i = 0; i < n; ++i) {
            const auto& pod = facts.pods[i];
            const std::string container =
                pod.containers.empty() ? std::string() : pod.containers.front().name;
            const auto fetch = [&client, ns, pod_name = pod.metadata.name, container, &req,
                                since_seconds] {
                return std::pair{pod_name, client.pod_logs(ns, pod_name, container,
                                                           static_cast<int>(req.log_tail_lines),
                                                           since_seconds)};
            };
            logs.push_back(
                std::async(req.sequential ? std::launch::deferred : std::launch::async, fetch));
        }
        for (auto& f : logs) {
            auto [pod_name, text] = f.get();
            ++part.status.requests;
            if (!text) {
                part.status.warnings.push_back(
                    fmt::format("logs of {}: {}", pod_name, text.error().message));
                continue;
            }
            std::size_t pos = 0;
            while (pos < text->size()) {
                auto end = text->find('\n', pos);
                if (end == std::string::npos) {
                    end = text->size();
                }
                if (end > pos) {
                    facts.log_lines.push_back(text->substr(pos, end - pos));
                }
                pos = end + 1;
            }
        }
    }
    part.status.ok = true;
    part.status.elapsed = since(started);
    part.facts = std::move(facts);
    return part;
}

} // namespace

Result<TriageFacts> collect(const config::Context& context, const config::Service& service,
                            const TriageRequest& request) {
    auto specs = signals_for(service);
    if (!specs) {
        return std::move(specs).error();
    }
    for (const auto& a : service.alerts) {
        if (auto m = backends::parse_selector(a); !m) {
            Error e = std::move(m).error();
            e.message = fmt::format("service {}: alerts: {}", service.name, e.message);
            return e;
        }
    }
    TriageFacts facts;
    facts.service = service.name;
    facts.context = context.name;
    facts.at = request.at.value_or(now());
    facts.window = request.window;
    facts.specs = *specs;

    const auto launch = request.sequential ? std::launch::deferred : std::launch::async;
    auto prom = std::async(launch, [&] {
        return collect_prometheus(context.prometheus, context.kubernetes, facts.specs, facts.at,
                                  request);
    });
    const bool past = facts.at < now() - k_live_within;
    auto alerts = std::async(launch, [&] {
        return past ? collect_past_alerts(context.prometheus, context.kubernetes, service, facts.at,
                                          request)
                    : collect_alerts(context.alertmanager, context.kubernetes, service, request);
    });
    auto kube =
        std::async(launch, [&] { return collect_kube(context, service, facts.at, request); });

    // Without access.require-grant, writes need no grant, so none is recommended.
    if (!context.access.require_grant) {
        facts.deployer_grant_active = true;
    } else if (auto grant = find_active_grant(context.name, service.name);
               grant && grant->active()) {
        facts.deployer_grant_active = true;
    }
    const auto roles = effective_roles(context.access);
    if (const auto role = roles.find(k_deployer_role); role != roles.end()) {
        facts.deployer_role_max = role->second.max;
    }

    auto p = prom.get();
    auto a = alerts.get();
    auto k = kube.get();
    facts.series = std::move(p.series);
    facts.alerts = std::move(a.alerts);
    facts.silences = std::move(a.silences);
    facts.kube = std::move(k.facts);
    facts.sources = {std::move(p.status), std::move(a.status), std::move(k.status)};
    return facts;
}

Result<TriageReport> triage(const config::Context& context, const config::Service& service,
                            const TriageRequest& request) {
    auto facts = collect(context, service, request);
    if (!facts) {
        return std::move(facts).error();
    }
    return build_report(*facts);
}

std::pair<std::vector<std::string>, std::optional<Error>>
overview_services(const config::Config& config, const config::Context& context) {
    std::vector<std::string> names;
    for (const auto& [name, svc] : config.services) {
        names.push_back(name);
    }
    std::optional<Error> error;
    auto conn = kube::resolve_connection(context.kubernetes);
    if (!conn) {
        error = conn.error();
    } else {
        const kube::KubeClient client(*conn, {}, std::chrono::seconds(5));
        auto list = client.list("/apis/apps/v1/namespaces/" +
                                http::url_encode(conn->namespace_name) + "/deployments");
        if (!list) {
            error = list.error();
        } else {
            for (const auto& item : list->items) {
                auto d = kube::decode_deployment(item);
                if (d && config::is_dns1123_label(d->metadata.name)) {
                    names.push_back(d->metadata.name);
                }
            }
        }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return {names, error};
}

std::vector<OverviewLine> overview(const config::Config& config, const config::Context& context,
                                   const std::vector<std::string>& services,
                                   const TriageRequest& request, std::size_t parallel) {
    std::vector<OverviewLine> lines(services.size());
    std::atomic<std::size_t> next{0};
    const auto worker = [&] {
        for (std::size_t i = next++; i < services.size(); i = next++) {
            OverviewLine& line = lines[i];
            line.service = services[i];
            auto svc = config::service_for(config, context, services[i]);
            if (!svc) {
                line.verdict = Verdict::unknown;
                line.exit_code = ExitCode::usage;
                line.summary = svc.error().message;
                continue;
            }
            TriageRequest req = request;
            req.service = services[i];
            auto report = triage(context, *svc, req);
            if (!report) {
                line.verdict = Verdict::unknown;
                line.exit_code = exit_code_for(report.error());
                line.summary = report.error().message;
                continue;
            }
            line.verdict = report->verdict;
            line.exit_code = report->exit_code;
            line.since = report->since;
            line.suspect = report->suspect;
            if (report->rollout) {
                line.rollout = report->rollout->state;
                if (!report->rollout->problems.empty() &&
                    report->rollout->state == RolloutState::failed) {
                    line.rollout_reason = report->rollout->problems.front();
                }
            }
            line.summary = report->verdict_reasons.empty()
                               ? std::string("all signals within their SLO")
                               : report->verdict_reasons.front();
            for (const auto& s : report->sources) {
                if (!s.ok && !s.skipped) {
                    line.failed_sources.push_back(s.name);
                }
            }
        }
    };
    std::vector<std::thread> threads;
    const auto n = std::max<std::size_t>(1, std::min(parallel, services.size()));
    for (std::size_t t = 0; t < n; ++t) {
        threads.emplace_back(worker);
    }
    for (auto& t : threads) {
        t.join();
    }
    const auto rank = [](ExitCode c) {
        switch (c) {
        case ExitCode::degraded:
            return 0;
        case ExitCode::success:
            return 3;
        case ExitCode::partial:
            return 1;
        default:
            return 2;
        }
    };
    std::stable_sort(lines.begin(), lines.end(), [&](const OverviewLine& a, const OverviewLine& b) {
        if (rank(a.exit_code) != rank(b.exit_code)) {
            return rank(a.exit_code) < rank(b.exit_code);
        }
        return a.service < b.service;
    });
    return lines;
}

} // namespace oncall::ops
