#include "oncall/core/time.h"

#include <cctype>
#include <charconv>
#include <ctime>
#include <fmt/format.h>

namespace oncall {
namespace {

Error time_error(std::string_view text) {
    return make_error(Errc::invalid,
                      fmt::format("invalid time '{}': use RFC 3339, like 2026-11-26T02:14:00Z "
                                  "or 2026-11-26T03:14:00+01:00",
                                  text));
}

bool read_int(std::string_view text, std::size_t pos, std::size_t len, int& out) {
    if (pos + len > text.size()) {
        return false;
    }
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
            return false;
        }
        v = v * 10 + (text[i] - '0');
    }
    out = v;
    return true;
}

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

} // namespace

TimePoint now() {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(Clock::now());
}

Result<TimePoint> parse_rfc3339(std::string_view text) {
    int year, month, day, hour, minute, second;
    if (text.size() < 20 || !read_int(text, 0, 4, year) || text[4] != '-' ||
        !read_int(text, 5, 2, month) || text[7] != '-' || !read_int(text, 8, 2, day) ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !read_int(text, 11, 2, hour) ||
        text[13] != ':' || !read_int(text, 14, 2, minute) || text[16] != ':' ||
        !read_int(text, 17, 2, second)) {
        return time_error(text);
    }
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
        return time_error(text);
    }
    std::size_t pos = 19;
    std::int64_t millis = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        std::size_t digits = 0;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
            if (digits < 3) {
                millis = millis * 10 + (text[pos] - '0');
            }
            ++digits;
            ++pos;
        }
        if (digits == 0) {
            return time_error(text);
        }
        for (std::size_t d = digits; d < 3; ++d) {
            millis *= 10;
        }
    }
    std::int64_t offset_s = 0;
    if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
        ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        int oh, om;
        if (!read_int(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
            !read_int(text, pos + 4, 2, om) || oh > 23 || om > 59) {
            return time_error(text);
        }
        offset_s = (oh * 3600 + om * 60) * (text[pos] == '+' ? 1 : -1);
        pos += 6;
    } else {
        return time_error(text);
    }
    if (pos != text.size()) {
        return time_error(text);
    }
    const std::int64_t days =
        days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    const std::int64_t secs =
        days * 86400 + hour * 3600 + minute * 60 + std::min(second, 59) - offset_s;
    return TimePoint(std::chrono::milliseconds(secs * 1000 + millis));
}

std::string format_rfc3339(TimePoint t) {
    const auto ms = t.time_since_epoch().count();
    std::int64_t secs = ms / 1000;
    std::int64_t frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        secs -= 1;
    }
    const std::time_t tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900,
                                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac != 0) {
        out += fmt::format(".{:03}", frac);
    }
    return out + "Z";
}

std::string format_local(TimePoint t) {
    const std::time_t tt = static_cast<std::time_t>(t.time_since_epoch().count() / 1000);
    std::tm tm{};
    localtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &tm);
    return buf;
}

std::string format_age(TimePoint then, TimePoint ref) {
    using namespace std::chrono;
    const auto delta = duration_cast<seconds>(ref - then).count();
    const auto magnitude = delta < 0 ? -delta : delta;
    std::string amount;
    if (magnitude < 5) {
        return "just now";
    } else if (magnitude < 60) {
        amount = fmt::format("{}s", magnitude);
    } else if (magnitude < 3600) {
        amount = fmt::format("{}m", magnitude / 60);
    } else if (magnitude < 86400) {
        const auto h = magnitude / 3600;
        const auto m = (magnitude % 3600) / 60;
        amount = (h < 10 && m > 0) ? fmt::format("{}h{}m", h, m) : fmt::format("{}h", h);
    } else {
        amount = fmt::format("{}d", magnitude / 86400);
    }
    return delta < 0 ? "in " + amount : amount + " ago";
}

Result<TimePoint> parse_unix_seconds(std::string_view text) {
    double value = 0;
    const auto* begin = text.data();
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end || !(value >= 0) || value > 1e11) {
        return make_error(Errc::invalid, fmt::format("invalid Unix timestamp '{}'", text));
    }
    return TimePoint(std::chrono::milliseconds(static_cast<std::int64_t>(value * 1000.0 + 0.5)));
}

} // namespace oncall
