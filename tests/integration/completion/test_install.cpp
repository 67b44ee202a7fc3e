// Installing: `cmake --install` into a temporary prefix, the Debian package built by CPack, and the
// manual page generated from the command line.
#include "shells.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace oncall::test;
namespace fs = std::filesystem;

namespace {

std::string build_dir() {
    return required_env("ONCALL_BUILD_DIR");
}

// Every file under `root`, as paths relative to it.
std::set<std::string> files_under(const std::string& root) {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (!e.is_directory()) {
            out.insert(fs::relative(e.path(), root).string());
        }
    }
    return out;
}

// The visible subcommands listed by `oncall [path...] --help`.
std::vector<std::string> subcommands_in_help(const std::vector<std::string>& path) {
    std::vector<std::string> args = path;
    args.push_back("--help");
    const auto r = run_oncall(args);
    REQUIRE(r.exit_code == 0);
    std::vector<std::string> out;
    const auto at = r.out.find("Subcommands:");
    if (at == std::string::npos) {
        return out;
    }
    std::istringstream in(r.out.substr(at));
    std::string line;
    std::getline(in, line);
    const std::regex entry(R"(^  ([a-z][a-z0-9-]*)\s)");
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_search(line, m, entry)) {
            out.push_back(m[1]);
        }
    }
    return out;
}

} // namespace

TEST_CASE("cmake --install puts the binary, completions and man page where shells look",
          "[install]") {
    TempDir dir;
    SECTION("a local prefix: zsh site-functions") {
        const std::string prefix = dir.path() + "/local";
        const auto r = run_process({"cmake", "--install", build_dir(), "--prefix", prefix});
        INFO(r.out << r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(files_under(prefix) == std::set<std::string>{
                                         "bin/oncall",
                                         "share/bash-completion/completions/oncall",
                                         "share/fish/vendor_completions.d/oncall.fish",
                                         "share/zsh/site-functions/_oncall",
                                         "share/man/man1/oncall.1.gz",
                                     });
        CHECK(read_text(prefix + "/share/bash-completion/completions/oncall") ==
              read_text(completions_dir() + "/oncall.bash"));
        CHECK(read_text(prefix + "/share/zsh/site-functions/_oncall") ==
              read_text(completions_dir() + "/_oncall"));
        CHECK(read_text(prefix + "/share/fish/vendor_completions.d/oncall.fish") ==
              read_text(completions_dir() + "/oncall.fish"));
        const auto version = run_process({prefix + "/bin/oncall", "--version"});
        CHECK(version.exit_code == 0);
        CHECK_THAT(version.out, Catch::StartsWith("oncall "));
        const auto man = run_process({"gzip", "-dc", prefix + "/share/man/man1/oncall.1.gz"});
        CHECK_THAT(man.out, Catch::StartsWith(".TH ONCALL 1"));
    }
    SECTION("a /usr prefix: Debian's zsh vendor-completions") {
        const std::string prefix = dir.path() + "/usr";
        const auto r = run_process({"cmake", "--install", build_dir(), "--prefix", prefix});
        REQUIRE(r.exit_code == 0);
        CHECK(fs::exists(prefix + "/share/zsh/vendor-completions/_oncall"));
        CHECK_FALSE(fs::exists(prefix + "/share/zsh/site-functions"));
    }
}

TEST_CASE("the .deb holds the same files and depends on the runtime libraries", "[install][deb]") {
    TempDir dir;
    const auto r = run_process(
        {"cpack", "-G", "DEB", "--config", build_dir() + "/CPackConfig.cmake", "-B", dir.path()},
        ProcessOptions{{}, {}, "", std::chrono::seconds(180), dir.path()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    std::string deb;
    for (const auto& e : fs::directory_iterator(dir.path())) {
        if (e.path().extension() == ".deb") {
            deb = e.path().string();
        }
    }
    REQUIRE_FALSE(deb.empty());

    const auto contents = run_process({"dpkg-deb", "-c", deb});
    REQUIRE(contents.exit_code == 0);
    std::set<std::string> files;
    std::istringstream in(contents.out);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] != 'd') {
            files.insert(line.substr(line.find("./")));
        }
    }
    CHECK(files == std::set<std::string>{
                       "./usr/bin/oncall",
                       "./usr/share/bash-completion/completions/oncall",
                       "./usr/share/fish/vendor_completions.d/oncall.fish",
                       "./usr/share/zsh/vendor-completions/_oncall",
                       "./usr/share/man/man1/oncall.1.gz",
                   });

    const auto depends = run_process({"dpkg-deb", "-f", deb, "Depends"});
    REQUIRE(depends.exit_code == 0);
    for (const char* package : {"libcurl4", "libfmt9", "libyaml-cpp0.7", "libstdc++6", "libc6"}) {
        CHECK_THAT(depends.out, Catch::Contains(package));
    }
    const auto name = run_process({"dpkg-deb", "-f", deb, "Package"});
    CHECK(name.out == "oncall\n");
    const auto description = run_process({"dpkg-deb", "-f", deb, "Description"});
    CHECK_THAT(description.out, Catch::StartsWith("On-call toolkit"));
    CHECK_THAT(description.out, !Catch::Contains("\n ;")); // no CMake list separators
}

TEST_CASE("the man page documents every command that --help lists", "[install][man]") {
    const auto page = read_text(build_dir() + "/apps/oncall/oncall.1");
    REQUIRE_THAT(page, Catch::StartsWith(".TH ONCALL 1"));
    std::vector<std::vector<std::string>> todo{{}};
    int seen = 0;
    while (!todo.empty()) {
        const auto path = todo.back();
        todo.pop_back();
        for (const auto& sub : subcommands_in_help(path)) {
            auto child = path;
            child.push_back(sub);
            std::string title = "oncall";
            for (const auto& w : child) {
                title += " " + w;
            }
            INFO(title);
            CHECK_THAT(page, Catch::Contains(".SS \"" + title + "\""));
            ++seen;
            todo.push_back(child);
        }
    }
    CHECK(seen >= 5);
    CHECK_THAT(page, Catch::Contains(".SH EXIT STATUS"));
    CHECK_THAT(page, !Catch::Contains("__complete"));
}

TEST_CASE("each shell finds the installed completion by itself", "[install][completion]") {
    TempDir dir;
    const std::string prefix = dir.path() + "/usr";
    REQUIRE(run_process({"cmake", "--install", build_dir(), "--prefix", prefix}).exit_code == 0);
    const CompletionWorld w("");
    auto options = w.options();
    options.env["XDG_DATA_DIRS"] = prefix + "/share";

    SECTION("bash, through bash-completion's on-demand loader") {
        const std::string loader = "/usr/share/bash-completion/bash_completion";
        REQUIRE(fs::exists(loader)); // the bash-completion package (scripts/deps)
        const auto r =
            run_process({"bash", "--norc", "--noprofile", "-c",
                         ". " + loader + "; _completion_loader oncall; complete -p oncall"},
                        options);
        CHECK_THAT(r.out, Catch::Contains("-F _oncall oncall"));
    }
    SECTION("fish, from vendor_completions.d of its data directories") {
        const auto r = run_process({"fish", "-c", "complete -C 'oncall -o '"}, options);
        CHECK(r.exit_code == 0);
        CHECK(r.out == "json\ntext\n");
    }
    SECTION("zsh, from the function directory on its fpath") {
        const auto out_dir = dir.path() + "/zsh";
        fs::create_directories(out_dir);
        const auto r = run_process(
            {"zsh", "-f",
             required_env("ONCALL_SOURCE_DIR") + "/tests/integration/completion/zsh_complete.zsh",
             prefix + "/share/zsh/vendor-completions", out_dir, "oncall -o "},
            options);
        CHECK(r.exit_code == 0);
        CHECK(r.out == "text\njson\n");
    }
}
