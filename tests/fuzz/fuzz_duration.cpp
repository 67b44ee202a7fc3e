// Fuzzes parse_duration and format_duration: no crash, no undefined behaviour, and every accepted
// duration survives a format/parse round trip (format_duration drops the milliseconds of durations
// of a second or more, by design).
#include "fuzz_support.h"
#include "oncall/core/duration.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = oncall::parse_duration(text);
    if (parsed) {
        if (parsed->count() <= 0) {
            oncall::fuzz::fail("accepted durations are positive");
        }
        const auto again = oncall::parse_duration(oncall::format_duration(*parsed));
        const auto expected = parsed->count() < 1000 ? *parsed : *parsed - *parsed % 1000;
        if (expected.count() > 0 && (!again || *again != expected)) {
            oncall::fuzz::fail("format_duration must produce what parse_duration reads back");
        }
    } else if (parsed.error().message.empty()) {
        oncall::fuzz::fail("a refusal without a message");
    }
    if (size >= sizeof(std::int64_t)) {
        std::int64_t ms = 0;
        std::memcpy(&ms, data, sizeof ms);
        (void)oncall::format_duration(std::chrono::milliseconds(ms));
    }
    return 0;
}
