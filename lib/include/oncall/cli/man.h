#pragma once
// The manual page oncall(1), rendered in roff from the command tree, so that every command and
// option the program accepts is documented without a second copy to keep in step.

#include "oncall/cli/spec.h"

#include <string>

namespace oncall::cli {

/// Renders `root` (hidden commands left out) as a man(7) page for section 1, with the fixed
/// sections (exit status, environment, files) appended. `version` goes in the page's footer.
std::string render_man_page(const CommandSpec& root, const std::string& version);

/// Escapes text for roff: backslashes, leading dots and quotes, and hyphens in option names.
std::string roff_escape(const std::string& text);

} // namespace oncall::cli
