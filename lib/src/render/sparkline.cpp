#include "oncall/render/sparkline.h"

#include <algorithm>
#include <cmath>

namespace oncall::render {

namespace {

const char* const k_blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

// Resample: each cell takes the mean of the samples that fall into it.
std::vector<std::optional<double>> resample(const std::vector<std::optional<double>>& values,
                                            int width) {
    std::vector<std::optional<double>> cells(static_cast<std::size_t>(width));
    const double step = static_cast<double>(values.size()) / width;
    for (int c = 0; c < width; ++c) {
        const auto begin = static_cast<std::size_t>(std::floor(c * step));
        auto end = static_cast<std::size_t>(std::floor((c + 1) * step));
        end = std::max(end, begin + 1);
        double sum = 0;
        int n = 0;
        for (std::size_t i = begin; i < end && i < values.size(); ++i) {
            if (values[i] && std::isfinite(*values[i])) {
                sum += *values[i];
                ++n;
            }
        }
        if (n > 0) {
            cells[static_cast<std::size_t>(c)] = sum / n;
        }
    }
    return cells;
}

std::string draw(const std::vector<std::optional<double>>& cells, double lo, double hi) {
    std::string out;
    for (const auto& v : cells) {
        if (!v) {
            out += " ";
            continue;
        }
        int level = 0;
        if (hi > lo) {
            level = static_cast<int>(std::lround((std::clamp(*v, lo, hi) - lo) / (hi - lo) * 7.0));
        }
        out += k_blocks[std::clamp(level, 0, 7)];
    }
    return out;
}

} // namespace

std::string sparkline(const std::vector<std::optional<double>>& values, int width, double lo,
                      double hi) {
    if (width <= 0 || values.empty()) {
        return std::string(static_cast<std::size_t>(std::max(width, 0)), ' ');
    }
    return draw(resample(values, width), lo, hi);
}

std::string sparkline(const std::vector<std::optional<double>>& values, int width) {
    if (width <= 0 || values.empty()) {
        return std::string(static_cast<std::size_t>(std::max(width, 0)), ' ');
    }
    const auto cells = resample(values, width);
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& v : cells) {
        if (v) {
            lo = std::min(lo, *v);
            hi = std::max(hi, *v);
        }
    }
    return draw(cells, lo, hi);
}

} // namespace oncall::render
