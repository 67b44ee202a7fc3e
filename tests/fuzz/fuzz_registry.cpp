// Fuzzes what the registry client reads from a registry's answers and from the user: the
// WWW-Authenticate challenge (first line of the input), the Docker-Content-Digest check (second
// line) and image references (the rest), plus the manifest body hash. The manifest body itself is
// only hashed, never parsed.
#include "backends/text.h"
#include "fuzz_support.h"
#include "oncall/backends/registry.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    auto next_line = [&input]() {
        const auto nl = input.find('\n');
        const auto line = input.substr(0, nl);
        input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
        return line;
    };
    const auto challenge = oncall::registry::parse_challenge(next_line());
    if (!challenge && challenge.error().message.empty()) {
        oncall::fuzz::fail("a refusal without a message");
    }
    const auto digest = next_line();
    if (oncall::registry::is_sha256_digest(digest) && digest.size() != 71) {
        oncall::fuzz::fail("a sha256 digest is 71 characters");
    }
    const auto reference = oncall::registry::parse_image_reference(input);
    if (reference) {
        (void)reference->name();
        const auto text = reference->to_string();
        const auto again = oncall::registry::parse_image_reference(text);
        if (!again || again->to_string() != text) {
            oncall::fuzz::fail("a parsed reference prints as something that parses back to itself");
        }
        if (!reference->digest.empty()) {
            (void)reference->pinned();
        }
    }
    (void)oncall::backends::sha256_hex(input);
    return 0;
}
