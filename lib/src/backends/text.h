#pragma once
// Small text helpers shared by the backends.

#include "oncall/core/result.h"

#include <string>
#include <string_view>

namespace oncall::backends {

/// Decodes standard base64 (padding optional, whitespace ignored); anything else is Errc::invalid.
Result<std::string> base64_decode(std::string_view text);

/// Encodes bytes as standard base64 with padding.
std::string base64_encode(std::string_view bytes);

/// Lower-case hex SHA-256 of the bytes.
std::string sha256_hex(std::string_view bytes);

} // namespace oncall::backends
