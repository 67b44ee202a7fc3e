#include "workload.h"

#include "log_template.h"
#include "traffic.h"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>
#include <map>
#include <set>

namespace sandbox {
namespace {

constexpr std::int64_t k_log_interval_ms = 500; // one log line per pod every half second
constexpr std::int64_t k_log_retention_ms = 10 * 60 * 1000; // older lines have been rotated away
constexpr std::size_t k_max_log_lines = 2000;
constexpr std::int64_t k_epoch_slack_ms =
    120 * 1000; // how long before construction the epoch may be

std::int64_t to_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string log_timestamp(std::int64_t ms) {
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

Behavior fallback_behavior() {
    Behavior b;
    b.name = "unknown";
    return b;
}

const std::vector<std::string>& default_log_lines() {
    static const std::vector<std::string> lines = {
        "level=info msg=\"request served\" method=GET status=200 duration_ms={ms} "
        "trace_id={trace_id}",
        "level=error msg=\"request failed\" status=500 duration_ms={ms} trace_id={trace_id}",
    };
    return lines;
}

} // namespace

struct Workload::Impl {
    struct PodState {
        PodRuntime runtime;
        Behavior behavior;
        std::uint64_t seed = 0;
        Traffic base;                   // traffic of closed segments
        std::int64_t segment_start = 0; // start of the current segment
        bool ever_served = false;
        std::int64_t log_start = 0; // first instant the pod wrote traffic logs
        std::int64_t log_end = -1;  // last instant it served (-1: still serving)
        std::string waiting_reason; // CrashLoopBackOff / ImagePullBackOff, from its image
    };

    Scenario scenario;
    std::int64_t epoch_ms = 0;
    bool exact_epoch = false; // the epoch is the one the backfill used (not just construction time)
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    // The workload's clock: the epoch plus the time since construction, as the sandbox's own clock,
    // so pod changes and renders share one time line.
    std::int64_t clock_ms() const {
        return epoch_ms + std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
    }
    bool seen_pods = false;
    std::mutex mutex;
    std::map<std::string, PodState> pods; // key: namespace/pod

    Behavior behavior_of(const std::string& image_ref) const {
        const auto* b = behavior_for_image(scenario, image_ref);
        return b != nullptr ? *b : fallback_behavior();
    }

    // Closes the pod's current segment at `now`, folding its traffic into the base.
    void close_segment(PodState& p, std::int64_t now) {
        if (p.runtime.serving) {
            p.base += traffic_between(p.behavior, p.seed, p.segment_start, now);
        }
        p.segment_start = now;
    }

    Traffic traffic_at(const PodState& p, std::int64_t now) const {
        Traffic t = p.base;
        if (p.runtime.serving) {
            t += traffic_between(p.behavior, p.seed, p.segment_start,
                                 std::max(now, p.segment_start));
        }
        return t;
    }

    // Traffic a pod serving for `age` ms before the epoch has answered by the epoch. Without the
    // exact epoch the backfill ended at (it precedes construction by the start-up's few seconds),
    // the largest value any epoch in the last two minutes would give is taken, per status code: the
    // counters may step up slightly, but never fall below the backfilled ones (a fall is a reset).
    Traffic adopted_base(const Behavior& behavior, const PlannedPod& plan, std::int64_t age) const {
        if (exact_epoch) {
            return traffic_between(behavior, plan.seed, epoch_ms - age, epoch_ms);
        }
        Traffic best;
        for (std::int64_t back = 0; back <= k_epoch_slack_ms; back += 1000) {
            const auto t =
                traffic_between(behavior, plan.seed, epoch_ms - back - age, epoch_ms - back);
            for (std::size_t c = 0; c < best.by_code.size(); ++c) {
                best.by_code[c] = std::max(best.by_code[c], t.by_code[c]);
            }
        }
        const double total = best.total();
        for (std::size_t i = 0; i < k_latency_buckets.size(); ++i) {
            best.buckets[i] = total * latency_cdf(behavior, k_latency_buckets[i]);
        }
        const auto reference = traffic_between(behavior, plan.seed, epoch_ms - age, epoch_ms);
        best.latency_sum =
            reference.total() > 0 ? reference.latency_sum / reference.total() * total : 0.0;
        return best;
    }

    // Pods present at start-up take over the backfilled series of the scenario pod in the same
    // place (see pair_live_pods).
    void adopt_history(const std::vector<PodState*>& fresh, std::int64_t now) {
        const auto plans = plan_history(scenario, epoch_ms);
        std::vector<LivePod> live;
        for (const auto* pod : fresh) {
            live.push_back({pod->runtime.namespace_name, pod->runtime.service, pod->runtime.pod,
                            pod->behavior.name});
        }
        const auto pairs = pair_live_pods(plans, live, scenario.namespace_name);
        for (std::size_t i = 0; i < fresh.size(); ++i) {
            if (pairs[i] < 0) {
                continue;
            }
            auto& pod = *fresh[i];
            const auto& plan = plans[static_cast<std::size_t>(pairs[i])];
            if (!plan.waiting_reason.empty()) {
                continue; // it never served: nothing to continue
            }
            pod.seed = plan.seed;
            pod.log_start = plan.start_ms;
            pod.base = adopted_base(pod.behavior, plan, epoch_ms - plan.start_ms);
            pod.segment_start = epoch_ms;
            if (!pod.runtime.serving) {
                close_segment(pod, now);
            }
            pod.ever_served = true;
        }
    }

    void set_pods(std::vector<PodRuntime> runtimes, std::int64_t now) {
        std::set<std::string> present;
        std::vector<PodState*> fresh;
        for (auto& r : runtimes) {
            const auto key = r.namespace_name + "/" + r.pod;
            present.insert(key);
            auto it = pods.find(key);
            if (it == pods.end()) {
                PodState p;
                p.behavior = behavior_of(r.image_ref);
                p.waiting_reason = waiting_reason(scenario, r.image_ref);
                p.seed = series_seed(r.namespace_name, r.pod);
                p.runtime = std::move(r);
                p.segment_start = now;
                p.log_start = now;
                p.ever_served = p.runtime.serving;
                if (!p.runtime.serving) {
                    p.log_end = now;
                }
                auto& stored = pods.emplace(key, std::move(p)).first->second;
                fresh.push_back(&stored);
                continue;
            }
            auto& p = it->second;
            if (p.runtime.serving != r.serving || p.runtime.image_ref != r.image_ref) {
                close_segment(p, now);
                if (p.runtime.image_ref != r.image_ref) {
                    p.behavior = behavior_of(r.image_ref);
                    p.waiting_reason = waiting_reason(scenario, r.image_ref);
                }
                if (r.serving && !p.runtime.serving) {
                    if (!p.ever_served) {
                        p.log_start = now;
                    }
                    p.log_end = -1;
                } else if (!r.serving && p.runtime.serving) {
                    p.log_end = now;
                }
                p.ever_served = p.ever_served || r.serving;
            }
            p.runtime = std::move(r);
        }
        for (auto it = pods.begin(); it != pods.end();) {
            it = present.count(it->first) != 0 ? std::next(it) : pods.erase(it);
        }
        if (!seen_pods) {
            seen_pods = true;
            adopt_history(fresh, now);
        }
    }

    std::string render(std::int64_t now) {
        std::vector<const PodState*> shown;
        for (const auto& [key, p] : pods) {
            if (p.ever_served) {
                shown.push_back(&p);
            }
        }
        std::sort(shown.begin(), shown.end(), [](const PodState* a, const PodState* b) {
            return std::tie(a->runtime.namespace_name, a->runtime.service, a->runtime.pod) <
                   std::tie(b->runtime.namespace_name, b->runtime.service, b->runtime.pod);
        });
        std::vector<std::pair<std::string, Traffic>> rows;
        rows.reserve(shown.size());
        for (const auto* p : shown) {
            rows.emplace_back(
                pod_labels(p->runtime.namespace_name, p->runtime.service, p->runtime.pod),
                traffic_at(*p, now));
        }
        std::vector<std::pair<std::string, std::string>> waiting;
        for (const auto& [key, p] : pods) {
            if (!p.waiting_reason.empty()) {
                waiting.emplace_back(
                    pod_labels(p.runtime.namespace_name, p.runtime.service, p.runtime.pod),
                    p.waiting_reason);
            }
        }
        std::sort(waiting.begin(), waiting.end());
        std::string out;
        out.reserve(rows.size() * 2600 + 256);
        out += "# HELP http_requests_total Requests answered, by status code.\n"
               "# TYPE http_requests_total counter\n";
        for (const auto& [labels, traffic] : rows) {
            append_request_lines(out, labels, traffic, "");
        }
        out += "# HELP http_request_duration_seconds Time to answer a request.\n"
               "# TYPE http_request_duration_seconds histogram\n";
        for (const auto& [labels, traffic] : rows) {
            append_histogram_lines(out, labels, traffic, "");
        }
        out += "# HELP kube_pod_container_info The image each pod runs.\n"
               "# TYPE kube_pod_container_info gauge\n";
        for (const auto& [key, p] : pods) {
            append_info_line(out,
                             pod_labels(p.runtime.namespace_name, p.runtime.service, p.runtime.pod),
                             p.runtime.image_ref);
        }
        out += "# HELP kube_pod_container_status_waiting_reason Why a pod's container is waiting.\n"
               "# TYPE kube_pod_container_status_waiting_reason gauge\n";
        for (const auto& [labels, reason] : waiting) {
            append_waiting_line(out, labels, reason, "");
        }
        return out;
    }

    std::vector<std::string> logs(const std::string& namespace_name, const std::string& pod_name,
                                  std::optional<int> tail_lines,
                                  std::optional<std::chrono::seconds> since, std::int64_t now) {
        const auto it = pods.find(namespace_name + "/" + pod_name);
        if (it == pods.end()) {
            return {};
        }
        const auto& p = it->second;
        const LogContext context{p.runtime.namespace_name, p.runtime.service, p.runtime.pod,
                                 p.behavior.latency_p50, p.behavior.latency_p99};
        const auto& templates =
            p.behavior.log_lines.empty() ? default_log_lines() : p.behavior.log_lines;
        std::int64_t from = 0;
        std::int64_t to = 0;
        std::vector<std::pair<std::int64_t, std::string>> lines;
        if (p.behavior.crash) {
            // The current container's short life: its lines in order, ending just now.
            const auto n = static_cast<std::int64_t>(templates.size());
            for (std::int64_t i = 0; i < n; ++i) {
                const std::int64_t at = now - (n - i) * 40;
                lines.emplace_back(
                    at, render_log_template(templates[static_cast<std::size_t>(i)], context,
                                            p.seed ^ static_cast<std::uint64_t>(now / 10000 + i)));
            }
        } else {
            if (!p.ever_served) {
                return {};
            }
            to = p.log_end >= 0 ? std::min(p.log_end, now) : now;
            from = std::max(p.log_start, to - k_log_retention_ms);
            if (since) {
                from = std::max(from, now - since->count() * 1000);
            }
            std::int64_t first_slot = (from + k_log_interval_ms - 1) / k_log_interval_ms;
            const std::int64_t last_slot = (to - 1) / k_log_interval_ms;
            std::size_t want = k_max_log_lines;
            if (tail_lines) {
                want = std::min(want, static_cast<std::size_t>(std::max(0, *tail_lines)));
            }
            first_slot = std::max(first_slot, last_slot - static_cast<std::int64_t>(want) + 1);
            std::vector<const std::string*> ok_lines, error_lines;
            for (const auto& t : templates) {
                (is_error_template(t) ? error_lines : ok_lines).push_back(&t);
            }
            for (std::int64_t slot = first_slot; slot <= last_slot; ++slot) {
                std::uint64_t state =
                    p.seed ^ (static_cast<std::uint64_t>(slot) * 0xd1b54a32d192ed03ULL);
                const double u = static_cast<double>(split_mix(state) >> 11) * 0x1.0p-53;
                const auto& pool =
                    (u < p.behavior.error_ratio && !error_lines.empty()) || ok_lines.empty()
                        ? error_lines
                        : ok_lines;
                const auto* text = pool[split_mix(state) % pool.size()];
                lines.emplace_back(slot * k_log_interval_ms,
                                   render_log_template(*text, context, split_mix(state)));
            }
        }
        std::vector<std::string> out;
        for (const auto& [at, text] : lines) {
            if (since && at < now - since->count() * 1000) {
                continue;
            }
            out.push_back("ts=" + log_timestamp(at) + " " + text);
        }
        if (tail_lines && out.size() > static_cast<std::size_t>(std::max(0, *tail_lines))) {
            out.erase(out.begin(), out.end() - std::max(0, *tail_lines));
        }
        return out;
    }
};

Workload::Workload(const Scenario& scenario)
    : Workload(scenario, std::chrono::system_clock::now()) {
    m_impl->exact_epoch = false;
}

Workload::Workload(const Scenario& scenario, std::chrono::system_clock::time_point epoch)
    : m_impl(std::make_shared<Impl>()) {
    m_impl->scenario = scenario;
    m_impl->epoch_ms = to_ms(epoch);
    m_impl->exact_epoch = true;
}

void Workload::set_pods(std::vector<PodRuntime> pods) {
    std::lock_guard lock(m_impl->mutex);
    m_impl->set_pods(std::move(pods), m_impl->clock_ms());
}

std::string Workload::render_metrics(std::chrono::system_clock::time_point now) {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->render(std::max(to_ms(now), m_impl->epoch_ms));
}

std::vector<std::string> Workload::pod_logs(const std::string& namespace_name,
                                            const std::string& pod, std::optional<int> tail_lines,
                                            std::optional<std::chrono::seconds> since,
                                            std::chrono::system_clock::time_point now) {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->logs(namespace_name, pod, tail_lines, since, to_ms(now));
}

} // namespace sandbox
