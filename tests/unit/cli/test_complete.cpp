#include "oncall/cli/complete.h"

#include <algorithm>
#include <catch2/catch.hpp>

using namespace oncall::cli;

namespace {

OptionSpec flag(std::vector<std::string> names, std::string description = "") {
    OptionSpec o;
    o.names = std::move(names);
    o.description = std::move(description);
    return o;
}

OptionSpec option(std::vector<std::string> names, ValueKind kind,
                  std::vector<std::string> choices = {}) {
    OptionSpec o;
    o.names = std::move(names);
    o.takes_value = true;
    o.kind = kind;
    o.choices = std::move(choices);
    o.value_name = "TEXT";
    return o;
}

PositionalSpec positional(std::string name, ValueKind kind, int max_count = 1) {
    PositionalSpec p;
    p.name = std::move(name);
    p.kind = kind;
    p.required = true;
    p.max_count = max_count;
    return p;
}

CommandSpec command(std::string name, std::string description = "") {
    CommandSpec c;
    c.name = std::move(name);
    c.description = std::move(description);
    c.inherits_options = true;
    return c;
}

// The shape of the real command line: global options, nested commands, a hidden one.
CommandSpec sample() {
    CommandSpec root = command("oncall");
    root.inherits_options = false;
    root.options = {flag({"-h", "--help"}, "Print this help message and exit"),
                    option({"--config"}, ValueKind::file),
                    option({"--context"}, ValueKind::context),
                    option({"-o", "--output"}, ValueKind::choices, {"text", "json"}),
                    flag({"--no-color"}),
                    flag({"-v", "--verbose"}),
                    flag({"-q", "--quiet"})};

    auto triage = command("triage", "What is wrong, since when");
    triage.positionals = {positional("SERVICE", ValueKind::service)};
    triage.positionals[0].required = false;
    triage.options = {flag({"-h", "--help"}), option({"--window"}, ValueKind::none)};

    auto rollback = command("rollback", "Roll back to an earlier revision");
    rollback.positionals = {positional("SERVICE", ValueKind::service)};
    rollback.options = {flag({"-h", "--help"}), option({"--to-revision"}, ValueKind::revision),
                        flag({"--dry-run"}), option({"--reason"}, ValueKind::none)};
    auto image = option({"--image"}, ValueKind::none);
    image.repeatable = true;
    rollback.options.push_back(image);

    auto config = command("config", "Show the configuration");
    config.requires_subcommand = true;
    auto use = command("use-context", "Make NAME the current context");
    use.positionals = {positional("NAME", ValueKind::context)};
    config.subcommands = {command("view", "Print the configuration"),
                          command("get-contexts", "List the contexts"), use};

    auto completion = command("completion", "Print a completion script");
    auto shell = positional("SHELL", ValueKind::choices);
    shell.choices = {"bash", "zsh", "fish"};
    completion.positionals = {shell};

    auto hidden = command("__complete");
    hidden.hidden = true;

    root.subcommands = {
        triage, rollback, config, completion, command("version", "Print the version"), hidden};
    return root;
}

std::vector<std::string> values(const Completion& c) {
    std::vector<std::string> out;
    for (const auto& x : c.candidates) {
        out.push_back(x.value);
    }
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

// A resolver answering from fixed lists, recording what it was asked.
struct Recorder {
    std::vector<ValueKind> asked;
    std::vector<std::string> services_for_revision;
    Resolver resolver() {
        return [this](ValueKind kind, const CompletionContext& ctx) {
            asked.push_back(kind);
            switch (kind) {
            case ValueKind::service:
                return std::vector<Candidate>{{"checkout", "configured"}, {"cart", "deployment"}};
            case ValueKind::revision:
                services_for_revision.push_back(ctx.service().value_or(""));
                return std::vector<Candidate>{{"3", "current"}, {"2", ""}, {"1", ""}};
            case ValueKind::context:
                return std::vector<Candidate>{{"sandbox", ""}, {"prod", ""}};
            default:
                return std::vector<Candidate>{};
            }
        };
    }
};

} // namespace

TEST_CASE("first word completes visible subcommands only", "[cli][complete]") {
    const auto root = sample();
    const auto v = values(complete(root, {""}));
    CHECK(v == std::vector<std::string>{"triage", "rollback", "config", "completion", "version"});
    CHECK(values(complete(root, {"tri"})) == std::vector<std::string>{"triage"});
    CHECK(values(complete(root, {"__"})).empty());
}

TEST_CASE("subcommand descriptions come with the candidates", "[cli][complete]") {
    const auto c = complete(sample(), {"conf"});
    REQUIRE(c.candidates.size() == 1);
    CHECK(c.candidates[0].description == "Show the configuration");
    CHECK(format_completion(c, true) == "config\tShow the configuration\n");
    CHECK(format_completion(c, false) == "config\n");
}

TEST_CASE("nested subcommands follow the path typed", "[cli][complete]") {
    const auto root = sample();
    CHECK(values(complete(root, {"config", ""})) ==
          std::vector<std::string>{"view", "get-contexts", "use-context"});
    CHECK(values(complete(root, {"config", "use-"})) == std::vector<std::string>{"use-context"});
}

TEST_CASE("options of the command and inherited global options", "[cli][complete]") {
    const auto root = sample();
    const auto v = values(complete(root, {"rollback", "--"}));
    CHECK(has(v, "--to-revision"));
    CHECK(has(v, "--dry-run"));
    CHECK(has(v, "--output"));
    CHECK(has(v, "--context"));
    CHECK_FALSE(has(v, "-o")); // "--" asks for long names only
    CHECK_FALSE(has(v, "--window"));
    const auto single = values(complete(root, {"-"}));
    CHECK(has(single, "-o"));
    CHECK(has(single, "--output"));
    CHECK_FALSE(has(single, "--to-revision"));
}

TEST_CASE("options already given are not offered again unless repeatable", "[cli][complete]") {
    const auto root = sample();
    const auto v =
        values(complete(root, {"rollback", "checkout", "--dry-run", "--image", "a", "--"}));
    CHECK_FALSE(has(v, "--dry-run"));
    CHECK(has(v, "--image"));
    const auto cluster = values(complete(root, {"-vq", "--"}));
    CHECK_FALSE(has(cluster, "--verbose"));
    CHECK_FALSE(has(cluster, "--quiet"));
    CHECK(has(cluster, "--output"));
}

TEST_CASE("fixed choices of an option value, separate, attached and with '='", "[cli][complete]") {
    const auto root = sample();
    CHECK(values(complete(root, {"-o", ""})) == std::vector<std::string>{"text", "json"});
    CHECK(values(complete(root, {"--output", "j"})) == std::vector<std::string>{"json"});
    CHECK(values(complete(root, {"--output=j"})) == std::vector<std::string>{"--output=json"});
    CHECK(values(complete(root, {"triage", "checkout", "-o", ""})) ==
          std::vector<std::string>{"text", "json"});
    // An option value that was consumed does not count as a positional.
    CHECK(values(complete(root, {"-o", "json", "tri"})) == std::vector<std::string>{"triage"});
    CHECK(values(complete(root, {"-ojson", "tri"})) == std::vector<std::string>{"triage"});
}

TEST_CASE("positional choices", "[cli][complete]") {
    CHECK(values(complete(sample(), {"completion", ""})) ==
          std::vector<std::string>{"bash", "zsh", "fish"});
    CHECK(values(complete(sample(), {"completion", "z"})) == std::vector<std::string>{"zsh"});
}

TEST_CASE("dynamic kinds go to the resolver", "[cli][complete]") {
    const auto root = sample();
    Recorder r;
    CHECK(values(complete(root, {"triage", "ch"}, r.resolver())) ==
          std::vector<std::string>{"checkout"});
    CHECK(values(complete(root, {"rollback", ""}, r.resolver())) ==
          std::vector<std::string>{"checkout", "cart"});
    CHECK(values(complete(root, {"--context", ""}, r.resolver())) ==
          std::vector<std::string>{"sandbox", "prod"});
    CHECK(values(complete(root, {"config", "use-context", "p"}, r.resolver())) ==
          std::vector<std::string>{"prod"});
    CHECK(r.asked == std::vector<ValueKind>{ValueKind::service, ValueKind::service,
                                            ValueKind::context, ValueKind::context});
}

TEST_CASE("revisions are asked for the service on the line", "[cli][complete]") {
    const auto root = sample();
    Recorder r;
    CHECK(values(complete(root, {"rollback", "checkout", "--to-revision", ""}, r.resolver())) ==
          std::vector<std::string>{"3", "2", "1"});
    CHECK(values(complete(root, {"rollback", "--to-revision", "2"}, r.resolver())) ==
          std::vector<std::string>{"2"});
    CHECK(values(complete(root,
                          {
                              "rollback",
                              "--to-revision=",
                          },
                          r.resolver())) ==
          std::vector<std::string>{"--to-revision=3", "--to-revision=2", "--to-revision=1"});
    CHECK(r.services_for_revision == std::vector<std::string>{"checkout", "", ""});
}

TEST_CASE("analyze reports the options and positionals typed", "[cli][complete]") {
    const auto ctx =
        analyze(sample(), {"--config", "/tmp/c.yaml", "--context=prod", "rollback", "cart", ""});
    CHECK(ctx.command_path == std::vector<std::string>{"rollback"});
    CHECK(ctx.option_value("--config") == "/tmp/c.yaml");
    CHECK(ctx.option_value("--context") == "prod");
    CHECK(ctx.service() == "cart");
    CHECK(ctx.kind == ValueKind::none); // SERVICE is filled; nothing more to offer but options
    CHECK_FALSE(ctx.candidates.empty());
}

TEST_CASE("file values ask the shell for paths", "[cli][complete]") {
    const auto c = complete(sample(), {"--config", "/etc/on"});
    CHECK(c.files);
    CHECK(c.candidates.empty());
    CHECK(format_completion(c, false) == ":files\n");
}

TEST_CASE("free values and words after -- offer nothing", "[cli][complete]") {
    const auto root = sample();
    Recorder r;
    CHECK(complete(root, {"triage", "--window", ""}, r.resolver()).candidates.empty());
    CHECK(
        complete(root, {"rollback", "checkout", "--reason", ""}, r.resolver()).candidates.empty());
    CHECK(complete(root, {"version", "--", "-"}, r.resolver()).candidates.empty());
    CHECK(r.asked.empty());
}

TEST_CASE("no words at all is the first word", "[cli][complete]") {
    CHECK(values(complete(sample(), {})).size() == 5);
}

TEST_CASE("candidates with line breaks are dropped, descriptions flattened", "[cli][complete]") {
    Resolver odd = [](ValueKind, const CompletionContext&) {
        return std::vector<Candidate>{{"bad\nname", ""},
                                      {"esc\x1b[2Jname", ""},
                                      {"ok", "two\nlines\tand tab"},
                                      {"ok", "dup"}};
    };
    const auto c = complete(sample(), {"triage", ""}, odd);
    REQUIRE(c.candidates.size() == 1);
    CHECK(c.candidates[0].value == "ok");
    CHECK(c.candidates[0].description == "two⏎lines and tab");
}

TEST_CASE("an escape sequence in a description never reaches the terminal",
          "[cli][complete][untrusted]") {
    // An OSC 2 (window title) ended by BEL, as a server-supplied description could carry it.
    Resolver hostile = [](ValueKind, const CompletionContext&) {
        return std::vector<Candidate>{{"checkout", "deployment\x1b]2;pwned\x07 in shop\x1b[2J"}};
    };
    const auto c = complete(sample(), {"triage", ""}, hostile);
    REQUIRE(c.candidates.size() == 1);
    const auto text = format_completion(c, true);
    CHECK(text == "checkout\tdeployment^[]2;pwned^G in shop^[[2J\n");
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
}
