#pragma once
// Completing command lines through the real shells: bash (the completion function called as
// programmable completion calls it), fish (`complete -C`) and zsh (an interactive shell driven
// through zpty), each with the scripts of completions/ and the oncall binary under test on PATH.

#include "process.h"

#include <map>
#include <string>
#include <vector>

namespace oncall::test {

/// A configuration, a state directory and a home for the shells, in a temporary directory.
class CompletionWorld {
public:
    /// `config_yaml` is written to config.yaml and used through $ONCALL_CONFIG.
    explicit CompletionWorld(const std::string& config_yaml);

    /// Environment for a shell or the binary: PATH with oncall first, the config, the state dir.
    ProcessOptions options() const;
    /// Adds a variable to that environment.
    void set_env(const std::string& name, const std::string& value) { m_env[name] = value; }
    const std::string& dir() const { return m_dir.path(); }
    const std::string& config_path() const { return m_config; }

    /// What bash offers for `line` (COMPREPLY), one element per candidate.
    std::vector<std::string> bash(const std::string& line) const;
    /// What fish offers for `line` (values only, descriptions dropped).
    std::vector<std::string> fish(const std::string& line) const;
    /// What zsh's completion system offers for `line`.
    std::vector<std::string> zsh(const std::string& line) const;
    /// `oncall __complete --no-descriptions -- words...` run directly.
    ProcessResult complete(const std::vector<std::string>& words) const;

private:
    std::vector<std::string> run_lines(const std::vector<std::string>& argv,
                                       const char* what) const;
    TempDir m_dir;
    std::string m_config;
    std::map<std::string, std::string> m_env;
};

/// The completions/ directory of the source tree.
std::string completions_dir();

/// A loopback port where nothing listens.
int closed_port();

/// A loopback port that accepts no connection and answers nothing while the object lives.
class Blackhole {
public:
    Blackhole();
    ~Blackhole();
    Blackhole(const Blackhole&) = delete;
    Blackhole& operator=(const Blackhole&) = delete;
    int port() const { return m_port; }

private:
    int m_fd = -1;
    int m_port = 0;
};

/// True when `items` contains `value`.
bool contains(const std::vector<std::string>& items, const std::string& value);

} // namespace oncall::test
