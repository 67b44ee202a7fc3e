#pragma once
// Completion over a CommandSpec: given the words typed after the program name (the last one being
// the word under the cursor), says what may come next. Static candidates (commands, options,
// fixed choices) come from the spec; dynamic ones (services, revisions, contexts, roles) from a
// resolver the caller supplies.

#include "oncall/cli/spec.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oncall::cli {

/// One completion: the word to insert and what it is (empty when there is nothing to say).
struct Candidate {
    std::string value;
    std::string description;

    bool operator==(const Candidate&) const = default;
};

/// Where the cursor is, after reading the words before it.
struct CompletionContext {
    std::vector<std::string> command_path; // subcommands entered, e.g. {"config", "use-context"}
    std::string current;                   // the word under the cursor, as typed
    std::string value_prefix;              // "--output=" when completing a value attached with '='
    std::string filter;               // what candidates must start with (current less value_prefix)
    ValueKind kind = ValueKind::none; // kind of value wanted (none: commands and options)
    std::string argument;             // the option or positional whose value is wanted
    std::vector<Candidate> candidates; // static candidates (unfiltered)
    /// Values of the options typed so far, by every name of the option ("--context" and its
    /// aliases).
    std::map<std::string, std::string> option_values;
    /// Values of the positionals typed so far, with their kinds, in order.
    std::vector<std::pair<ValueKind, std::string>> positional_values;

    /// The last value typed for an option name ("--context"), if any.
    std::optional<std::string> option_value(const std::string& name) const;
    /// The service named on the line (first service positional or option), if any.
    std::optional<std::string> service() const;
};

/// Reads `words` (everything after the program name; the last is the word under the cursor,
/// possibly empty) against `root`. An empty `words` is treated as one empty word.
CompletionContext analyze(const CommandSpec& root, std::vector<std::string> words);

/// Looks up candidates for a dynamic kind (service, revision, context, role).
using Resolver = std::function<std::vector<Candidate>(ValueKind, const CompletionContext&)>;

/// What the shell should do with the answer.
struct Completion {
    std::vector<Candidate> candidates; // filtered by what was typed, in a stable order, unique
    bool files = false;                // fall back to the shell's file name completion
    bool directories = false;          // fall back to the shell's directory completion
};

/// analyze(), then the resolver for dynamic kinds, then filtering by the typed prefix.
Completion complete(const CommandSpec& root, const std::vector<std::string>& words,
                    const Resolver& resolver = {});

/// The answer as printed by `oncall __complete`: one candidate a line, "value\tdescription"
/// when `descriptions` is set and there is one, and a last line ":files" or ":dirs" when the
/// shell should complete paths itself.
std::string format_completion(const Completion& completion, bool descriptions);

} // namespace oncall::cli
