// Fuzzes the Prometheus response decoder (the query envelope: status, errorType, error, warnings,
// vector/matrix/scalar/string results, sample values and times) on an arbitrary status and body.
#include "fuzz_support.h"
#include "oncall/backends/prometheus.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = oncall::fuzz::split_status(data, size);
    const auto result = oncall::prometheus::decode_query_response(input.status, input.body,
                                                                  "http://127.0.0.1:9090");
    if (!result && result.error().message.empty()) {
        oncall::fuzz::fail("every failure says what went wrong");
    }
    if (result && (input.status < 200 || input.status >= 300)) {
        oncall::fuzz::fail("an error status is never a successful query");
    }
    return 0;
}
