#include "backfill.h"

#include "traffic.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>

namespace sandbox {
namespace {

std::string timestamp_suffix(std::int64_t ms) {
    return fmt::format(" {}.{:03}", ms / 1000, ms % 1000);
}

// Label pairs of one exposition line's {...}; empty when malformed.
std::map<std::string, std::string> parse_labels(std::string_view line) {
    std::map<std::string, std::string> out;
    auto pos = line.find('{');
    if (pos == std::string_view::npos) {
        return out;
    }
    ++pos;
    while (pos < line.size() && line[pos] != '}') {
        const auto eq = line.find("=\"", pos);
        if (eq == std::string_view::npos) {
            return {};
        }
        std::string name(line.substr(pos, eq - pos));
        std::string value;
        std::size_t i = eq + 2;
        for (; i < line.size() && line[i] != '"'; ++i) {
            if (line[i] == '\\' && i + 1 < line.size()) {
                ++i;
                value.push_back(line[i] == 'n' ? '\n' : line[i]);
            } else {
                value.push_back(line[i]);
            }
        }
        if (i >= line.size()) {
            return {};
        }
        out[name] = value;
        pos = i + 1;
        if (pos < line.size() && line[pos] == ',') {
            ++pos;
        }
    }
    return out;
}

} // namespace

std::vector<LivePod> live_pods_from_metrics(const Scenario& scenario,
                                            const std::string& metrics_text) {
    std::vector<LivePod> out;
    std::size_t start = 0;
    while (start < metrics_text.size()) {
        auto end = metrics_text.find('\n', start);
        if (end == std::string::npos) {
            end = metrics_text.size();
        }
        const std::string_view line(metrics_text.data() + start, end - start);
        start = end + 1;
        if (line.rfind("kube_pod_container_info{", 0) != 0) {
            continue;
        }
        auto labels = parse_labels(line);
        const auto* behavior = behavior_for_image(scenario, labels["image"]);
        if (behavior == nullptr || labels["pod"].empty()) {
            continue;
        }
        out.push_back({labels["namespace"], labels["service"], labels["pod"], behavior->name});
    }
    return out;
}

std::uint64_t write_backfill(std::ostream& out, const Scenario& scenario,
                             std::chrono::system_clock::time_point epoch,
                             std::chrono::seconds history, const std::vector<LivePod>& live,
                             const std::map<std::string, std::string>& target_labels) {
    std::string target;
    for (const auto& [name, value] : target_labels) {
        target += fmt::format(",{}=\"{}\"", name, escape_label_value(value));
    }
    const std::int64_t step_ms = k_backfill_step.count() * 1000;
    const std::int64_t epoch_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(epoch.time_since_epoch()).count();
    const std::int64_t steps = history.count() * 1000 / step_ms;
    const std::int64_t first_ms = epoch_ms - steps * step_ms;

    auto planned = plan_history(scenario, epoch_ms);
    const auto pairs = pair_live_pods(planned, live, scenario.namespace_name);
    for (std::size_t i = 0; i < live.size(); ++i) {
        if (pairs[i] >= 0) {
            planned[static_cast<std::size_t>(pairs[i])].pod =
                live[i].pod; // the seed stays the plan's
        }
    }
    std::sort(planned.begin(), planned.end(), [](const PlannedPod& a, const PlannedPod& b) {
        return std::tie(a.service, a.pod) < std::tie(b.service, b.pod);
    });

    // Every series has its samples in time order (the TSDB block writer needs that); a family's
    // samples are all written before the next family starts.
    std::uint64_t samples = 0;
    std::string buffer;
    const auto for_each_step = [&](const PlannedPod& pod, auto&& emit) {
        const std::int64_t end = pod.end_ms.value_or(epoch_ms);
        std::int64_t k =
            std::max<std::int64_t>(0, (pod.start_ms - first_ms + step_ms - 1) / step_ms);
        for (; k <= steps; ++k) {
            const std::int64_t t = first_ms + k * step_ms;
            if (t > end) {
                break;
            }
            emit(t);
        }
    };
    const auto for_each_sample = [&](const PlannedPod& pod, auto&& emit) {
        if (!pod.waiting_reason.empty()) {
            return;
        }
        for_each_step(pod, [&](std::int64_t t) {
            emit(t, traffic_between(*pod.behavior, pod.seed, pod.start_ms, t));
        });
    };
    const auto flush = [&](bool force) {
        if (force || buffer.size() > (1u << 20)) {
            out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
            buffer.clear();
        }
    };

    buffer +=
        "# HELP http_requests Requests answered, by status code.\n# TYPE http_requests counter\n";
    for (const auto& pod : planned) {
        const auto labels = pod_labels(scenario.namespace_name, pod.service, pod.pod) + target;
        for_each_sample(pod, [&](std::int64_t t, const Traffic& traffic) {
            append_request_lines(buffer, labels, traffic, timestamp_suffix(t));
            samples += k_status_codes.size();
        });
        flush(false);
    }

    buffer += "# HELP http_request_duration_seconds Time to answer a request.\n"
              "# TYPE http_request_duration_seconds histogram\n";
    for (const auto& pod : planned) {
        const auto labels = pod_labels(scenario.namespace_name, pod.service, pod.pod) + target;
        for_each_sample(pod, [&](std::int64_t t, const Traffic& traffic) {
            append_histogram_lines(buffer, labels, traffic, timestamp_suffix(t));
            samples += k_latency_buckets.size() + 3;
        });
        flush(false);
    }
    buffer += "# HELP kube_pod_container_status_waiting_reason Why a pod's container is waiting.\n"
              "# TYPE kube_pod_container_status_waiting_reason gauge\n";
    for (const auto& pod : planned) {
        if (pod.waiting_reason.empty()) {
            continue;
        }
        const auto labels = pod_labels(scenario.namespace_name, pod.service, pod.pod) + target;
        for_each_step(pod, [&](std::int64_t t) {
            append_waiting_line(buffer, labels, pod.waiting_reason, timestamp_suffix(t));
            ++samples;
        });
    }
    buffer += "# EOF\n";
    flush(true);
    return samples;
}

} // namespace sandbox
