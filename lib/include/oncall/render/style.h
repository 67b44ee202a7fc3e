#pragma once
// How output looks on this stream: colour or not, how wide.

#include <optional>
#include <string>
#include <string_view>

namespace oncall::render {

enum class Color { none, red, green, yellow, blue, magenta, cyan, gray, bold };

/// Every colour paint() can apply.
inline constexpr Color k_colors[] = {Color::red,     Color::green, Color::yellow, Color::blue,
                                     Color::magenta, Color::cyan,  Color::gray,   Color::bold};

/// The SGR parameter paint() writes for `color` ("31" for red), empty for none.
std::string_view color_code(Color color) noexcept;

struct Style {
    bool color = false;
    bool tty = false;
    int width = 100;
};

/// What the style depends on: the stream and the environment.
struct StyleInputs {
    bool tty = false;                    // stdout is a terminal
    int terminal_width = 0;              // its width in columns (0: unknown)
    std::optional<std::string> no_color; // $NO_COLOR
    std::optional<std::string> term;     // $TERM
    std::optional<std::string> columns;  // $COLUMNS
};

/// The inputs of this process: isatty(stdout), its window size, and the environment.
StyleInputs current_style_inputs();

/// Colour only on a terminal, with NO_COLOR unset or empty, TERM not "dumb" and no --no-color;
/// width from the terminal, else $COLUMNS (20 to 1000), else 100.
Style detect_style(bool no_color_flag, const StyleInputs& inputs);

/// detect_style() of this process.
Style detect_style(bool no_color_flag);

/// Wraps text in ANSI colour codes when the style allows colour.
std::string paint(std::string_view text, Color color, const Style& style);

/// Display width of UTF-8 text in terminal columns (ANSI escapes count as zero).
int display_width(std::string_view text);

/// Cuts UTF-8 text to at most `width` columns, ending with "…" when cut.
std::string truncate_to_width(std::string_view text, int width);

} // namespace oncall::render
