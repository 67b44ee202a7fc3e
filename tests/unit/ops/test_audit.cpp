#include "oncall/ops/audit.h"

#include "process.h"

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <fstream>

using namespace oncall;

TEST_CASE("audit lines are appended as one JSON object per line", "[ops][audit]") {
    test::TempDir dir;
    const auto path = dir.path() + "/state/audit.jsonl";
    REQUIRE(ops::append_audit(path, {{"action", "rollback"}, {"service", "checkout"}}).ok());
    REQUIRE(ops::append_audit(path, {{"action", "grant"}, {"service", "checkout"}, {"time", "fixed"}}).ok());
    std::ifstream in(path);
    std::string line;
    std::vector<nlohmann::json> records;
    while (std::getline(in, line)) {
        records.push_back(nlohmann::json::parse(line));
    }
    REQUIRE(records.size() == 2);
    CHECK(records[0]["action"] == "rollback");
    CHECK(records[0].contains("time"));
    CHECK(records[1]["time"] == "fixed");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("the audit log refuses credentials and reports unwritable paths", "[ops][audit]") {
    test::TempDir dir;
    const auto r = ops::append_audit(dir.path() + "/a.jsonl", {{"grant", {{"token", "abc"}}}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::internal);
    const auto bad = ops::append_audit("/proc/oncall-no/audit.jsonl", {{"action", "x"}});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::io);
}

TEST_CASE("a full disk fails the audit append", "[ops][audit]") {
    // /dev/full accepts opens and fails every write with ENOSPC.
    const auto r = ops::append_audit("/dev/full", {{"action", "rollback"}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::io);
    CHECK_THAT(r.error().message, Catch::Contains("No space left"));
}

TEST_CASE("a symlinked state folder is not chmod'ed; a new one is 0700 under umask 000", "[ops][audit]") {
    test::TempDir dir;
    const auto shared = dir.path() + "/shared";
    REQUIRE(::mkdir(shared.c_str(), 0755) == 0);
    ::chmod(shared.c_str(), 0755);
    const auto link = dir.path() + "/state";
    REQUIRE(::symlink(shared.c_str(), link.c_str()) == 0);
    REQUIRE(ops::append_audit(link + "/audit.jsonl", {{"action", "rollback"}}).ok());
    struct stat st {};
    REQUIRE(::stat(shared.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0755);

    const mode_t old = ::umask(0);
    const auto made = ops::append_audit(dir.path() + "/fresh/oncall/audit.jsonl", {{"action", "rollback"}});
    ::umask(old);
    REQUIRE(made.ok());
    for (const char* sub : {"/fresh", "/fresh/oncall"}) {
        REQUIRE(::stat((dir.path() + sub).c_str(), &st) == 0);
        INFO(sub);
        CHECK((st.st_mode & 0777) == 0700);
    }
}
