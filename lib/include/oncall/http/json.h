#pragma once
// Decoding JSON response bodies: the one place that turns garbage (an HTML error page, a truncated
// body, a nesting bomb) into a clear Errc::bad_response that names the server and the redacted URL.

#include "oncall/core/result.h"
#include "oncall/http/client.h"

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

namespace oncall::http {

/// Deepest nesting of arrays and objects parse_json_body accepts.
inline constexpr std::size_t k_max_json_depth = 128;

/// Parses the body as JSON (without exceptions). An empty body, an HTML page, a truncated or
/// otherwise invalid document, or one nested deeper than k_max_json_depth is Errc::bad_response:
/// "<what> at <url>: answered an HTML page (HTTP 200) instead of JSON; ...".
Result<nlohmann::json> parse_json_body(const Response& response, std::string_view what);

/// Parses JSON text with the same limits; `where` prefixes the message ("<what> at <url>").
Result<nlohmann::json> parse_json_text(std::string_view text, std::string_view where);

} // namespace oncall::http
