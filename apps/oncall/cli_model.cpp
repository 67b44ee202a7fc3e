#include "cli_model.h"

#include <algorithm>
#include <cctype>

namespace oncall::app {
namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

bool ends_with(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "TEXT:{text,json}" -> value name "TEXT", choices {text, json}. CLI11 appends each check's
// description to the type name; IsMember's is the set in braces.
void split_type_name(const std::string& full, std::string& value_name,
                     std::vector<std::string>& choices) {
    const auto colon = full.find(':');
    value_name = full.substr(0, colon);
    if (colon == std::string::npos) {
        return;
    }
    const auto open = full.find('{', colon);
    const auto close = full.find('}', open == std::string::npos ? colon : open);
    if (open == std::string::npos || close == std::string::npos) {
        return;
    }
    const std::string inner = full.substr(open + 1, close - open - 1);
    std::size_t start = 0;
    while (start <= inner.size()) {
        auto comma = inner.find(',', start);
        if (comma == std::string::npos) {
            comma = inner.size();
        }
        std::string item = inner.substr(start, comma - start);
        item = item.substr(0, item.find("->")); // maps: the key is what is typed
        if (!item.empty()) {
            choices.push_back(item);
        }
        start = comma + 1;
    }
}

// The kind an argument's own name suggests ("SERVICE", "context", "to-revision", "ca-file").
cli::ValueKind kind_from_argument_name(const std::string& raw) {
    const std::string name = lower(raw);
    if (name == "service") {
        return cli::ValueKind::service;
    }
    if (name == "context") {
        return cli::ValueKind::context;
    }
    if (name == "role") {
        return cli::ValueKind::role;
    }
    if (name == "revision" || name == "to-revision") {
        return cli::ValueKind::revision;
    }
    if (name == "config" || name == "file" || ends_with(name, "-file")) {
        return cli::ValueKind::file;
    }
    return cli::ValueKind::none;
}

cli::ValueKind infer_kind(const std::string& value_name, const std::vector<std::string>& choices,
                          const std::string& argument_name) {
    if (const auto k = cli::value_kind_from_name(value_name); k != cli::ValueKind::none) {
        return k;
    }
    if (!choices.empty()) {
        return cli::ValueKind::choices;
    }
    return kind_from_argument_name(argument_name);
}

// The value name a kind is shown with, or nullptr for kinds that have none of their own.
const char* value_name_of(cli::ValueKind kind) {
    switch (kind) {
    case cli::ValueKind::service:
        return "SERVICE";
    case cli::ValueKind::context:
        return "CONTEXT";
    case cli::ValueKind::role:
        return "ROLE";
    case cli::ValueKind::revision:
        return "REVISION";
    case cli::ValueKind::silence:
        return "SILENCE";
    case cli::ValueKind::alert:
        return "ALERT";
    case cli::ValueKind::file:
        return "FILE";
    case cli::ValueKind::directory:
        return "DIR";
    case cli::ValueKind::none:
    case cli::ValueKind::choices:
        return nullptr;
    }
    return nullptr;
}

} // namespace

CLI::Option* takes(CLI::Option* option, cli::ValueKind kind) {
    if (const char* name = value_name_of(kind)) {
        option->type_name(name);
    }
    return option;
}

cli::CommandSpec describe_cli(const CLI::App& app) {
    cli::CommandSpec spec;
    spec.name = app.get_name();
    spec.description = app.get_description();
    spec.hidden = app.get_parent() != nullptr && app.get_group().empty();
    spec.inherits_options = app.get_parent() != nullptr && app.get_fallthrough();
    spec.requires_subcommand = app.get_require_subcommand_min() > 0;

    for (const CLI::Option* opt : app.get_options()) {
        if (opt->get_group().empty()) {
            continue; // hidden option
        }
        std::string value_name;
        std::vector<std::string> choices;
        split_type_name(opt->get_type_name(), value_name, choices);
        if (!opt->nonpositional()) {
            cli::PositionalSpec p;
            p.name = opt->get_name(true);
            p.description = opt->get_description();
            p.required = opt->get_required();
            const int max = opt->get_items_expected_max();
            p.max_count = max >= CLI::detail::expected_max_vector_size ? -1 : std::max(max, 1);
            p.kind = infer_kind(value_name, choices, p.name);
            if (p.kind == cli::ValueKind::choices) {
                p.choices = choices;
            }
            spec.positionals.push_back(std::move(p));
            continue;
        }
        cli::OptionSpec o;
        for (const auto& s : opt->get_snames()) {
            o.names.push_back("-" + s);
        }
        for (const auto& l : opt->get_lnames()) {
            o.names.push_back("--" + l);
        }
        o.description = opt->get_description();
        o.takes_value = opt->get_expected_max() > 0; // flags expect no value
        o.repeatable = o.takes_value && opt->get_items_expected_max() > 1;
        if (o.takes_value) {
            o.value_name = value_name;
            const std::string argument =
                opt->get_lnames().empty() ? std::string{} : opt->get_lnames().front();
            o.kind = infer_kind(value_name, choices, argument);
            if (value_name == "TEXT" || value_name == "INT" || value_name == "UINT" ||
                value_name.empty()) {
                // Say what the value is where CLI11 only knows it is text (--config FILE, --role
                // ROLE).
                if (const char* shown = value_name_of(o.kind)) {
                    o.value_name = shown;
                }
            }
            if (o.kind == cli::ValueKind::choices) {
                o.choices = choices;
            }
        }
        spec.options.push_back(std::move(o));
    }
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        spec.subcommands.push_back(describe_cli(*sub));
    }
    return spec;
}

} // namespace oncall::app
