#include "oncall/render/sanitize.h"

#include "oncall/render/style.h"

#include <algorithm>
#include <fmt/format.h>
#include <iterator>

namespace oncall::render {
namespace {

// Length of a valid UTF-8 sequence at text[i] and its code point; 0 when the bytes are not UTF-8
// (overlong forms, surrogates and values above U+10FFFF included).
std::size_t utf8_sequence(std::string_view text, std::size_t i, char32_t& cp) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::size_t len = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        cp = b0 & 0x1Fu;
        min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        cp = b0 & 0x0Fu;
        min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        cp = b0 & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > text.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(text[i + k]);
        if ((b & 0xC0u) != 0x80u) {
            return 0;
        }
        cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

bool bidi_control(char32_t cp) {
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
           cp == 0x200F || cp == 0x061C;
}

// Length of one of the sequences paint() makes (ESC [ CODE m for a colour's code, or the reset
// ESC [ 0 m) at text[i]; 0 for anything else, so that text a view forgot to sanitise can at worst
// be coloured, never concealed (ESC [8m), blinking or moved about.
std::size_t color_sequence(std::string_view text, std::size_t i) {
    if (i + 2 >= text.size() || text[i] != '\x1b' || text[i + 1] != '[') {
        return 0;
    }
    const std::size_t end = text.find('m', i + 2);
    if (end == std::string_view::npos) {
        return 0;
    }
    const std::string_view code = text.substr(i + 2, end - i - 2);
    const bool painted = code == "0" || std::any_of(std::begin(k_colors), std::end(k_colors),
                                                    [&](Color c) { return color_code(c) == code; });
    return painted ? end - i + 1 : 0;
}

std::string sanitize_impl(std::string_view text, bool keep_color) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (keep_color && c == 0x1B) {
            if (const auto n = color_sequence(text, i); n > 0) {
                out.append(text.substr(i, n));
                i += n;
                continue;
            }
        }
        if (c == '\r' || c == '\n') {
            out += "⏎";
            i += (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
            continue;
        }
        if (c == '\t') {
            out += ' ';
            ++i;
            continue;
        }
        if (c < 0x20 || c == 0x7F) {
            out += '^';
            out += static_cast<char>(c ^ 0x40u);
            ++i;
            continue;
        }
        char32_t cp = 0;
        const auto len = utf8_sequence(text, i, cp);
        if (len == 0) {
            out += fmt::format("\\x{:02X}", c);
            ++i;
            continue;
        }
        if ((cp >= 0x80 && cp <= 0x9F) || bidi_control(cp)) {
            out += fmt::format("\\u{:04X}", static_cast<unsigned>(cp));
        } else {
            out.append(text.substr(i, len));
        }
        i += len;
    }
    return out;
}

} // namespace

std::string sanitize(std::string_view text) {
    return sanitize_impl(text, false);
}

std::string sanitize_keeping_color(std::string_view text) {
    return sanitize_impl(text, true);
}

} // namespace oncall::render
