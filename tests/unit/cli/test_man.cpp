#include "oncall/cli/man.h"

#include <catch2/catch.hpp>

using namespace oncall::cli;

TEST_CASE("roff escaping", "[cli][man]") {
    CHECK(roff_escape("a\\b") == "a\\eb");
    CHECK(roff_escape(".SH x\n'quote\nplain.") == "\\&.SH x\n\\&'quote\nplain.");
}

TEST_CASE("man page lists visible commands with their options and leaves hidden ones out",
          "[cli][man]") {
    CommandSpec root;
    root.name = "oncall";
    root.description = "oncall: what is broken.";
    OptionSpec output;
    output.names = {"-o", "--output"};
    output.takes_value = true;
    output.value_name = "TEXT";
    output.description = "Output format";
    output.kind = ValueKind::choices;
    output.choices = {"text", "json"};
    root.options = {output};

    CommandSpec config;
    config.name = "config";
    config.description = "Show the configuration";
    CommandSpec use;
    use.name = "use-context";
    use.description = "Make NAME the current context";
    PositionalSpec name;
    name.name = "NAME";
    name.required = true;
    name.description = "Context name";
    use.positionals = {name};
    config.subcommands = {use};
    CommandSpec hidden;
    hidden.name = "__complete";
    hidden.hidden = true;
    root.subcommands = {config, hidden};

    const auto page = render_man_page(root, "1.2.3");
    CHECK(page.rfind(".TH ONCALL 1 \"\" \"oncall 1.2.3\"", 0) == 0);
    CHECK(page.find("\\fB\\-o\\fR, \\fB\\-\\-output\\fR \\fITEXT\\fR") != std::string::npos);
    CHECK(page.find("One of: text, json.") != std::string::npos);
    CHECK(page.find(".SS \"oncall config use-context\"") != std::string::npos);
    CHECK(page.find("\\fBoncall config use\\-context\\fR \\fINAME\\fR") != std::string::npos);
    CHECK(page.find("__complete") == std::string::npos);
    CHECK(page.find(".SH EXIT STATUS") != std::string::npos);
}
