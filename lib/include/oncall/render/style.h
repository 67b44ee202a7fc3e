#pragma once
// How output looks on this stream: colour or not, how wide.

#include <string>
#include <string_view>

namespace oncall::render {

enum class Color { none, red, green, yellow, blue, magenta, cyan, gray, bold };

struct Style {
    bool color = false;
    bool tty = false;
    int width = 100;
};

/// Colour only when stdout is a terminal, NO_COLOR is unset and --no-color was not given;
/// width from the terminal, else $COLUMNS, else 100.
Style detect_style(bool no_color_flag);

/// Wraps text in ANSI colour codes when the style allows colour.
std::string paint(std::string_view text, Color color, const Style& style);

/// Display width of UTF-8 text in terminal columns (ANSI escapes count as zero).
int display_width(std::string_view text);

/// Cuts UTF-8 text to at most `width` columns, ending with "…" when cut.
std::string truncate_to_width(std::string_view text, int width);

} // namespace oncall::render
