// Fuzzes RFC 3339 and Unix-seconds parsing: no crash, no undefined behaviour, and every accepted
// time of years 0000-9999 (in UTC) survives a format/parse round trip; ages and local times of
// accepted times format safely.
#include "fuzz_support.h"
#include "oncall/core/time.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = oncall::parse_rfc3339(text);
    if (parsed) {
        constexpr std::int64_t k_year_0 = -62167219200000;     // 0000-01-01T00:00:00Z in ms
        constexpr std::int64_t k_year_10000 = 253402300800000; // 10000-01-01T00:00:00Z in ms
        const auto ms = parsed->time_since_epoch().count();
        const auto again = oncall::parse_rfc3339(oncall::format_rfc3339(*parsed));
        if (ms >= k_year_0 && ms < k_year_10000 && (!again || *again != *parsed)) {
            oncall::fuzz::fail("format_rfc3339 must produce what parse_rfc3339 reads back");
        }
        (void)oncall::format_local(*parsed);
        (void)oncall::format_age(*parsed, oncall::now());
        (void)oncall::format_age(oncall::now(), *parsed);
    }
    const auto unix_time = oncall::parse_unix_seconds(text);
    if (unix_time) {
        (void)oncall::format_rfc3339(*unix_time);
        (void)oncall::format_age(*unix_time, oncall::now());
    }
    return 0;
}
