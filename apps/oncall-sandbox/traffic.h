#pragma once
// The traffic model shared by the live workload and the backfill: how many requests a pod with a
// given behavior answered, by status code and latency bucket, between two instants. Counts are a
// closed-form function of wall time and a per-series seed (smooth, deterministic variation), so the
// backfill and the live /metrics agree exactly at the epoch and never depend on when they were
// asked.

#include "scenario.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sandbox {

/// Upper bounds (seconds) of the latency histogram's buckets, +Inf excluded.
inline constexpr std::array<double, 16> k_latency_buckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0};

/// Status codes a pod answers with; 5xx are errors.
inline constexpr std::array<const char*, 3> k_status_codes = {"200", "500", "503"};

/// Requests answered by one pod: per status code, per latency bucket (cumulative), and latency sum.
struct Traffic {
    std::array<double, k_status_codes.size()> by_code{};
    std::array<double, k_latency_buckets.size()> buckets{};
    double latency_sum = 0;

    /// All requests, whatever their code.
    double total() const;
    Traffic& operator+=(const Traffic& other);
};

/// Next value of a splitmix64 sequence (advances `state`).
std::uint64_t split_mix(std::uint64_t& state);

/// 64-bit FNV-1a of the text, for seeds.
std::uint64_t fnv1a64(std::string_view text);

/// A latency in seconds drawn from the log-normal distribution with this median and 99th
/// percentile.
double sample_latency(double p50, double p99, std::uint64_t& state);

/// Fraction of requests at or below `le` seconds for the behavior's latency distribution.
double latency_cdf(const Behavior& behavior, double le);

/// Seed of one pod's series.
std::uint64_t series_seed(const std::string& namespace_name, const std::string& pod);

/// Traffic a serving pod answered in [from_ms, to_ms) (Unix milliseconds); zero for a crashing
/// behavior.
Traffic traffic_between(const Behavior& behavior, std::uint64_t seed, std::int64_t from_ms,
                        std::int64_t to_ms);

/// The pod name the scenario gives replica `index` of `revision` of a service (Deployment-style:
/// <service>-<template hash>-<suffix>).
std::string scenario_pod_name(const Service& service, const Revision& revision, int index);

/// The image key ("repository:tag") replica `index` of `revision` runs, drift included.
std::string scenario_pod_image(const Service& service, const Revision& revision, int index);

/// The scenario image a reference names ("host/repo:tag", "host/repo@sha256:...", "repo:tag"), if
/// any.
const Image* find_image(const Scenario& scenario, const std::string& image_ref);

/// Why a pod running this image never becomes ready ("CrashLoopBackOff", "ImagePullBackOff"), or
/// "".
std::string waiting_reason(const Scenario& scenario, const std::string& image_ref);

/// One pod of the scenario's history: when it served traffic with which behavior, or why it never
/// did.
struct PlannedPod {
    std::string service;
    std::string pod;
    int revision = 0;
    int index = 0;
    std::string image; // image key
    const Behavior* behavior = nullptr;
    std::int64_t start_ms = 0;          // when it started serving
    std::optional<std::int64_t> end_ms; // when it stopped (none: still serving at the epoch)
    std::uint64_t seed = 0;
    std::string
        waiting_reason; // non-empty: the pod never served (CrashLoopBackOff, ImagePullBackOff)
};

/// Pods of the scenario's history up to `epoch_ms`, following which revision ran when: a revision's
/// pods serve from its deploy until the next revision that can serve replaces them. A revision
/// whose image crashes or cannot be pulled never serves (its rollout is stuck): its pods are listed
/// with their waiting reason, from its deploy until replaced.
std::vector<PlannedPod> plan_history(const Scenario& scenario, std::int64_t epoch_ms);

/// A pod present when the sandbox starts, as the workload (or the backfill, from /metrics) sees it.
struct LivePod {
    std::string namespace_name;
    std::string service;
    std::string pod;
    std::string behavior; // name of its image's behavior
};

/// Which planned pod's history each live pod continues: per live pod, an index into `plans` or -1.
/// A pod with the planned name continues that pod; the others, in name order, take the first unused
/// planned pod still present at the epoch (serving or waiting) with the same namespace, service and
/// behavior.
std::vector<int> pair_live_pods(const std::vector<PlannedPod>& plans,
                                const std::vector<LivePod>& live,
                                const std::string& namespace_name);

/// Escapes a Prometheus label value (backslash, quote, newline).
std::string escape_label_value(std::string_view value);

/// Appends the exposition lines of one pod's counters and histogram to `out` (no HELP/TYPE lines).
/// `suffix` follows each value (empty, or " <timestamp>" for OpenMetrics backfill).
void append_request_lines(std::string& out, const std::string& labels, const Traffic& traffic,
                          std::string_view suffix);
void append_histogram_lines(std::string& out, const std::string& labels, const Traffic& traffic,
                            std::string_view suffix);

/// Appends `kube_pod_container_status_waiting_reason` (kube-state-metrics' gauge) for one pod.
void append_waiting_line(std::string& out, const std::string& labels, const std::string& reason,
                         std::string_view suffix);

/// Appends `kube_pod_container_info` (kube-state-metrics' gauge) naming the image a pod runs.
void append_info_line(std::string& out, const std::string& labels, const std::string& image);

/// The label set `namespace="...",service="...",pod="..."`.
std::string pod_labels(const std::string& namespace_name, const std::string& service,
                       const std::string& pod);

} // namespace sandbox
