#pragma once
// The practice cluster's history before start-up: the same series the live workload serves, as
// OpenMetrics text with timestamps, for `promtool tsdb create-blocks-from openmetrics`.

#include "scenario.h"
#include "traffic.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace sandbox {

/// Interval between two backfilled samples.
inline constexpr std::chrono::seconds k_backfill_step{15};

/// Writes OpenMetrics text from `epoch - history` to `epoch` (inclusive) at k_backfill_step, each
/// pod following the revision that ran when (see plan_history), ending with "# EOF". `history` is
/// rounded down to a whole number of steps. The series of pods serving at the epoch carry the names
/// of the `live` pods that continue them (pair_live_pods), so the running sandbox's counters extend
/// them; `target_labels` (Prometheus' job and instance of the scrape) are added to every series for
/// the same reason. Returns the number of samples written.
std::uint64_t write_backfill(std::ostream& out, const Scenario& scenario,
                             std::chrono::system_clock::time_point epoch,
                             std::chrono::seconds history, const std::vector<LivePod>& live = {},
                             const std::map<std::string, std::string>& target_labels = {});

/// The pods a sandbox's /metrics text lists (kube_pod_container_info), with their images'
/// behaviors. `scenario` must have its digests filled in. Pods whose image the scenario does not
/// know are left out.
std::vector<LivePod> live_pods_from_metrics(const Scenario& scenario,
                                            const std::string& metrics_text);

} // namespace sandbox
