// Completion as a person meets it: an interactive bash in a terminal (tmux on a private socket),
// keys typed one after another, the screen read back.
#include "shells.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace oncall::test;

namespace {

// A detached tmux server of its own running one interactive bash; killed on destruction.
class Terminal {
public:
    explicit Terminal(const CompletionWorld& world,
                      const std::string& shell = "bash --norc --noprofile")
        : m_options(world.options()) {
        static int counter = 0;
        m_socket = fmt::format("oncall-completion-{}-{}", ::getpid(), ++counter);
        m_options.unset_env.push_back("TMUX");
        m_options.timeout = std::chrono::seconds(20);
        const auto r = tmux({"new-session", "-d", "-s", "t", "-x", "150", "-y", "30", shell});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    }
    ~Terminal() { tmux({"kill-server"}); }
    Terminal(const Terminal&) = delete;
    Terminal& operator=(const Terminal&) = delete;

    /// Types keys: literal text or tmux key names (Tab, Enter, C-u).
    void keys(const std::vector<std::string>& keys) {
        std::vector<std::string> args{"send-keys", "-t", "t"};
        args.insert(args.end(), keys.begin(), keys.end());
        REQUIRE(tmux(args).exit_code == 0);
    }
    /// Types text literally (no key-name lookup).
    void type(const std::string& text) {
        REQUIRE(tmux({"send-keys", "-t", "t", "-l", text}).exit_code == 0);
    }

    std::string screen() { return tmux({"capture-pane", "-p", "-t", "t"}).out; }

    /// The screen once it shows `text` (or, after a bounded number of looks, as it is).
    std::string wait_for(const std::string& text) {
        std::string s;
        for (int i = 0; i < 200; ++i) {
            s = screen();
            if (s.find(text) != std::string::npos) {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return s;
    }

private:
    ProcessResult tmux(std::vector<std::string> args) {
        args.insert(args.begin(), {"tmux", "-L", m_socket, "-f", "/dev/null"});
        return run_process(args, m_options);
    }
    ProcessOptions m_options;
    std::string m_socket;
};

std::string config_for(int port) {
    return fmt::format(R"(current-context: local
contexts:
  local:
    kubernetes: {{ server: "http://127.0.0.1:{}", namespace: shop }}
  prod:
    kubernetes: {{ server: "http://127.0.0.1:1", namespace: web }}
services:
  checkout: {{}}
)",
                       port);
}

void prepare(Terminal& term) {
    term.type(fmt::format("source '{}/oncall.bash'; PS1='ready$ '; clear", completions_dir()));
    term.keys({"Enter"});
    REQUIRE_THAT(term.wait_for("ready$"), Catch::Contains("ready$"));
}

} // namespace

// The screen drops trailing blanks, so each case types on after a TAB: a completion that forgot
// its space, or added two, shows.
TEST_CASE("tmux: typing 'oncall config use-<TAB> p<TAB>' gives 'oncall config use-context prod'",
          "[completion][tmux]") {
    const CompletionWorld w(config_for(closed_port()));
    Terminal term(w);
    prepare(term);
    term.type("oncall config use-");
    term.keys({"Tab"});
    CHECK_THAT(term.wait_for("use-context"), Catch::Contains("ready$ oncall config use-context"));
    term.type("p");
    term.keys({"Tab"});
    term.type("#");
    CHECK_THAT(term.wait_for("prod #"), Catch::Contains("ready$ oncall config use-context prod #"));
}

TEST_CASE("tmux: two TABs list the contexts, then a letter and TAB picks one",
          "[completion][tmux]") {
    const CompletionWorld w(config_for(closed_port()));
    Terminal term(w);
    prepare(term);
    term.type("oncall --context ");
    term.keys({"Tab", "Tab"});
    auto s = term.wait_for("prod");
    CHECK_THAT(s, Catch::Contains("local"));
    CHECK_THAT(s, Catch::Contains("prod"));
    term.type("p");
    term.keys({"Tab"});
    term.type("#");
    s = term.wait_for("--context prod #");
    CHECK_THAT(s, Catch::Contains("oncall --context prod #"));
}

TEST_CASE("tmux: '--output=j<TAB>' keeps the flag and completes the value", "[completion][tmux]") {
    const CompletionWorld w(config_for(closed_port()));
    Terminal term(w);
    prepare(term);
    term.type("oncall --output=j");
    term.keys({"Tab"});
    term.type("#");
    CHECK_THAT(term.wait_for("json #"), Catch::Contains("ready$ oncall --output=json #"));
}

namespace {

// The practice cluster's own configuration.
std::string sandbox_config() {
    std::ifstream in(sandbox_env().at("ONCALL_CONFIG"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

TEST_CASE("tmux: typing 'oncall tri<TAB> che<TAB>' gives 'oncall triage checkout'",
          "[completion][tmux][sandbox]") {
    CompletionWorld w(sandbox_config());
    w.set_env("ONCALL_COMPLETION_TIMEOUT", "15s"); // see test_sandbox.cpp
    Terminal term(w);
    prepare(term);
    term.type("oncall tri");
    term.keys({"Tab"});
    term.type("che");
    term.keys({"Tab"});
    term.type("#");
    CHECK_THAT(term.wait_for("checkout #"), Catch::Contains("ready$ oncall triage checkout #"));
}

TEST_CASE("tmux: typing 'oncall sta<TAB> che<TAB>' gives 'oncall status checkout'",
          "[completion][tmux][sandbox]") {
    CompletionWorld w(sandbox_config());
    w.set_env("ONCALL_COMPLETION_TIMEOUT", "15s");
    Terminal term(w);
    prepare(term);
    term.type("oncall sta");
    term.keys({"Tab"});
    term.type("che");
    term.keys({"Tab"});
    term.type("#");
    CHECK_THAT(term.wait_for("checkout #"), Catch::Contains("ready$ oncall status checkout #"));
}

TEST_CASE("tmux: 'oncall rollback checkout --to-revision <TAB><TAB>' lists the revisions",
          "[completion][tmux][sandbox]") {
    CompletionWorld w(sandbox_config());
    w.set_env("ONCALL_COMPLETION_TIMEOUT", "15s");
    Terminal term(w);
    prepare(term);
    term.type("oncall rollback checkout --to-revision ");
    term.keys({"Tab", "Tab"});
    const auto s = term.wait_for("3");
    // bash lists the candidates under the line, then shows the line again.
    CHECK_THAT(s, Catch::Matches("(.|\\n)*\\n1 +2 +3 *\\n(.|\\n)*"));
    term.type("2");
    term.keys({"Tab"});
    term.type("#");
    CHECK_THAT(term.wait_for("revision 2 #"),
               Catch::Contains("oncall rollback checkout --to-revision 2 #"));
}

namespace {

// One interactive shell of each kind with oncall's completion loaded and the prompt "ready$ ".
struct ShellSetup {
    std::string name;
    std::string command;
    std::string init;
};

std::vector<ShellSetup> interactive_shells() {
    const std::string dir = completions_dir();
    return {
        {"bash", "bash --norc --noprofile",
         fmt::format("source '{}/oncall.bash'; PS1='ready$ '; clear", dir)},
        {"zsh", "zsh -f",
         fmt::format(
             "autoload -U compinit && compinit -u -D; source '{}/_oncall'; PS1='ready$ '; clear",
             dir)},
        {"fish", "fish --no-config",
         fmt::format("source '{}/oncall.fish'; function fish_prompt; echo -n 'ready$ '; end; clear",
                     dir)},
    };
}

bool exists(const std::string& path) {
    return ::access(path.c_str(), F_OK) == 0;
}

} // namespace

// A context named like a command substitution must reach oncall as text: completion inserts it
// quoted, and pressing Enter runs nothing else.
TEST_CASE("tmux: a hostile context name is inserted quoted in bash, zsh and fish",
          "[completion][tmux][security]") {
    for (const auto& shell : interactive_shells()) {
        DYNAMIC_SECTION(shell.name) {
            TempDir marks;
            const std::string hostile =
                fmt::format("$(touch {0}/p1)`touch {0}/p2`;touch {0}/p3", marks.path());
            const CompletionWorld w(fmt::format(R"(contexts:
  "{}":
    kubernetes: {{ server: "http://127.0.0.1:{}", namespace: shop }}
)",
                                                hostile, closed_port()));
            Terminal term(w, shell.command);
            term.type(shell.init);
            term.keys({"Enter"});
            REQUIRE_THAT(term.wait_for("ready$"), Catch::Contains("ready$"));
            term.type("oncall config use-context ");
            term.keys({"Tab"});
            const auto inserted = term.wait_for("touch");
            INFO(shell.name << " screen:\n" << inserted);
            CHECK_THAT(inserted, Catch::Contains("use-context \\$\\(touch"));
            term.keys({"Enter"});
            const auto after = term.wait_for("Switched to context");
            INFO(after);
            CHECK_THAT(after, Catch::Contains("Switched to context \"" + hostile + "\""));
            for (const char* mark : {"/p1", "/p2", "/p3"}) {
                CHECK_FALSE(exists(marks.path() + mark));
            }
        }
    }
}
