#pragma once
// The one sanitiser of text output: what a server or another person wrote is shown, never obeyed.

#include "oncall/core/untrusted.h"

#include <string>
#include <string_view>

namespace oncall::render {

/// One line that is safe on a terminal: C0 controls and DEL in caret notation (ESC as ^[, BEL as
/// ^G), C1 controls and bidirectional overrides as \u00XX / \u202E, bytes that are not UTF-8 as
/// \xNN, a tab as one space, and each line break (LF, CR, CRLF) folded into "⏎".
std::string sanitize(std::string_view text);

/// sanitize() of untrusted text.
inline std::string sanitize(const Untrusted& text) {
    return sanitize(std::string_view(text.raw()));
}
inline std::string sanitize(const std::string& text) {
    return sanitize(std::string_view(text));
}
inline std::string sanitize(const char* text) {
    return sanitize(std::string_view(text));
}

/// sanitize() for a line a view composed itself: the colour sequences paint() makes
/// (ESC [ 0, 1, 31 to 36 or 90 m) are kept, everything else is escaped as sanitize() does
/// (ESC [8m, conceal, included).
std::string sanitize_keeping_color(std::string_view text);

} // namespace oncall::render
