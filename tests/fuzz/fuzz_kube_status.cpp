// Fuzzes the translation of kube-apiserver error answers (Status objects, or anything else a proxy
// sends) into Errors, for every status the client meets, and the Event decoder.
#include "fuzz_kube_support.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = oncall::fuzz::split_status(data, size);
    oncall::http::Response response;
    response.status = input.status == 200 ? 500 : input.status;
    response.body = std::string(input.body);
    response.url = "https://127.0.0.1:6443/apis/apps/v1/namespaces/shop/deployments/checkout";
    response.headers.push_back({"Content-Type", "application/json"});
    const auto error = oncall::kube::api_error(response, "PATCH deployment shop/checkout");
    if (error.message.empty()) {
        oncall::fuzz::fail("a refusal without a message");
    }
    if (const auto json = oncall::fuzz::parse_body(input.body); json) {
        for (const auto& item : oncall::fuzz::list_items(*json)) {
            (void)oncall::kube::decode_event(item);
        }
    }
    return 0;
}
