// Fuzzes the Alertmanager API v2 decoders of alert lists, silence lists, one silence and a new
// silence's id (and their plain-string error bodies) on an arbitrary status and body.
#include "fuzz_support.h"
#include "oncall/backends/alertmanager.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = oncall::fuzz::split_status(data, size);
    const auto result =
        oncall::alertmanager::decode_alerts(input.status, input.body, "http://127.0.0.1:9093");
    if (!result && result.error().message.empty()) {
        oncall::fuzz::fail("a refusal without a message");
    }
    if (result && (input.status < 200 || input.status >= 300)) {
        oncall::fuzz::fail("an error status decoded as a success");
    }
    const auto silences =
        oncall::alertmanager::decode_silences(input.status, input.body, "http://127.0.0.1:9093");
    if (silences && (input.status < 200 || input.status >= 300)) {
        oncall::fuzz::fail("an error status decoded as a success");
    }
    if (silences) {
        for (const auto& s : *silences) {
            if (s.id.empty()) {
                oncall::fuzz::fail("every decoded silence has an id");
            }
        }
    }
    (void)oncall::alertmanager::decode_silence(input.status, input.body, "http://127.0.0.1:9093");
    const auto created = oncall::alertmanager::decode_created_silence(input.status, input.body,
                                                                      "http://127.0.0.1:9093");
    if (created && !oncall::alertmanager::is_silence_id(*created)) {
        oncall::fuzz::fail("a created silence has an id Alertmanager would give");
    }
    return 0;
}
