#pragma once
// Durations as people type them: "90s", "15m", "1h30m", "500ms", "2d".

#include "oncall/core/result.h"

#include <chrono>
#include <string>
#include <string_view>

namespace oncall {

/// Parses a positive duration made of <number><unit> parts (units ms, s, m, h, d). Zero, negative,
/// overflowing, empty or unit-less input is an Errc::invalid error whose message shows the form.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Formats a duration compactly: 5400s -> "1h30m", 90s -> "1m30s", 250ms -> "250ms".
std::string format_duration(std::chrono::milliseconds d);

} // namespace oncall
