// Fuzzes the apps/v1 Deployment decoder and what commands derive from a decoded Deployment (its
// selector as list-request text, template comparison).
#include "fuzz_kube_support.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto json = oncall::fuzz::parse_body(body);
    if (!json) {
        return 0;
    }
    const auto deployment = oncall::kube::decode_deployment(*json);
    if (!deployment) {
        if (deployment.error().message.empty()) {
            oncall::fuzz::fail("a refusal without a message");
        }
        return 0;
    }
    (void)deployment->selector_string();
    (void)deployment->status.condition("Progressing");
    (void)deployment->metadata.controller();
    (void)oncall::kube::same_template(deployment->pod_template.raw,
                                      oncall::fuzz::recorded_deployment().pod_template.raw);
    return 0;
}
