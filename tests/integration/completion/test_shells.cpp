// Tab completion through bash, fish and zsh, with the scripts of completions/ and the binary under
// test: commands, options, fixed values, values from the configuration, and a cluster that is down.
#include "shells.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

using namespace oncall::test;

namespace {

// Two contexts; the current one points at `server`. Services: one in the context's namespace,
// one in another namespace.
std::string config_for(const std::string& server) {
    return fmt::format(R"(current-context: local
contexts:
  local:
    kubernetes: {{ server: "{}", namespace: shop }}
    access:
      roles:
        deployer: {{ service-account: oncall-deployer, max: 1h }}
        triage:   {{ service-account: oncall-triage, max: 8h }}
  prod:
    kubernetes: {{ server: "http://127.0.0.1:1", namespace: web }}
services:
  checkout: {{}}
  payments: {{ namespace: money }}
)",
                       server);
}

// Shells sort candidates in their own ways; compare them as sets.
std::vector<std::string> sorted(std::vector<std::string> items) {
    std::sort(items.begin(), items.end());
    return items;
}

using Complete = std::vector<std::string> (CompletionWorld::*)(const std::string&) const;

void check_static_candidates(const CompletionWorld& w, Complete shell) {
    const auto commands = (w.*shell)("oncall ");
    CHECK(contains(commands, "config"));
    CHECK(contains(commands, "completion"));
    CHECK(contains(commands, "version"));
    CHECK(contains(commands, "request-access"));
    CHECK_FALSE(contains(commands, "__complete"));
    CHECK_FALSE(contains(commands, "__man"));

    CHECK(sorted((w.*shell)("oncall config use-")) == sorted({"use-context"}));
    CHECK(sorted((w.*shell)("oncall -o ")) == sorted({"text", "json"}));
    CHECK(sorted((w.*shell)("oncall completion z")) == sorted({"zsh"}));

    const auto flags = (w.*shell)("oncall --");
    CHECK(contains(flags, "--output"));
    CHECK(contains(flags, "--context"));
    CHECK(contains(flags, "--no-color"));
    const auto sub_flags = (w.*shell)("oncall request-access checkout --r");
    CHECK(contains(sub_flags, "--role"));
    CHECK(contains(sub_flags, "--reason"));
}

void check_configured_candidates(const CompletionWorld& w, Complete shell) {
    CHECK(sorted((w.*shell)("oncall --context ")) == sorted({"local", "prod"}));
    CHECK(sorted((w.*shell)("oncall config use-context p")) == sorted({"prod"}));
    CHECK(sorted((w.*shell)("oncall request-access checkout --role ")) ==
          sorted({"deployer", "triage"}));
    // The API of the current context is down: services come from the configuration alone.
    CHECK(sorted((w.*shell)("oncall request-access ")) == sorted({"checkout", "payments"}));
    CHECK(sorted((w.*shell)("oncall request-access pay")) == sorted({"payments"}));
}

} // namespace

TEST_CASE("bash completes commands, options and fixed values", "[completion][bash]") {
    const CompletionWorld w(config_for(fmt::format("http://127.0.0.1:{}", closed_port())));
    check_static_candidates(w, &CompletionWorld::bash);
    // bash splits words at '='; the script puts them back together and answers for that part.
    CHECK(w.bash("oncall --output=j") == std::vector<std::string>{"json"});
    CHECK(w.bash("oncall --output=") == std::vector<std::string>{"text", "json"});
}

TEST_CASE("bash completes contexts, roles and configured services", "[completion][bash]") {
    const CompletionWorld w(config_for(fmt::format("http://127.0.0.1:{}", closed_port())));
    check_configured_candidates(w, &CompletionWorld::bash);
}

TEST_CASE("fish completes commands, options, fixed values and configured names",
          "[completion][fish]") {
    const CompletionWorld w(config_for(fmt::format("http://127.0.0.1:{}", closed_port())));
    check_static_candidates(w, &CompletionWorld::fish);
    check_configured_candidates(w, &CompletionWorld::fish);
    CHECK(w.fish("oncall --output=j") == std::vector<std::string>{"--output=json"});
}

TEST_CASE("fish shows what each candidate is", "[completion][fish]") {
    const CompletionWorld w(config_for(fmt::format("http://127.0.0.1:{}", closed_port())));
    const auto r = run_process(
        {"fish", "--no-config", "-c",
         "source " + completions_dir() + "/oncall.fish; complete -C 'oncall --context '"},
        w.options());
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("local\tcurrent: http://127.0.0.1:"));
    CHECK_THAT(r.out, Catch::Contains("prod\thttp://127.0.0.1:1, namespace web"));
}

TEST_CASE("zsh completes commands, options, fixed values and configured names",
          "[completion][zsh]") {
    const CompletionWorld w(config_for(fmt::format("http://127.0.0.1:{}", closed_port())));
    check_static_candidates(w, &CompletionWorld::zsh);
    check_configured_candidates(w, &CompletionWorld::zsh);
    CHECK(w.zsh("oncall --output=j") == std::vector<std::string>{"--output=json"});
}

TEST_CASE("a file option falls back to the shell's file names", "[completion]") {
    const CompletionWorld w(config_for(fmt::format("http://127.0.0.1:{}", closed_port())));
    const std::string prefix = w.dir() + "/conf";
    CHECK(w.bash("oncall --config " + prefix) == std::vector<std::string>{w.config_path()});
    CHECK(w.fish("oncall --config " + prefix) == std::vector<std::string>{w.config_path()});
}

TEST_CASE("an unreachable Kubernetes API still gives the configured services",
          "[completion][timeout]") {
    SECTION("closed port") {
        const CompletionWorld w(config_for(fmt::format("http://127.0.0.1:{}", closed_port())));
        const auto r = w.complete({"request-access", ""});
        REQUIRE_FALSE(r.timed_out);
        CHECK(r.exit_code == 0);
        CHECK(r.out == "checkout\npayments\n");
        CHECK(r.err.empty());
    }
    SECTION("a port that accepts nothing and answers nothing") {
        const Blackhole hole;
        const CompletionWorld w(config_for(fmt::format("http://127.0.0.1:{}", hole.port())));
        auto options = w.options();
        options.timeout = std::chrono::seconds(10);
        const auto r =
            run_oncall({"__complete", "--no-descriptions", "--", "request-access", ""}, options);
        REQUIRE_FALSE(r.timed_out); // the runner's deadline kills a hung completion
        CHECK(r.exit_code == 0);
        CHECK(r.out == "checkout\npayments\n");
        // The failure is remembered for a few seconds: the next TAB does not ask again.
        const auto cache = read_text(w.dir() + "/state/oncall/completion-cache.json");
        CHECK_THAT(cache, Catch::Contains(fmt::format("127.0.0.1:{}", hole.port())));
        CHECK_THAT(cache, Catch::Contains("\"ok\":false"));
        const auto again =
            run_oncall({"__complete", "--no-descriptions", "--", "request-access", "c"}, options);
        REQUIRE_FALSE(again.timed_out);
        CHECK(again.out == "checkout\n");
    }
}

TEST_CASE("the context and configuration typed on the line choose what is looked up",
          "[completion]") {
    const CompletionWorld w(config_for(fmt::format("http://127.0.0.1:{}", closed_port())));
    CHECK(w.complete({"request-access", "x", "--role", ""}).out == "deployer\ntriage\n");
    CHECK(w.complete({"--context", "prod", "request-access", "x", "--role", ""})
              .out.empty()); // prod has no roles
    CHECK(w.complete({"--context=prod", "request-access", "x", "--role", ""}).out.empty());

    const std::string other = w.dir() + "/other.yaml";
    {
        std::ofstream out(other);
        out << "current-context: elsewhere\ncontexts:\n  elsewhere:\n    kubernetes: { server: "
               "\"http://127.0.0.1:1\" }\n"
               "services:\n  billing: {}\n";
    }
    CHECK(w.complete({"--config", other, "--context", ""}).out == "elsewhere\n");
    CHECK(w.complete({"--config", other, "request-access", ""}).out == "billing\n");
    CHECK(w.bash("oncall --config " + other + " request-access ") ==
          std::vector<std::string>{"billing"});
}

TEST_CASE("completion without any configuration still completes the command line", "[completion]") {
    const CompletionWorld w("");
    auto options = w.options();
    options.env["ONCALL_CONFIG"] = w.dir() + "/missing.yaml";
    const auto r =
        run_oncall({"__complete", "--no-descriptions", "--", "request-access", ""}, options);
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
    const auto cmds = run_oncall({"__complete", "--no-descriptions", "--", "conf"}, options);
    CHECK(cmds.out == "config\n");
}

TEST_CASE("oncall completion prints the scripts of completions/ byte for byte", "[completion]") {
    for (const auto& [shell, file] : std::vector<std::pair<std::string, std::string>>{
             {"bash", "oncall.bash"}, {"zsh", "_oncall"}, {"fish", "oncall.fish"}}) {
        INFO(shell);
        const auto r = run_oncall({"completion", shell});
        CHECK(r.exit_code == 0);
        CHECK(r.out == read_text(completions_dir() + "/" + file));
    }
    const auto bad = run_oncall({"completion", "tcsh"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.out.empty());
}

TEST_CASE("the hidden entry points stay out of --help", "[completion]") {
    const auto r = run_oncall({"--help"});
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("completion"));
    CHECK_THAT(r.out, !Catch::Contains("__complete"));
    CHECK_THAT(r.out, !Catch::Contains("__man"));
}
