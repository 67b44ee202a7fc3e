#include "oncall/cli/man.h"

#include <fmt/format.h>

namespace oncall::cli {
namespace {

// Escapes and turns hyphens into roff minus signs, for option names and command words.
std::string literal(const std::string& text) {
    std::string out;
    for (const char c : roff_escape(text)) {
        if (c == '-') {
            out += "\\-";
        } else {
            out += c;
        }
    }
    return out;
}

std::string first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

bool is_help(const OptionSpec& opt) {
    for (const auto& n : opt.names) {
        if (n == "--help" || n == "--help-all") {
            return true;
        }
    }
    return false;
}

std::string option_heading(const OptionSpec& opt) {
    std::string out;
    for (const auto& n : opt.names) {
        out += out.empty() ? "" : ", ";
        out += "\\fB" + literal(n) + "\\fR";
    }
    if (opt.takes_value) {
        out += " \\fI" + literal(opt.value_name.empty() ? "VALUE" : opt.value_name) + "\\fR";
    }
    return out;
}

// A description as a sentence, so that appended notes read well.
std::string sentence(const std::string& text) {
    if (text.empty() || text.back() == '.' || text.back() == ')') {
        return roff_escape(text);
    }
    return roff_escape(text) + ".";
}

std::string option_text(const OptionSpec& opt) {
    std::string text = sentence(opt.description);
    if (!opt.choices.empty()) {
        std::string list;
        for (const auto& c : opt.choices) {
            list += list.empty() ? c : ", " + c;
        }
        text += fmt::format(" One of: {}.", roff_escape(list));
    }
    if (opt.repeatable) {
        text += " May be given more than once.";
    }
    return text;
}

std::string usage(const std::string& prefix, const CommandSpec& cmd) {
    std::string out = "\\fB" + literal(prefix) + "\\fR";
    bool has_options = false;
    for (const auto& opt : cmd.options) {
        has_options = has_options || !is_help(opt);
    }
    if (has_options) {
        out += " [\\fIOPTIONS\\fR]";
    }
    for (const auto& p : cmd.positionals) {
        const std::string name = "\\fI" + literal(p.name) + "\\fR" + (p.max_count < 0 ? "..." : "");
        out += p.required ? " " + name : " [" + name + "]";
    }
    if (!cmd.subcommands.empty()) {
        out += cmd.requires_subcommand ? " \\fICOMMAND\\fR" : " [\\fICOMMAND\\fR]";
    }
    return out;
}

void render_command(std::string& out, const std::string& prefix, const CommandSpec& cmd) {
    out += ".SS \"" + first_line(prefix) + "\"\n";
    out += usage(prefix, cmd) + "\n.PP\n";
    out += sentence(cmd.description) + "\n";
    for (const auto& p : cmd.positionals) {
        out += ".TP\n\\fI" + literal(p.name) + "\\fR\n" + sentence(p.description);
        if (!p.choices.empty()) {
            std::string list;
            for (const auto& c : p.choices) {
                list += list.empty() ? c : ", " + c;
            }
            out += " One of: " + roff_escape(list) + ".";
        }
        out += "\n";
    }
    for (const auto& opt : cmd.options) {
        if (!is_help(opt)) {
            out += ".TP\n" + option_heading(opt) + "\n" + option_text(opt) + "\n";
        }
    }
    for (const auto& sub : cmd.subcommands) {
        if (!sub.hidden) {
            render_command(out, prefix + " " + sub.name, sub);
        }
    }
}

} // namespace

std::string roff_escape(const std::string& text) {
    std::string out;
    bool line_start = true;
    for (const char c : text) {
        if (line_start && (c == '.' || c == '\'')) {
            out += "\\&";
        }
        if (c == '\\') {
            out += "\\e";
        } else {
            out += c;
        }
        line_start = c == '\n';
    }
    return out;
}

std::string render_man_page(const CommandSpec& root, const std::string& version) {
    std::string out;
    out += fmt::format(".TH ONCALL 1 \"\" \"oncall {}\" \"User Commands\"\n", roff_escape(version));
    out += ".SH NAME\noncall \\- the on\\-call engineer's toolkit for immutable infrastructure\n";
    out += ".SH SYNOPSIS\n\\fBoncall\\fR [\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR "
           "[\\fIARGUMENTS\\fR]\n";
    out += ".SH DESCRIPTION\n" + roff_escape(root.description) + "\n";
    out += ".PP\nProduction is never changed in place: every fix replaces an artifact (an image "
           "pinned by digest) through the deployment engine's API, and write access comes from "
           "short\\-lived, role\\-scoped grants that expire by themselves.\n";
    out += ".SH GLOBAL OPTIONS\nThese are accepted before or after any command.\n";
    for (const auto& opt : root.options) {
        out += ".TP\n" + option_heading(opt) + "\n" + option_text(opt) + "\n";
    }
    out += ".SH COMMANDS\n";
    for (const auto& sub : root.subcommands) {
        if (!sub.hidden) {
            render_command(out, root.name + " " + sub.name, sub);
        }
    }
    out += R"(.SH EXIT STATUS
.TP
.B 0
Success; for \fBtriage\fR: everything was checked and the service is healthy.
.TP
.B 1
A failure not covered below.
.TP
.B 2
Usage or configuration error: a bad flag, an unknown context, an unreadable configuration, a refused prompt.
.TP
.B 3
A backend was unreachable or answered garbage; \fBtriage\fR printed a partial report.
.TP
.B 4
Access denied: no active grant, an expired grant, or 401/403 from a backend.
.TP
.B 5
Conflict: the target changed under us, is paused, or is owned by another controller.
.TP
.B 6
Timed out waiting for a rollout or an approval.
.TP
.B 7
The rollout failed, or the post\-change verification found the service breaching its SLO.
.TP
.B 8
\fBtriage\fR found the service degraded.
.SH ENVIRONMENT
.TP
.B ONCALL_CONFIG
Configuration file, when \fB\-\-config\fR is not given.
.TP
.B ONCALL_CONTEXT
Context to use, when \fB\-\-context\fR is not given.
.TP
.B ONCALL_COMPLETION_TIMEOUT
How long tab completion waits for the cluster (a duration; default 900ms).
.TP
.B XDG_CONFIG_HOME
Base of the default configuration path.
.TP
.B XDG_STATE_HOME
Base of the state directory (grants, audit log, completion cache).
.TP
.B NO_COLOR
When set, output is never coloured.
.SH FILES
.TP
.I ~/.config/oncall/config.yaml
The configuration: contexts (where the backends are, how to authenticate), services and their SLOs.
.TP
.I ~/.local/state/oncall/audit.jsonl
One JSON line per mutating action or grant.
.TP
.I ~/.local/state/oncall/grants/
Tokens of active access grants (directory mode 0700, files 0600).
.SH COMPLETION
\fBoncall completion bash\fR|\fBzsh\fR|\fBfish\fR prints the completion script for a shell.
Packages install them where each shell finds them by itself.
.SH SEE ALSO
.BR kubectl (1)
)";
    return out;
}

} // namespace oncall::cli
