#pragma once
// One-line charts of a series with Unicode block characters.

#include <optional>
#include <string>
#include <vector>

namespace oncall::render {

/// Resamples `values` to `width` cells and draws each as one of ▁▂▃▄▅▆▇█ scaled between the
/// series' min and max; missing (nullopt or NaN) samples are drawn as spaces.
std::string sparkline(const std::vector<std::optional<double>>& values, int width);

/// As above, on a fixed scale: `lo` draws as ▁, `hi` (and above) as █.
std::string sparkline(const std::vector<std::optional<double>>& values, int width, double lo,
                      double hi);

} // namespace oncall::render
