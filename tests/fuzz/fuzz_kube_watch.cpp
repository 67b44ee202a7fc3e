// Fuzzes the decoding of a Kubernetes watch stream: the input is split into lines as the client
// splits the stream, each line decoded as an event (ERROR events into Errors) until the first
// failure, and the objects of Deployment events decoded as rollout waits decode them.
#include "fuzz_kube_support.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view stream(reinterpret_cast<const char*>(data), size);
    while (!stream.empty()) {
        const auto nl = stream.find('\n');
        const auto line = stream.substr(0, nl);
        stream = nl == std::string_view::npos ? std::string_view() : stream.substr(nl + 1);
        if (line.empty()) {
            continue;
        }
        const auto event = oncall::kube::decode_watch_event(
            line, "WATCH /apis/apps/v1/namespaces/shop/deployments",
            "https://127.0.0.1:6443/apis/apps/v1");
        if (!event) {
            if (event.error().message.empty()) {
                oncall::fuzz::fail("a refusal without a message");
            }
            break;
        }
        if (event->type == "ERROR") {
            oncall::fuzz::fail("ERROR events are errors, never events");
        }
        if (event->type == "ADDED" || event->type == "MODIFIED") {
            (void)oncall::kube::decode_deployment(event->object);
        }
    }
    return 0;
}
