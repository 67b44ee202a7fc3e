#pragma once
// When a moment counts as "now".

#include <chrono>

namespace oncall {

/// A moment at most this far in the past counts as now: facts are read live (pods, rollout) and
/// no "as of" label is shown.
inline constexpr std::chrono::minutes k_live_within{2};

} // namespace oncall
