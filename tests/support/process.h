#pragma once
// Running programs from tests: the built oncall binary, kubectl, shells. Output is captured,
// the environment can be extended, and a deadline kills a hung child.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oncall::test {

struct ProcessResult {
    int exit_code = -1; // exit status, or 128+signal
    std::string out;    // stdout
    std::string err;    // stderr
    bool timed_out = false;
};

struct ProcessOptions {
    std::map<std::string, std::string> env; // added to (or overriding) the inherited environment
    std::vector<std::string> unset_env;     // removed from the inherited environment
    std::string stdin_data;
    std::chrono::milliseconds timeout{std::chrono::seconds(120)};
    std::string cwd;
};

/// Runs argv[0] (searched in PATH) with the arguments and waits for it.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

/// Runs the oncall binary under test ($ONCALL_BIN) with `args`.
ProcessResult run_oncall(const std::vector<std::string>& args, const ProcessOptions& options = {});

/// Value of an environment variable the test harness must provide; throws when missing.
std::string required_env(const char* name);

/// The whole file, as bytes ("" when it cannot be read).
std::string read_text(const std::string& path);

/// `text` without its trailing newlines, carriage returns and spaces.
std::string trimmed(std::string text);

/// KEY=VALUE pairs of the sandbox state's env file ($ONCALL_SANDBOX_STATE/env).
std::map<std::string, std::string> sandbox_env();

/// A fresh directory under /tmp, removed with its contents on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return m_path; }
    /// Writes `content` to path()/name with the given mode; returns the full path.
    std::string write(const std::string& name, const std::string& content,
                      unsigned mode = 0600) const;

private:
    std::string m_path;
};

/// Sets (or, with nullopt, unsets) an environment variable of this process for one scope and puts
/// the old value back afterwards. Not thread-safe: only for single-threaded test sections.
class ScopedEnv {
public:
    ScopedEnv(std::string name, std::optional<std::string> value);
    ~ScopedEnv();
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string m_name;
    std::optional<std::string> m_old;
};

} // namespace oncall::test
