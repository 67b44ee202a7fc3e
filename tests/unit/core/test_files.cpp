// The one atomic write: mode from the start, symlinks to the target followed (the link stays),
// nothing left behind, failures leave the old file.

#include "oncall/core/files.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace oncall;

namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::size_t entries(const std::string& dir) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        (void)e;
        ++n;
    }
    return n;
}

} // namespace

TEST_CASE("atomic write: new and replaced files get exactly the mode asked", "[core][files]") {
    test::TempDir dir;
    const auto path = dir.path() + "/state.json";
    const mode_t old = ::umask(0);
    REQUIRE(write_file_atomic(path, "one\n", 0600).ok());
    ::umask(old);
    CHECK(read_all(path) == "one\n");
    CHECK(mode_of(path) == 0600);
    const mode_t strict = ::umask(077);
    REQUIRE(write_file_atomic(path, "two\n", 0640).ok());
    ::umask(strict);
    CHECK(read_all(path) == "two\n");
    CHECK(mode_of(path) == 0640);
    CHECK(entries(dir.path()) == 1); // no temporary file left
}

TEST_CASE("atomic write through a symlink replaces its target and keeps the link",
          "[core][files]") {
    test::TempDir dir;
    const auto target = dir.write("target.yaml", "old\n", 0600);
    const auto link = dir.path() + "/link.yaml";
    REQUIRE(::symlink("target.yaml", link.c_str()) == 0);
    REQUIRE(write_file_atomic(link, "new\n", 0600).ok());
    struct stat st {};
    REQUIRE(::lstat(link.c_str(), &st) == 0);
    CHECK(S_ISLNK(st.st_mode));
    CHECK(read_all(target) == "new\n");
    CHECK(entries(dir.path()) == 2);
}

TEST_CASE("atomic write fails cleanly and leaves the old file", "[core][files]") {
    test::TempDir dir;
    const auto r = write_file_atomic(dir.path() + "/missing/dir/file", "x", 0600);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::io);
    CHECK_THAT(r.error().message, Catch::Contains("missing/dir/file"));
    const auto loop = dir.path() + "/loop";
    REQUIRE(::symlink("loop", loop.c_str()) == 0);
    CHECK_FALSE(write_file_atomic(loop, "x", 0600).ok());
}

TEST_CASE("expand_home expands ~ and ~/ only", "[core][files]") {
    const char* saved = std::getenv("HOME");
    const std::string keep = saved != nullptr ? saved : "";
    ::setenv("HOME", "/home/responder", 1);
    CHECK(expand_home("~/x/y") == "/home/responder/x/y");
    CHECK(expand_home("~") == "/home/responder");
    CHECK(expand_home("~other/x") == "~other/x");
    CHECK(expand_home("/abs/~/x") == "/abs/~/x");
    CHECK(expand_home("rel") == "rel");
    ::unsetenv("HOME"); // falls back to the passwd entry
    CHECK(expand_home("~/x").size() > 3);
    CHECK(expand_home("~/x").front() == '/');
    if (saved != nullptr) {
        ::setenv("HOME", keep.c_str(), 1);
    }
}
