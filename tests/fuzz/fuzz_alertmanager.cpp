// Fuzzes the Alertmanager API v2 alert-list decoder (and its plain-string error bodies) on an
// arbitrary status and body.
#include "oncall/backends/alertmanager.h"

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = oncall::fuzz::split_status(data, size);
    const auto result = oncall::alertmanager::decode_alerts(input.status, input.body, "http://127.0.0.1:9093");
    if (!result && result.error().message.empty()) {
        __builtin_trap();
    }
    if (result && (input.status < 200 || input.status >= 300)) {
        __builtin_trap();
    }
    return 0;
}
