#pragma once
// The two output modes of every command: text for people, one JSON document for scripts.

#include <nlohmann/json.hpp>
#include <string>

namespace oncall::render {

enum class Format { text, json };

/// Parses "text" or "json".
bool parse_format(const std::string& text, Format& out);

/// Writes exactly one JSON document (pretty, newline-terminated) to stdout.
void print_json(const nlohmann::json& document);

} // namespace oncall::render
