#pragma once
// The completion scripts of completions/, compiled in (see cmake/EmbedCompletions.cmake).

#include <string_view>

namespace oncall::app {

/// The script for "bash", "zsh" or "fish", byte for byte as in completions/; empty for others.
std::string_view completion_script(std::string_view shell);

} // namespace oncall::app
