#include "oncall/core/duration.h"

#include <catch2/catch.hpp>

using namespace oncall;
using std::chrono::milliseconds;

TEST_CASE("durations in the accepted forms parse", "[core][duration]") {
    CHECK(parse_duration("90s").value() == milliseconds(90'000));
    CHECK(parse_duration("15m").value() == milliseconds(900'000));
    CHECK(parse_duration("1h30m").value() == milliseconds(5'400'000));
    CHECK(parse_duration("500ms").value() == milliseconds(500));
    CHECK(parse_duration("2d").value() == milliseconds(172'800'000));
    CHECK(parse_duration("1h0m5s").value() == milliseconds(3'605'000));
}

TEST_CASE("bad durations are errors that show the accepted form", "[core][duration]") {
    for (const char* bad : {"", "0s", "0", "-5m", "15", "15x", "m", "1h30", "1.5h",
                            "9999999999999999999h", "106751991167d", " 5m", "5m ", "5 m", "5M"}) {
        INFO(bad);
        const auto r = parse_duration(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid);
        CHECK_THAT(r.error().message, Catch::Contains("like 90s, 15m, 1h30m"));
    }
    CHECK_THAT(parse_duration("5y").error().message, Catch::Contains("unknown unit 'y'"));
    CHECK_THAT(parse_duration("-5m").error().message, Catch::Contains("negative"));
    CHECK_THAT(parse_duration("0m").error().message, Catch::Contains("zero"));
    CHECK_THAT(parse_duration("99999999999999999999s").error().message,
               Catch::Contains("too large"));
}

TEST_CASE("durations format compactly", "[core][duration]") {
    CHECK(format_duration(milliseconds(5'400'000)) == "1h30m");
    CHECK(format_duration(milliseconds(90'000)) == "1m30s");
    CHECK(format_duration(milliseconds(250)) == "250ms");
    CHECK(format_duration(milliseconds(0)) == "0ms");
    CHECK(format_duration(milliseconds(86'400'000 + 60'000)) == "1d1m");
    CHECK(parse_duration(format_duration(milliseconds(3'723'000))).value() ==
          milliseconds(3'723'000));
}

TEST_CASE("negative durations format with a sign, down to the most negative count",
          "[core][duration]") {
    CHECK(format_duration(milliseconds(-90'000)) == "-1m30s");
    // Found by fuzz_duration: negating the most negative count overflowed (recursing forever).
    CHECK(format_duration(milliseconds::min()) == "-106751991167d7h12m55s");
    CHECK(format_duration(milliseconds::max()) == "106751991167d7h12m55s");
}
