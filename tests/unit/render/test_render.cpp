#include "oncall/render/progress.h"
#include "oncall/render/sanitize.h"
#include "oncall/render/sparkline.h"
#include "oncall/render/style.h"
#include "oncall/render/table.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

using namespace oncall::render;

TEST_CASE("tables align columns and fit the width", "[render][table]") {
    Table t;
    t.column("NAME").column("COUNT", Align::right).column("NOTE", Align::left, true);
    t.row({"checkout", "3", "degraded since 02:14"}).row({"payments", "12", "ok"});
    const auto out = t.render(100);
    CHECK(out == "NAME      COUNT  NOTE\n"
                 "checkout      3  degraded since 02:14\n"
                 "payments     12  ok\n");
    const auto narrow = t.render(24);
    std::istringstream lines(narrow);
    std::string line;
    while (std::getline(lines, line)) {
        CHECK(display_width(line) <= 24);
    }
    CHECK_THAT(narrow, Catch::Contains("…"));
}

TEST_CASE("display width counts columns, not bytes", "[render][style]") {
    CHECK(display_width("abc") == 3);
    CHECK(display_width("▁▂▃") == 3);
    CHECK(display_width("\x1b[31mred\x1b[0m") == 3);
    CHECK(display_width("日本") == 4);
    CHECK(truncate_to_width("checkout-service", 8) == "checkou…");
    CHECK(truncate_to_width("short", 8) == "short");
}

TEST_CASE("colour is painted only when the style allows it", "[render][style]") {
    Style plain;
    plain.color = false;
    Style color;
    color.color = true;
    CHECK(paint("x", Color::red, plain) == "x");
    CHECK(paint("x", Color::red, color) == "\x1b[31mx\x1b[0m");
}

TEST_CASE("NO_COLOR and --no-color turn colour off", "[render][style]") {
    StyleInputs terminal;
    terminal.tty = true;
    terminal.terminal_width = 132;
    terminal.term = "xterm-256color";
    CHECK(detect_style(false, terminal).color);
    CHECK(detect_style(false, terminal).width == 132);
    CHECK_FALSE(detect_style(true, terminal).color); // --no-color
    auto no_color = terminal;
    no_color.no_color = "1";
    CHECK_FALSE(detect_style(false, no_color).color);
    no_color.no_color = ""; // an empty NO_COLOR does not count
    CHECK(detect_style(false, no_color).color);
    auto dumb = terminal;
    dumb.term = "dumb";
    CHECK_FALSE(detect_style(false, dumb).color);
    StyleInputs piped; // not a terminal: no colour, width from COLUMNS
    piped.columns = "300";
    CHECK_FALSE(detect_style(false, piped).color);
    CHECK(detect_style(false, piped).width == 300);
    piped.columns = "5";
    CHECK(detect_style(false, piped).width == 100);
}

TEST_CASE("sanitize shows control characters instead of obeying them", "[render][sanitize]") {
    CHECK(sanitize("plain text, ünïcödé, 日本") == "plain text, ünïcödé, 日本");
    CHECK(sanitize("a\nb\r\nc\rd") == "a⏎b⏎c⏎d");
    CHECK(sanitize("\x1b]0;title\x07") == "^[]0;title^G");
    CHECK(sanitize("\x1b[2J\x1b[H") == "^[[2J^[[H");
    CHECK(sanitize("tab\there") == "tab here");
    CHECK(sanitize(std::string("nul\0x", 5)) == "nul^@x");
    CHECK(sanitize("del\x7f") == "del^?");
    CHECK(sanitize("c1 \xc2\x9b"
                   "31m") == "c1 \\u009B31m");
    CHECK(sanitize("raw \x9b"
                   "31m") == "raw \\x9B31m");
    CHECK(sanitize("bidi \xe2\x80\xae"
                   "abc") == "bidi \\u202Eabc");
    CHECK(sanitize("cut \xe6\x97") == "cut \\xE6\\x97");
    CHECK(sanitize(oncall::Untrusted("x\x1b[31my")) == "x^[[31my");
    // Colour that a view painted survives; anything else does not.
    CHECK(sanitize_keeping_color("\x1b[31mred\x1b[0m") == "\x1b[31mred\x1b[0m");
    CHECK(sanitize_keeping_color("\x1b]0;t\x07\x1b[2J") == "^[]0;t^G^[[2J");
    // Only paint()'s own codes: concealment, blinking and 256 colours are escaped.
    CHECK(sanitize_keeping_color("\x1b[8mhidden\x1b[0m") == "^[[8mhidden\x1b[0m");
    CHECK(sanitize_keeping_color("\x1b[5;31mx") == "^[[5;31mx");
    CHECK(sanitize_keeping_color("\x1b[231m") == "^[[231m");
    CHECK(sanitize_keeping_color(paint("ok", Color::gray, Style{true, true, 80})) ==
          paint("ok", Color::gray, Style{true, true, 80}));
}

TEST_CASE("table cells are one line, measured in terminal columns", "[render][table][sanitize]") {
    Table t;
    t.column("REV", Align::right).column("CAUSE", Align::left, true);
    t.row({"3", "deploy\n\x1b]0;pwned\x07now"}).row({"2", "日本語の説明"});
    for (const int width : {0, 1, 10, 40, 300}) {
        const auto lines = t.render_lines(width);
        REQUIRE(lines.size() == 3);
        for (const auto& l : lines) {
            CHECK(display_width(l) <= width);
            CHECK(l.find('\x1b') == std::string::npos);
        }
    }
    CHECK(t.render(300) == "REV  CAUSE\n"
                           "  3  deploy⏎^[]0;pwned^Gnow\n"
                           "  2  日本語の説明\n");
}

TEST_CASE("only a cell the view painted keeps its colour", "[render][table][sanitize]") {
    const Style color{.color = true, .tty = true, .width = 80};
    Table t;
    t.column("ID").column("STATE").column("COMMENT");
    // A server's text that tries to colour or conceal itself (ESC [8m) is shown escaped.
    t.row({"\x1b[8mhidden", Painted{paint("active", Color::green, color)}, "\x1b[31mred"});
    const auto lines = t.render_lines(80);
    REQUIRE(lines.size() == 2);
    CHECK(lines[1].find("^[[8mhidden") == 0);
    CHECK(lines[1].find("^[[31mred") != std::string::npos);
    CHECK(lines[1].find(paint("active", Color::green, color)) != std::string::npos);
    CHECK(display_width(lines[1]) == display_width("^[[8mhidden  active  ^[[31mred"));
}

TEST_CASE("sparklines scale between min and max", "[render][sparkline]") {
    std::vector<std::optional<double>> v{0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0};
    CHECK(sparkline(v, 8) == "▁▁▁▁████");
    CHECK(sparkline(v, 4) == "▁▁██");
    std::vector<std::optional<double>> gaps{1.0, std::nullopt, NAN, 2.0};
    CHECK(sparkline(gaps, 4) == "▁  █");
    std::vector<std::optional<double>> flat{5.0, 5.0};
    CHECK(sparkline(flat, 2) == "▁▁");
    CHECK(display_width(sparkline(v, 30)) == 30);
}

TEST_CASE("progress prints timestamped lines off a terminal, once per change",
          "[render][progress]") {
    std::ostringstream out;
    {
        Progress p(out, false);
        p.update("1/3 updated");
        p.update("1/3 updated");
        p.update("2/3 updated");
        p.finish("done");
    }
    const auto text = out.str();
    CHECK(std::count(text.begin(), text.end(), '\n') == 3);
    CHECK(text.find('\r') == std::string::npos);
    std::ostringstream live;
    {
        Progress p(live, true);
        p.update("1/3");
        p.update("2/3");
    }
    CHECK(live.str().find('\r') != std::string::npos);
}
