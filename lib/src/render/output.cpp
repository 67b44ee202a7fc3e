#include "oncall/render/output.h"

#include <cstdio>

namespace oncall::render {

bool parse_format(const std::string& text, Format& out) {
    if (text == "text") {
        out = Format::text;
        return true;
    }
    if (text == "json") {
        out = Format::json;
        return true;
    }
    return false;
}

void print_json(const nlohmann::json& document) {
    const std::string text =
        document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

} // namespace oncall::render
