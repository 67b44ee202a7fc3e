#pragma once
// Helpers of the Kubernetes fuzz targets: bytes to JSON as the client does it (depth-limited, no
// exceptions), and a recorded Deployment to relate fuzzed ReplicaSets and Pods to.

#include "fuzz_support.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/http/json.h"

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace oncall::fuzz {

/// The body parsed as the Kubernetes client parses a response body.
inline Result<nlohmann::json> parse_body(std::string_view body) {
    return http::parse_json_text(
        body, "GET https://127.0.0.1:6443/apis/apps/v1/namespaces/shop/deployments");
}

/// The items of a list object, as KubeClient::list collects them (non-arrays give none).
inline const nlohmann::json& list_items(const nlohmann::json& list) {
    static const nlohmann::json k_empty = nlohmann::json::array();
    if (!list.is_object()) {
        return k_empty;
    }
    const auto it = list.find("items");
    return it != list.end() && it->is_array() ? *it : k_empty;
}

/// The Deployment recorded from the sandbox (tests/fixtures/kubernetes/deployment_checkout.json).
inline const kube::Deployment& recorded_deployment() {
    static const kube::Deployment deployment = [] {
        std::ifstream in(ONCALL_FIXTURES_DIR "/kubernetes/deployment_checkout.json");
        std::stringstream text;
        text << in.rdbuf();
        auto json = parse_body(text.str());
        if (!json) {
            oncall::fuzz::fail("the recorded deployment fixture is not JSON");
        }
        auto decoded = kube::decode_deployment(*json);
        if (!decoded) {
            oncall::fuzz::fail("the recorded deployment fixture does not decode");
        }
        return std::move(decoded).value();
    }();
    return deployment;
}

} // namespace oncall::fuzz
