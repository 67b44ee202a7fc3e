#include "oncall/render/style.h"

#include <cstdlib>
#include <string>
#include <sys/ioctl.h>
#include <unistd.h>

namespace oncall::render {
namespace {

// Decodes one UTF-8 code point at text[i]; advances i. Invalid bytes count as one column.
char32_t next_code_point(std::string_view text, std::size_t& i) {
    const auto c = static_cast<unsigned char>(text[i]);
    int len = 1;
    char32_t cp = c;
    if (c >= 0xF0 && c < 0xF8) {
        len = 4;
        cp = c & 0x07;
    } else if (c >= 0xE0) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xC0) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0x80) {
        ++i;
        return 0xFFFD;
    }
    if (i + static_cast<std::size_t>(len) > text.size()) {
        i = text.size();
        return 0xFFFD;
    }
    for (int k = 1; k < len; ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]) & 0x3F);
    }
    i += static_cast<std::size_t>(len);
    return cp;
}

int code_point_width(char32_t cp) {
    if (cp == 0 || (cp >= 0x300 && cp <= 0x36F) || cp == 0x200B) {
        return 0;
    }
    // East Asian wide and emoji ranges (approximate, enough for a terminal table).
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
        (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD)) {
        return 2;
    }
    return 1;
}

// Length of an ANSI escape sequence starting at text[i] (0 when none).
std::size_t escape_length(std::string_view text, std::size_t i) {
    if (text[i] != '\x1b' || i + 1 >= text.size() || text[i + 1] != '[') {
        return 0;
    }
    std::size_t j = i + 2;
    while (j < text.size() && !(text[j] >= 0x40 && text[j] <= 0x7E)) {
        ++j;
    }
    return j < text.size() ? j - i + 1 : text.size() - i;
}

} // namespace

StyleInputs current_style_inputs() {
    StyleInputs in;
    in.tty = ::isatty(STDOUT_FILENO) == 1;
    winsize ws{};
    if (in.tty && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        in.terminal_width = ws.ws_col;
    }
    const auto env = [](const char* name) -> std::optional<std::string> {
        if (const char* v = std::getenv(name)) {
            return std::string(v);
        }
        return std::nullopt;
    };
    in.no_color = env("NO_COLOR");
    in.term = env("TERM");
    in.columns = env("COLUMNS");
    return in;
}

Style detect_style(bool no_color_flag, const StyleInputs& in) {
    Style style;
    style.tty = in.tty;
    style.color =
        in.tty && !no_color_flag && (!in.no_color || in.no_color->empty()) && in.term != "dumb";
    style.width = 100;
    if (in.tty && in.terminal_width > 0) {
        style.width = in.terminal_width;
    } else if (in.columns) {
        const int w = std::atoi(in.columns->c_str());
        if (w >= 20 && w <= 1000) {
            style.width = w;
        }
    }
    return style;
}

Style detect_style(bool no_color_flag) {
    return detect_style(no_color_flag, current_style_inputs());
}

std::string_view color_code(Color color) noexcept {
    switch (color) {
    case Color::red:
        return "31";
    case Color::green:
        return "32";
    case Color::yellow:
        return "33";
    case Color::blue:
        return "34";
    case Color::magenta:
        return "35";
    case Color::cyan:
        return "36";
    case Color::gray:
        return "90";
    case Color::bold:
        return "1";
    case Color::none:
        break;
    }
    return {};
}

std::string paint(std::string_view text, Color color, const Style& style) {
    if (!style.color || color == Color::none) {
        return std::string(text);
    }
    return "\x1b[" + std::string(color_code(color)) + "m" + std::string(text) + "\x1b[0m";
}

int display_width(std::string_view text) {
    int width = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (const auto esc = escape_length(text, i); esc > 0) {
            i += esc;
            continue;
        }
        width += code_point_width(next_code_point(text, i));
    }
    return width;
}

std::string truncate_to_width(std::string_view text, int width) {
    if (display_width(text) <= width) {
        return std::string(text);
    }
    if (width <= 0) {
        return {};
    }
    std::string out;
    int used = 0;
    std::size_t i = 0;
    bool had_escape = false;
    while (i < text.size()) {
        if (const auto esc = escape_length(text, i); esc > 0) {
            out.append(text.substr(i, esc));
            had_escape = true;
            i += esc;
            continue;
        }
        const std::size_t start = i;
        const int w = code_point_width(next_code_point(text, i));
        if (used + w > width - 1) {
            break;
        }
        out.append(text.substr(start, i - start));
        used += w;
    }
    out += "…";
    if (had_escape) {
        out += "\x1b[0m";
    }
    return out;
}

} // namespace oncall::render
