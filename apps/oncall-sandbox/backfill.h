#pragma once
// The practice cluster's history before start-up: the same series the live workload serves, as
// OpenMetrics text with timestamps, for `promtool tsdb create-blocks-from openmetrics`.

#include "scenario.h"

#include <chrono>
#include <cstdint>
#include <ostream>

namespace sandbox {

/// Interval between two backfilled samples.
inline constexpr std::chrono::seconds k_backfill_step{15};

/// Writes OpenMetrics text from `epoch - history` to `epoch` (inclusive) at k_backfill_step, each pod
/// following the revision that ran when (see plan_history), ending with "# EOF". `history` is rounded
/// down to a whole number of steps. Returns the number of samples written.
std::uint64_t write_backfill(std::ostream& out, const Scenario& scenario,
                             std::chrono::system_clock::time_point epoch, std::chrono::seconds history);

} // namespace sandbox
