#pragma once
// Log line templates of a behavior: logfmt text with placeholders filled per line from a seed.
//   {trace_id} 32 hex digits    {span_id} 16 hex digits    {ms} a latency drawn from the behavior
//   {int:LO-HI} an integer      {choice:a|b|c} one of the words    {hex:N} N hex digits
//   {pod} {service} {namespace}

#include <cstdint>
#include <optional>
#include <string>

namespace sandbox {

/// What a placeholder may draw on when a template is filled in.
struct LogContext {
    std::string namespace_name;
    std::string service;
    std::string pod;
    double latency_p50 = 0.05; // seconds, for {ms}
    double latency_p99 = 0.2;
};

/// Why the template cannot be used (unknown or malformed placeholder), or nothing when it is fine.
std::optional<std::string> check_log_template(const std::string& text);

/// Fills the placeholders of a checked template; the same seed always gives the same line.
std::string render_log_template(const std::string& text, const LogContext& context,
                                std::uint64_t seed);

/// True for a template of an error line (its level is error or fatal).
bool is_error_template(const std::string& text);

} // namespace sandbox
