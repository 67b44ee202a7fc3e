#pragma once
// What every subcommand shares: the global flags, the lazily loaded configuration, output style,
// and the way a command fails (fail() throws CommandError, which main maps to an exit code).

#include "oncall/config/config.h"
#include "oncall/core/exit_code.h"
#include "oncall/core/result.h"
#include "oncall/render/output.h"
#include "oncall/render/style.h"
#include "oncall/views/view.h"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace oncall::app {

/// Global flags of DESIGN.md, bound by main.
struct GlobalOptions {
    std::string config_path;
    std::string context;
    std::string output = "text";
    bool no_color = false;
    int verbose = 0;
    bool quiet = false;
};

/// Thrown by fail(); caught once in main.
struct CommandError {
    Error error;
};

/// Ends the current command with `error` (printed by main as "oncall: error: ...").
[[noreturn]] void fail(Error error);

/// The value of a Result, or fail() with its error.
template <class T> T unwrap(Result<T> result) {
    if (!result) {
        fail(std::move(result).error());
    }
    return std::move(result).value();
}
/// The duration given to `flag` (90s, 15m, 1h30m), or fail() with a usage error naming the flag.
std::chrono::milliseconds parse_flag_duration(std::string_view flag, const std::string& text);

inline void unwrap(Result<void> result) {
    if (!result) {
        fail(std::move(result).error());
    }
}

class AppContext {
public:
    GlobalOptions options;

    /// Exit code the command asks for when it did not fail (triage's 3/8, for instance).
    ExitCode exit_code = ExitCode::success;

    render::Format format() const;
    bool json() const { return format() == render::Format::json; }
    /// Style of stdout (colour, width).
    const render::Style& style();
    /// What a text view needs: the style of stdout and the current time.
    views::TextOptions text_options() { return views::TextOptions{style(), now()}; }

    /// The configuration (loaded on first use; fail()s with exit 2 when it cannot be read).
    const config::Config& config();
    /// The selected context (flag > $ONCALL_CONTEXT > current-context).
    const config::Context& context();
    /// A service of the selected context with defaults applied; fail()s on an invalid name.
    config::Service service(const std::string& name);

    /// Writes a diagnostic to stderr when -v was given (callers pass redacted text only).
    void debug(std::string_view line) const;
    /// Writes a warning to stderr unless -q was given.
    void warn(std::string_view line) const;
    /// A logger for library clients: forwards to debug().
    std::function<void(std::string_view)> logger() const;

private:
    std::optional<config::Config> m_config;
    std::optional<config::Context> m_context;
    std::optional<render::Style> m_style;
};

} // namespace oncall::app
