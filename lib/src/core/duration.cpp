#include "oncall/core/duration.h"

#include <cctype>
#include <cstdint>
#include <fmt/format.h>
#include <limits>

namespace oncall {
namespace {

constexpr const char* k_duration_form =
    "use a positive number with a unit, like 90s, 15m, 1h30m, 500ms or 2d";

Error duration_error(std::string_view text, std::string_view why) {
    return make_error(Errc::invalid,
                      fmt::format("invalid duration '{}': {}; {}", text, why, k_duration_form));
}

std::string format_magnitude(std::uint64_t ms) {
    if (ms < 1000) {
        return fmt::format("{}ms", ms);
    }
    auto s = ms / 1000;
    std::string out;
    const auto days = s / 86400;
    s %= 86400;
    const auto hours = s / 3600;
    s %= 3600;
    const auto minutes = s / 60;
    s %= 60;
    if (days > 0) {
        out += fmt::format("{}d", days);
    }
    if (hours > 0) {
        out += fmt::format("{}h", hours);
    }
    if (minutes > 0) {
        out += fmt::format("{}m", minutes);
    }
    if (s > 0 || out.empty()) {
        out += fmt::format("{}s", s);
    }
    return out;
}

} // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    if (text.empty()) {
        return duration_error(text, "empty");
    }
    if (text[0] == '-') {
        return duration_error(text, "negative");
    }
    constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max() / 1000;
    std::int64_t total_ms = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
            return duration_error(text, fmt::format("expected a number at '{}'", text.substr(i)));
        }
        std::int64_t number = 0;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            const int digit = text[i] - '0';
            if (number > (k_max - digit) / 10) {
                return duration_error(text, "too large");
            }
            number = number * 10 + digit;
            ++i;
        }
        std::size_t unit_start = i;
        while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) {
            ++i;
        }
        const std::string_view unit = text.substr(unit_start, i - unit_start);
        std::int64_t scale = 0;
        if (unit == "ms") {
            scale = 1;
        } else if (unit == "s") {
            scale = 1000;
        } else if (unit == "m") {
            scale = 60'000;
        } else if (unit == "h") {
            scale = 3'600'000;
        } else if (unit == "d") {
            scale = 86'400'000;
        } else if (unit.empty()) {
            return duration_error(text, "missing unit");
        } else {
            return duration_error(text, fmt::format("unknown unit '{}'", unit));
        }
        if (number > k_max / scale || total_ms > k_max - number * scale) {
            return duration_error(text, "too large");
        }
        total_ms += number * scale;
    }
    if (total_ms == 0) {
        return duration_error(text, "zero");
    }
    return std::chrono::milliseconds(total_ms);
}

std::string format_duration(std::chrono::milliseconds d) {
    // The magnitude as unsigned: negating the most negative count is not representable.
    const bool negative = d.count() < 0;
    const std::uint64_t ms = negative ? 0 - static_cast<std::uint64_t>(d.count())
                                      : static_cast<std::uint64_t>(d.count());
    if (negative) {
        return "-" + format_magnitude(ms);
    }
    return format_magnitude(ms);
}

} // namespace oncall
