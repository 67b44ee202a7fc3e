// Fuzzes the core/v1 Pod list decoder (container statuses, waiting reasons, restarts, conditions).
#include "fuzz_kube_support.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto json = oncall::fuzz::parse_body(body);
    if (!json) {
        return 0;
    }
    for (const auto& item : oncall::fuzz::list_items(*json)) {
        const auto pod = oncall::kube::decode_pod(item);
        if (!pod) {
            if (pod.error().message.empty()) {
                oncall::fuzz::fail("a refusal without a message");
            }
            return 0;
        }
        (void)pod->ready();
    }
    return 0;
}
