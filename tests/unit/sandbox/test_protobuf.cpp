// The protobuf TokenRequest bodies kubectl sends, decoded by the sandbox (fixture recorded from
// kubectl).

#include "protobuf.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

using nlohmann::json;

TEST_CASE("kubectl's protobuf TokenRequest decodes to its JSON form", "[sandbox][protobuf]") {
    std::ifstream in(std::string(ONCALL_FIXTURES_DIR) + "/sandbox/kubectl-create-token.pb",
                     std::ios::binary);
    REQUIRE(in);
    const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto decoded = sandbox::decode_token_request(body);
    REQUIRE(decoded.ok());
    CHECK(decoded.value()["apiVersion"] == "authentication.k8s.io/v1");
    CHECK(decoded.value()["kind"] == "TokenRequest");
    CHECK(decoded.value()["spec"] ==
          json::parse(R"({"audiences": ["aud1"], "expirationSeconds": 660,
        "boundObjectRef": {"kind": "Secret", "apiVersion": "v1", "name": "foo", "uid": "abc"}})"));
}

TEST_CASE("malformed protobuf bodies are errors, not crashes", "[sandbox][protobuf]") {
    std::ifstream in(std::string(ONCALL_FIXTURES_DIR) + "/sandbox/kubectl-create-token.pb",
                     std::ios::binary);
    const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_FALSE(sandbox::decode_token_request("").ok());
    CHECK_FALSE(sandbox::decode_token_request("{\"spec\":{}}").ok());
    CHECK(sandbox::decode_token_request(std::string("k8s\0\x0a", 5)).ok() == false);
    for (std::size_t cut = 5; cut < body.size(); cut += 7) {
        INFO(cut);
        auto r = sandbox::decode_token_request(
            body.substr(0, cut)); // truncated: error or partial, never a crash
        if (!r.ok())
            CHECK(r.error().http_status == 400);
    }
    std::string corrupt = body;
    corrupt[5] = static_cast<char>(0xff); // a varint that never ends
    CHECK_FALSE(sandbox::decode_token_request(corrupt).ok());
}
