#pragma once
// The command line as data: commands, their options and positional arguments, and the kind of
// value each one takes. The CLI builds it from its own parser definition; completion and the man
// page are computed from it, so both follow every command without being edited.

#include <string>
#include <string_view>
#include <vector>

namespace oncall::cli {

/// What kind of value an argument takes; decides where completion candidates come from.
enum class ValueKind {
    none,      // free text (a duration, a reason): nothing to offer
    choices,   // a fixed list (`-o text|json`)
    file,      // a path: the shell's own file name completion
    directory, // a directory: the shell's own directory completion
    service,   // configured services plus the Deployments of the context's namespace
    context,   // contexts of the configuration
    role,      // roles of the selected context
    revision,  // revisions of the service named on the same line
    silence,   // ids of the active and pending silences of the context's Alertmanager
    alert,     // names of the firing alerts of the service named on the same line
};

/// The kind a value name stands for ("SERVICE" -> service, "FILE" -> file), none when unknown.
ValueKind value_kind_from_name(std::string_view name) noexcept;

/// An option (flag or option with a value) of one command.
struct OptionSpec {
    std::vector<std::string> names; // with their dashes: "-o", "--output"
    std::string value_name;         // "TEXT", "SERVICE"; empty for flags
    std::string description;
    bool takes_value = false;
    bool repeatable = false; // may be given more than once (lists)
    ValueKind kind = ValueKind::none;
    std::vector<std::string> choices; // for ValueKind::choices

    /// The --long name when there is one, else the first name.
    const std::string& preferred_name() const;
};

/// A positional argument of one command.
struct PositionalSpec {
    std::string name; // "SERVICE"
    std::string description;
    bool required = false;
    int max_count = 1; // how many words it takes; negative: unlimited
    ValueKind kind = ValueKind::none;
    std::vector<std::string> choices;
};

/// A command with its options, positionals and subcommands.
struct CommandSpec {
    std::string name;
    std::string description;
    bool hidden = false;           // left out of help and completion
    bool inherits_options = false; // its parent's options are accepted after it (CLI11 fallthrough)
    bool requires_subcommand = false;
    std::vector<OptionSpec> options;
    std::vector<PositionalSpec> positionals;
    std::vector<CommandSpec> subcommands;

    /// The subcommand called `name` (hidden ones included), or nullptr.
    const CommandSpec* find_subcommand(std::string_view name) const;
};

} // namespace oncall::cli
