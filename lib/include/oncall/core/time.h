#pragma once
// Wall-clock times: RFC 3339 in and out, local-time display and relative ages ("12m ago").

#include "oncall/core/result.h"

#include <chrono>
#include <string>
#include <string_view>

namespace oncall {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::milliseconds>;

/// Current time at millisecond precision.
TimePoint now();

/// Parses RFC 3339 ("2026-11-26T02:14:00Z", "...T02:14:00.123+01:00"); anything else is
/// Errc::invalid.
Result<TimePoint> parse_rfc3339(std::string_view text);

/// Formats as RFC 3339 in UTC with a trailing Z; milliseconds only when non-zero.
std::string format_rfc3339(TimePoint t);

/// Formats in the local time zone as "2026-11-26 02:14:05 CET".
std::string format_local(TimePoint t);

/// Age of `then` relative to `ref`: "just now", "45s ago", "12m ago", "3h ago", "2d ago", "in 5m".
std::string format_age(TimePoint then, TimePoint ref);

/// Parses a Unix timestamp in seconds with an optional fraction ("1732590000.123"), as Prometheus
/// sends.
Result<TimePoint> parse_unix_seconds(std::string_view text);

} // namespace oncall
