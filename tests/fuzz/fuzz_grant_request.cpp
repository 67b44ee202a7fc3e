// Fuzzes what another person's access request brings: the SAN URI parser and the PKCS#10 request
// parser (PEM, key type, signature, CN, URI). No crash, no undefined behaviour; every accepted URI
// survives a grant_uri/parse_grant_uri round trip; every refusal says why.
#include "fuzz_support.h"
#include "oncall/ops/grant_request.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto uri = oncall::ops::parse_grant_uri(text);
    if (uri) {
        const auto again = oncall::ops::parse_grant_uri(oncall::ops::grant_uri(*uri));
        if (!again || again->service != uri->service || again->reason != uri->reason ||
            again->ticket != uri->ticket || again->duration != uri->duration) {
            oncall::fuzz::fail("what was accepted must encode to the same request");
        }
    } else if (uri.error().message.empty()) {
        oncall::fuzz::fail("a refusal without a message");
    }
    const auto csr = oncall::ops::parse_grant_csr(text);
    if (!csr && csr.error().message.empty()) {
        oncall::fuzz::fail("a refusal without a message");
    }
    if (csr && csr->public_key.size() != 32) {
        oncall::fuzz::fail("an accepted request always carries an Ed25519 key");
    }
    return 0;
}
