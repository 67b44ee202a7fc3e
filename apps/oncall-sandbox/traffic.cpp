#include "traffic.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace sandbox {
namespace {

constexpr double k_pi = 3.14159265358979323846;
constexpr double k_z99 = 2.3263478740408408;            // standard normal quantile of 0.99
constexpr std::int64_t k_origin_ms = 1'700'000'000'000; // keeps the sine arguments small
// Letters Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
constexpr std::string_view k_name_alphabet = "bcdfghjklmnpqrstvwxz2456789";

double unit_interval(std::uint64_t& state) {
    return static_cast<double>(split_mix(state) >> 11) * 0x1.0p-53;
}

double sigma_of(double p50, double p99) {
    return p99 > p50 ? std::log(p99 / p50) / k_z99 : 0.0;
}

// Smooth variation of one status code's request rate: two sines whose periods and phases come from
// the seed.
struct RateShape {
    double rate = 0;
    double a1 = 0, w1 = 1, p1 = 0;
    double a2 = 0, w2 = 1, p2 = 0;

    // Integral of rate * (1 + a1 sin(w1 t + p1) + a2 sin(w2 t + p2)) from the origin to t seconds.
    double cumulative(double t) const {
        return rate * (t - a1 / w1 * std::cos(w1 * t + p1) - a2 / w2 * std::cos(w2 * t + p2));
    }
};

RateShape shape_for(const Behavior& b, std::uint64_t seed, std::size_t code) {
    std::uint64_t state = seed ^ (0x9e3779b97f4a7c15ULL * (code + 1));
    RateShape s;
    const double er = b.error_ratio;
    const double shares[] = {1.0 - er, er * 0.75, er * 0.25};
    s.rate = b.requests_per_second_per_pod * shares[code];
    const bool is_error = code != 0;
    s.a1 = is_error ? 0.30 : 0.08;
    s.a2 = is_error ? 0.15 : 0.04;
    s.w1 = 2 * k_pi / (300.0 + 600.0 * unit_interval(state));
    s.w2 = 2 * k_pi / (40.0 + 60.0 * unit_interval(state));
    s.p1 = 2 * k_pi * unit_interval(state);
    s.p2 = 2 * k_pi * unit_interval(state);
    return s;
}

double normal_cdf(double z) {
    return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

std::string encode_name(std::uint64_t value, std::size_t length) {
    std::string out;
    for (std::size_t i = 0; i < length; ++i) {
        out.push_back(k_name_alphabet[value % k_name_alphabet.size()]);
        value /= k_name_alphabet.size();
    }
    return out;
}

std::string format_count(double value) {
    return fmt::format("{}", static_cast<std::int64_t>(std::floor(value)));
}

const Behavior* find_behavior(const Scenario& scenario, const std::string& image_key) {
    const auto image = scenario.images.find(image_key);
    if (image == scenario.images.end()) {
        return nullptr;
    }
    const auto b = scenario.behaviors.find(image->second.behavior);
    return b == scenario.behaviors.end() ? nullptr : &b->second;
}

// A pod of this image can serve: its image can be pulled and does not crash.
bool can_serve(const Scenario& scenario, const std::string& image_key) {
    return find_behavior(scenario, image_key) != nullptr &&
           waiting_reason(scenario, image_key).empty();
}

} // namespace

double Traffic::total() const {
    double t = 0;
    for (double v : by_code) {
        t += v;
    }
    return t;
}

Traffic& Traffic::operator+=(const Traffic& other) {
    for (std::size_t i = 0; i < by_code.size(); ++i) {
        by_code[i] += other.by_code[i];
    }
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        buckets[i] += other.buckets[i];
    }
    latency_sum += other.latency_sum;
    return *this;
}

std::uint64_t split_mix(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::uint64_t fnv1a64(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

double sample_latency(double p50, double p99, std::uint64_t& state) {
    // Box-Muller from two uniforms; clamp the tail so a line never claims minutes.
    const double u1 = std::max(unit_interval(state), 1e-12);
    const double u2 = unit_interval(state);
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * k_pi * u2);
    return std::min(p50 * std::exp(sigma_of(p50, p99) * z), 60.0);
}

double latency_cdf(const Behavior& behavior, double le) {
    const double sigma = sigma_of(behavior.latency_p50, behavior.latency_p99);
    if (sigma <= 0) {
        return le >= behavior.latency_p50 ? 1.0 : 0.0;
    }
    return normal_cdf(std::log(le / behavior.latency_p50) / sigma);
}

std::string waiting_reason(const Scenario& scenario, const std::string& image_ref) {
    const auto* image = find_image(scenario, image_ref);
    if (image == nullptr) {
        return {};
    }
    if (!image->in_registry) {
        return "ImagePullBackOff";
    }
    const auto b = scenario.behaviors.find(image->behavior);
    return b != scenario.behaviors.end() && b->second.crash ? "CrashLoopBackOff" : "";
}

std::uint64_t series_seed(const std::string& namespace_name, const std::string& pod) {
    return fnv1a64(namespace_name + "/" + pod);
}

Traffic traffic_between(const Behavior& behavior, std::uint64_t seed, std::int64_t from_ms,
                        std::int64_t to_ms) {
    Traffic out;
    if (behavior.crash || to_ms <= from_ms) {
        return out;
    }
    const double t0 = static_cast<double>(from_ms - k_origin_ms) / 1000.0;
    const double t1 = static_cast<double>(to_ms - k_origin_ms) / 1000.0;
    for (std::size_t code = 0; code < out.by_code.size(); ++code) {
        const auto shape = shape_for(behavior, seed, code);
        out.by_code[code] = std::max(0.0, shape.cumulative(t1) - shape.cumulative(t0));
    }
    const double total = out.total();
    for (std::size_t i = 0; i < k_latency_buckets.size(); ++i) {
        out.buckets[i] = total * latency_cdf(behavior, k_latency_buckets[i]);
    }
    const double sigma = sigma_of(behavior.latency_p50, behavior.latency_p99);
    out.latency_sum = total * behavior.latency_p50 * std::exp(sigma * sigma / 2.0);
    return out;
}

std::string scenario_pod_name(const Service& service, const Revision& revision, int index) {
    std::string template_text = fmt::format("{}|{}", service.name, revision.number);
    for (const auto& c : revision.containers) {
        template_text += "|" + c.name + "=" + c.image;
    }
    const auto hash = encode_name(fnv1a64(template_text), 10);
    const auto suffix = encode_name(fnv1a64(fmt::format("{}|{}", template_text, index)), 5);
    return fmt::format("{}-{}-{}", service.name, hash, suffix);
}

std::string scenario_pod_image(const Service& service, const Revision& revision, int index) {
    const bool current =
        !service.revisions.empty() && revision.number == service.revisions.back().number;
    if (current) {
        const auto drift = service.drifted_pods.find(index);
        if (drift != service.drifted_pods.end()) {
            return drift->second;
        }
    }
    return revision.containers.empty() ? std::string() : revision.containers.front().image;
}

std::vector<PlannedPod> plan_history(const Scenario& scenario, std::int64_t epoch_ms) {
    std::vector<PlannedPod> out;
    for (const auto& service : scenario.services) {
        const auto& revs = service.revisions;
        for (std::size_t k = 0; k < revs.size(); ++k) {
            const std::int64_t start = epoch_ms - revs[k].deployed_ago.count() * 1000;
            // Replaced by the next revision whose pods can serve (a stuck rollout replaces
            // nothing).
            std::optional<std::int64_t> end;
            for (std::size_t j = k + 1; j < revs.size(); ++j) {
                if (can_serve(scenario, scenario_pod_image(service, revs[j], 0))) {
                    end = epoch_ms - revs[j].deployed_ago.count() * 1000;
                    break;
                }
            }
            for (int i = 0; i < service.replicas; ++i) {
                const auto image = scenario_pod_image(service, revs[k], i);
                const auto reason = waiting_reason(scenario, image);
                if (find_behavior(scenario, image) == nullptr) {
                    continue;
                }
                if (!reason.empty() && k + 1 != revs.size()) {
                    continue; // a stuck rollout that a later revision replaced: its pods are long
                              // gone
                }
                if (!reason.empty() && i > 0) {
                    break; // a stuck rolling update has created one surge pod
                }
                PlannedPod p;
                p.waiting_reason = reason;
                p.service = service.name;
                p.pod = scenario_pod_name(service, revs[k], i);
                p.revision = revs[k].number;
                p.index = i;
                p.image = image;
                p.behavior = find_behavior(scenario, image);
                p.start_ms = start;
                p.end_ms = end;
                p.seed = series_seed(scenario.namespace_name, p.pod);
                out.push_back(std::move(p));
            }
        }
    }
    return out;
}

std::vector<int> pair_live_pods(const std::vector<PlannedPod>& plans,
                                const std::vector<LivePod>& live,
                                const std::string& namespace_name) {
    std::vector<int> out(live.size(), -1);
    std::vector<bool> used(plans.size(), false);
    const auto open = [&](std::size_t j) { return !used[j] && !plans[j].end_ms; };
    std::vector<std::size_t> unmatched;
    for (std::size_t i = 0; i < live.size(); ++i) {
        bool matched = false;
        if (live[i].namespace_name == namespace_name) {
            for (std::size_t j = 0; j < plans.size(); ++j) {
                if (open(j) && plans[j].pod == live[i].pod && plans[j].service == live[i].service &&
                    plans[j].behavior->name == live[i].behavior) {
                    used[j] = true;
                    out[i] = static_cast<int>(j);
                    matched = true;
                    break;
                }
            }
        }
        if (!matched) {
            unmatched.push_back(i);
        }
    }
    std::sort(unmatched.begin(), unmatched.end(),
              [&](std::size_t a, std::size_t b) { return live[a].pod < live[b].pod; });
    for (const auto i : unmatched) {
        if (live[i].namespace_name != namespace_name) {
            continue;
        }
        for (std::size_t j = 0; j < plans.size(); ++j) {
            if (open(j) && plans[j].service == live[i].service &&
                plans[j].behavior->name == live[i].behavior) {
                used[j] = true;
                out[i] = static_cast<int>(j);
                break;
            }
        }
    }
    return out;
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

void append_waiting_line(std::string& out, const std::string& labels, const std::string& reason,
                         std::string_view suffix) {
    out += fmt::format("kube_pod_container_status_waiting_reason{{{},reason=\"{}\"}} 1{}\n", labels,
                       escape_label_value(reason), suffix);
}

void append_info_line(std::string& out, const std::string& labels, const std::string& image) {
    out += fmt::format("kube_pod_container_info{{{},image=\"{}\"}} 1\n", labels,
                       escape_label_value(image));
}

std::string pod_labels(const std::string& namespace_name, const std::string& service,
                       const std::string& pod) {
    return fmt::format("namespace=\"{}\",service=\"{}\",pod=\"{}\"",
                       escape_label_value(namespace_name), escape_label_value(service),
                       escape_label_value(pod));
}

void append_request_lines(std::string& out, const std::string& labels, const Traffic& traffic,
                          std::string_view suffix) {
    for (std::size_t c = 0; c < k_status_codes.size(); ++c) {
        out += fmt::format("http_requests_total{{{},code=\"{}\"}} {}{}\n", labels,
                           k_status_codes[c], format_count(traffic.by_code[c]), suffix);
    }
}

void append_histogram_lines(std::string& out, const std::string& labels, const Traffic& traffic,
                            std::string_view suffix) {
    for (std::size_t i = 0; i < k_latency_buckets.size(); ++i) {
        out += fmt::format("http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}{}\n", labels,
                           k_latency_buckets[i], format_count(traffic.buckets[i]), suffix);
    }
    const auto count = format_count(traffic.total());
    out += fmt::format("http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}{}\n", labels,
                       count, suffix);
    out += fmt::format("http_request_duration_seconds_sum{{{}}} {:.3f}{}\n", labels,
                       traffic.latency_sum, suffix);
    out += fmt::format("http_request_duration_seconds_count{{{}}} {}{}\n", labels, count, suffix);
}

} // namespace sandbox
