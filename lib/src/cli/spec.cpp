#include "oncall/cli/spec.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace oncall::cli {

ValueKind value_kind_from_name(std::string_view name) noexcept {
    std::string upper(name);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (upper == "SERVICE") {
        return ValueKind::service;
    }
    if (upper == "CONTEXT") {
        return ValueKind::context;
    }
    if (upper == "ROLE") {
        return ValueKind::role;
    }
    if (upper == "REVISION") {
        return ValueKind::revision;
    }
    if (upper == "SILENCE" || upper == "SILENCE_ID") {
        return ValueKind::silence;
    }
    if (upper == "ALERT" || upper == "ALERTNAME") {
        return ValueKind::alert;
    }
    if (upper == "FILE" || upper == "PATH") {
        return ValueKind::file;
    }
    if (upper == "DIR" || upper == "DIRECTORY") {
        return ValueKind::directory;
    }
    return ValueKind::none;
}

const std::string& OptionSpec::preferred_name() const {
    static const std::string k_empty;
    for (const auto& n : names) {
        if (n.rfind("--", 0) == 0) {
            return n;
        }
    }
    return names.empty() ? k_empty : names.front();
}

const CommandSpec* CommandSpec::find_subcommand(std::string_view wanted) const {
    for (const auto& sub : subcommands) {
        if (sub.name == wanted) {
            return &sub;
        }
    }
    return nullptr;
}

} // namespace oncall::cli
