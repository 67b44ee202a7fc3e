#include "oncall/cli/complete.h"

#include "oncall/render/sanitize.h"

#include <algorithm>
#include <set>

namespace oncall::cli {
namespace {

bool starts_with(const std::string& text, std::string_view prefix) {
    return text.size() >= prefix.size() && text.compare(0, prefix.size(), prefix) == 0;
}

// The options accepted at `path`'s last command: its own, then its parents' while it inherits them.
std::vector<const OptionSpec*> visible_options(const std::vector<const CommandSpec*>& path) {
    std::vector<const OptionSpec*> out;
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
        for (const auto& opt : (*it)->options) {
            out.push_back(&opt);
        }
        if (!(*it)->inherits_options) {
            break;
        }
    }
    return out;
}

const OptionSpec* find_option(const std::vector<const OptionSpec*>& options,
                              std::string_view name) {
    for (const auto* opt : options) {
        if (std::find(opt->names.begin(), opt->names.end(), name) != opt->names.end()) {
            return opt;
        }
    }
    return nullptr;
}

// Sets what the cursor wants when it is on the value of `opt`.
void want_option_value(CompletionContext& ctx, const OptionSpec& opt) {
    ctx.kind = opt.kind;
    ctx.argument = opt.preferred_name();
    for (const auto& c : opt.choices) {
        ctx.candidates.push_back({c, ""});
    }
}

void offer_options(CompletionContext& ctx, const std::vector<const OptionSpec*>& options,
                   const std::set<const OptionSpec*>& given, bool long_only) {
    for (const auto* opt : options) {
        if (given.count(opt) > 0 && !opt->repeatable) {
            continue;
        }
        for (const auto& name : opt->names) {
            if (long_only && !starts_with(name, "--")) {
                continue;
            }
            ctx.candidates.push_back({name, opt->description});
        }
    }
}

// A description is shown by the shell as it is: one line, control characters and escape
// sequences escaped (a server-supplied description must not retitle or clear the terminal).
std::string one_line(const std::string& text) {
    return render::sanitize(text);
}

// A value is typed into the command line: one with control characters is not offered at all.
bool typeable(const std::string& value) {
    return std::none_of(value.begin(), value.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F;
    });
}

} // namespace

std::optional<std::string> CompletionContext::option_value(const std::string& name) const {
    const auto it = option_values.find(name);
    if (it == option_values.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::optional<std::string> CompletionContext::service() const {
    for (const auto& [kind, value] : positional_values) {
        if (kind == ValueKind::service && !value.empty()) {
            return value;
        }
    }
    if (auto v = option_value("--service")) {
        return v;
    }
    return std::nullopt;
}

CompletionContext analyze(const CommandSpec& root, std::vector<std::string> words) {
    if (words.empty()) {
        words.emplace_back();
    }
    CompletionContext ctx;
    ctx.current = words.back();
    words.pop_back();

    std::vector<const CommandSpec*> path{&root};
    auto options = visible_options(path);
    std::set<const OptionSpec*> given;
    std::size_t positional = 0;          // index into the current command's positionals
    int positional_count = 0;            // words taken by that positional so far
    bool any_positional = false;         // a positional word was typed for the current command
    bool after_dashes = false;           // "--" seen: everything is positional
    const OptionSpec* pending = nullptr; // an option still waiting for its value

    auto record = [&](const OptionSpec& opt, const std::string& value) {
        given.insert(&opt);
        for (const auto& n : opt.names) {
            ctx.option_values[n] = value;
        }
    };
    auto take_positional = [&](const std::string& word) {
        const auto* cmd = path.back();
        any_positional = true;
        if (positional >= cmd->positionals.size()) {
            return;
        }
        const auto& spec = cmd->positionals[positional];
        ctx.positional_values.emplace_back(spec.kind, word);
        ++positional_count;
        if (spec.max_count >= 0 && positional_count >= spec.max_count) {
            ++positional;
            positional_count = 0;
        }
    };

    for (const auto& word : words) {
        if (pending != nullptr) {
            record(*pending, word);
            pending = nullptr;
            continue;
        }
        if (after_dashes) {
            take_positional(word);
            continue;
        }
        if (word == "--") {
            after_dashes = true;
            continue;
        }
        if (starts_with(word, "--")) {
            const auto eq = word.find('=');
            const auto* opt = find_option(options, word.substr(0, eq));
            if (opt == nullptr) {
                continue; // unknown option: assume a flag
            }
            if (!opt->takes_value) {
                given.insert(opt);
            } else if (eq != std::string::npos) {
                record(*opt, word.substr(eq + 1));
            } else {
                pending = opt;
            }
            continue;
        }
        if (word.size() > 1 && word[0] == '-') {
            // -o, -ojson, or a cluster of flags like -vq.
            for (std::size_t i = 1; i < word.size(); ++i) {
                const auto* opt = find_option(options, std::string{'-', word[i]});
                if (opt == nullptr) {
                    break;
                }
                if (!opt->takes_value) {
                    given.insert(opt);
                    continue;
                }
                if (i + 1 < word.size()) {
                    record(*opt, word.substr(i + 1));
                } else {
                    pending = opt;
                }
                break;
            }
            continue;
        }
        if (const auto* sub = path.back()->find_subcommand(word)) {
            path.push_back(sub);
            ctx.command_path.push_back(sub->name);
            options = visible_options(path);
            positional = 0;
            positional_count = 0;
            any_positional = false;
            continue;
        }
        take_positional(word);
    }

    ctx.filter = ctx.current;
    const auto* cmd = path.back();
    if (pending != nullptr) {
        want_option_value(ctx, *pending);
        return ctx;
    }
    if (!after_dashes && starts_with(ctx.current, "--") &&
        ctx.current.find('=') != std::string::npos) {
        const auto eq = ctx.current.find('=');
        const auto* opt = find_option(options, ctx.current.substr(0, eq));
        if (opt != nullptr && opt->takes_value) {
            ctx.value_prefix = ctx.current.substr(0, eq + 1);
            ctx.filter = ctx.current.substr(eq + 1);
            want_option_value(ctx, *opt);
        }
        return ctx;
    }
    if (!after_dashes && starts_with(ctx.current, "-")) {
        offer_options(ctx, options, given, starts_with(ctx.current, "--"));
        return ctx;
    }
    bool offered = false;
    if (!any_positional && !after_dashes) {
        for (const auto& sub : cmd->subcommands) {
            if (!sub.hidden) {
                ctx.candidates.push_back({sub.name, one_line(sub.description)});
                offered = true;
            }
        }
    }
    if (positional < cmd->positionals.size()) {
        const auto& spec = cmd->positionals[positional];
        ctx.kind = spec.kind;
        ctx.argument = spec.name;
        for (const auto& c : spec.choices) {
            ctx.candidates.push_back({c, ""});
        }
        offered = true;
    }
    if (!offered && ctx.current.empty() && !after_dashes) {
        offer_options(ctx, options, given, true);
    }
    return ctx;
}

Completion complete(const CommandSpec& root, const std::vector<std::string>& words,
                    const Resolver& resolver) {
    const auto ctx = analyze(root, words);
    std::vector<Candidate> all = ctx.candidates;
    Completion out;
    switch (ctx.kind) {
    case ValueKind::service:
    case ValueKind::context:
    case ValueKind::role:
    case ValueKind::revision:
    case ValueKind::silence:
    case ValueKind::alert:
        if (resolver) {
            auto more = resolver(ctx.kind, ctx);
            all.insert(all.end(), more.begin(), more.end());
        }
        break;
    case ValueKind::file:
        out.files = true;
        break;
    case ValueKind::directory:
        out.directories = true;
        break;
    case ValueKind::none:
    case ValueKind::choices:
        break;
    }
    std::set<std::string> seen;
    for (auto& c : all) {
        if (c.value.empty() || !starts_with(c.value, ctx.filter)) {
            continue;
        }
        if (!typeable(c.value)) {
            continue;
        }
        std::string value = ctx.value_prefix + c.value;
        if (!seen.insert(value).second) {
            continue;
        }
        out.candidates.push_back({std::move(value), one_line(c.description)});
    }
    return out;
}

std::string format_completion(const Completion& completion, bool descriptions) {
    std::string out;
    for (const auto& c : completion.candidates) {
        out += c.value;
        if (descriptions && !c.description.empty()) {
            out += '\t';
            out += c.description;
        }
        out += '\n';
    }
    if (completion.files) {
        out += ":files\n";
    } else if (completion.directories) {
        out += ":dirs\n";
    }
    return out;
}

} // namespace oncall::cli
