// The bounded reader of local files and the private-folder maker.

#include "oncall/core/local_file.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace oncall;

namespace {

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// Sets the process umask for one scope.
struct Umask {
    explicit Umask(mode_t mask) : m_old(::umask(mask)) {}
    ~Umask() { ::umask(m_old); }
    mode_t m_old;
};

} // namespace

TEST_CASE("a regular file is read whole, with its mode", "[core][files]") {
    test::TempDir dir;
    const auto path = dir.write("config.yaml", "current-context: a\n", 0640);
    auto file = read_local_file(path, "configuration", k_max_config_bytes);
    REQUIRE(file);
    CHECK(file->text == "current-context: a\n");
    CHECK(file->mode == 0640);
    CHECK(file->uid == ::geteuid());
}

TEST_CASE("a FIFO, a device or a folder is refused at once", "[core][files]") {
    test::TempDir dir;
    const auto fifo = dir.path() + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto started = std::chrono::steady_clock::now();
    for (const std::string& path : {fifo, std::string("/dev/zero"), dir.path()}) {
        auto file = read_local_file(path, "token file", k_max_token_bytes);
        INFO(path);
        REQUIRE_FALSE(file);
        CHECK(file.error().code == Errc::config);
        CHECK_THAT(file.error().message,
                   Catch::Contains("token file " + path) && Catch::Contains("not a regular file"));
    }
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
}

TEST_CASE("a file over the cap is refused before it is read", "[core][files]") {
    test::TempDir dir;
    const auto path = dir.write("big", std::string(k_max_token_bytes + 1, 'x'));
    auto file = read_local_file(path, "token file", k_max_token_bytes);
    REQUIRE_FALSE(file);
    CHECK_THAT(file.error().message, Catch::Contains("larger than 64 KiB"));
    CHECK(read_local_file(path, "token file", k_max_token_bytes + 1));
}

TEST_CASE("no_follow refuses a symlink, by default it is followed", "[core][files]") {
    test::TempDir dir;
    const auto target = dir.write("target", "x");
    const auto link = dir.path() + "/link";
    REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
    CHECK(read_local_file(link, "cache", 100));
    auto refused = read_local_file(link, "cache", 100, true);
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().message, Catch::Contains("symbolic link"));
}

TEST_CASE("private folders are 0700 whatever the umask, existing ones are left alone",
          "[core][files]") {
    test::TempDir dir;
    {
        const Umask mask(0);
        REQUIRE(make_private_dirs(dir.path() + "/a/b/c"));
    }
    CHECK(mode_of(dir.path() + "/a") == 0700);
    CHECK(mode_of(dir.path() + "/a/b") == 0700);
    CHECK(mode_of(dir.path() + "/a/b/c") == 0700);

    // A state folder that is a symlink to a shared folder: the shared folder keeps its mode.
    const auto shared = dir.path() + "/shared";
    REQUIRE(::mkdir(shared.c_str(), 0755) == 0);
    ::chmod(shared.c_str(), 0755);
    const auto link = dir.path() + "/state";
    REQUIRE(::symlink(shared.c_str(), link.c_str()) == 0);
    REQUIRE(make_private_dirs(link));
    REQUIRE(make_private_dirs(link + "/oncall"));
    CHECK(mode_of(shared) == 0755);
    CHECK(mode_of(shared + "/oncall") == 0700);

    const auto file = dir.write("file", "x");
    CHECK_FALSE(make_private_dirs(file + "/sub"));
}
