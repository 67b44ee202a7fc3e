#include "oncall/core/time.h"

#include <catch2/catch.hpp>

using namespace oncall;
using namespace std::chrono;

TEST_CASE("RFC 3339 times parse with offsets and fractions", "[core][time]") {
    const auto t = parse_rfc3339("2026-11-26T02:14:00Z").value();
    CHECK(t.time_since_epoch().count() == 1795659240000LL);
    CHECK(parse_rfc3339("2026-11-26T03:14:00+01:00").value() == t);
    CHECK(parse_rfc3339("2026-11-25T21:14:00-05:00").value() == t);
    CHECK(parse_rfc3339("2026-11-26T02:14:00.250Z").value() == t + milliseconds(250));
    CHECK(parse_rfc3339("2026-11-26T02:14:00.123456789Z").value() == t + milliseconds(123));
    CHECK(parse_rfc3339("1970-01-01T00:00:00Z").value().time_since_epoch().count() == 0);
}

TEST_CASE("malformed times are errors naming the form", "[core][time]") {
    for (const char* bad : {"", "2026-11-26", "2026-11-26T02:14:00", "2026-13-01T00:00:00Z",
                            "2026-11-26T25:00:00Z", "2026-11-26T02:14:00+1:00",
                            "2026-11-26T02:14:00.Z", "yesterday", "2026-11-26T02:14:00Zjunk"}) {
        INFO(bad);
        const auto r = parse_rfc3339(bad);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error().message, Catch::Contains("RFC 3339"));
    }
}

TEST_CASE("times format back to RFC 3339 in UTC", "[core][time]") {
    const auto t = parse_rfc3339("2026-11-26T03:14:00+01:00").value();
    CHECK(format_rfc3339(t) == "2026-11-26T02:14:00Z");
    CHECK(format_rfc3339(t + milliseconds(5)) == "2026-11-26T02:14:00.005Z");
}

TEST_CASE("relative ages read like a person says them", "[core][time]") {
    const auto ref = parse_rfc3339("2026-11-26T02:14:00Z").value();
    CHECK(format_age(ref, ref) == "just now");
    CHECK(format_age(ref - seconds(45), ref) == "45s ago");
    CHECK(format_age(ref - minutes(12), ref) == "12m ago");
    CHECK(format_age(ref - hours(3), ref) == "3h ago");
    CHECK(format_age(ref - hours(1) - minutes(30), ref) == "1h30m ago");
    CHECK(format_age(ref - hours(50), ref) == "2d ago");
    CHECK(format_age(ref + minutes(5), ref) == "in 5m");
}

TEST_CASE("Prometheus Unix timestamps parse", "[core][time]") {
    CHECK(parse_unix_seconds("1795659240.5").value().time_since_epoch().count() == 1795659240500LL);
    CHECK_FALSE(parse_unix_seconds("NaN").ok());
    CHECK_FALSE(parse_unix_seconds("-1").ok());
    CHECK_FALSE(parse_unix_seconds("12abc").ok());
}
