#include "oncall/render/progress.h"
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
    // Under ctest stdout is not a terminal, so colour is off whatever the flags say.
    CHECK_FALSE(detect_style(false).color);
    CHECK_FALSE(detect_style(true).color);
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

TEST_CASE("progress prints timestamped lines off a terminal, once per change", "[render][progress]") {
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
