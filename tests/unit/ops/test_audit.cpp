#include "oncall/ops/audit.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace oncall;

TEST_CASE("audit lines are appended as one JSON object per line", "[ops][audit]") {
    test::TempDir dir;
    const auto path = dir.path() + "/state/audit.jsonl";
    REQUIRE(ops::append_audit(path, {{"action", "rollback"}, {"service", "checkout"}}).ok());
    REQUIRE(
        ops::append_audit(path, {{"action", "grant"}, {"service", "checkout"}, {"time", "fixed"}})
            .ok());
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

TEST_CASE("the audit log is a regular file: /dev/full, symlinks and FIFOs are refused at once",
          "[ops][audit]") {
    // /dev/full is a character device: refused before any write.
    const auto dev = ops::append_audit("/dev/full", {{"action", "rollback"}});
    REQUIRE_FALSE(dev.ok());
    CHECK(dev.error().code == Errc::io);
    CHECK_THAT(dev.error().message, Catch::Contains("not a regular file"));

    test::TempDir dir;
    // A symlink at the log's name is not followed, and its target stays as it was.
    const auto target = dir.path() + "/elsewhere.jsonl";
    { std::ofstream(target) << "before\n"; }
    const auto link = dir.path() + "/audit.jsonl";
    REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
    const auto followed = ops::append_audit(link, {{"action", "rollback"}});
    REQUIRE_FALSE(followed.ok());
    CHECK_THAT(followed.error().message, Catch::Contains("symbolic link"));
    std::ifstream in(target);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(content == "before\n");

    // A FIFO with no reader: refused without blocking (the test would hang otherwise).
    const auto fifo = dir.path() + "/fifo.jsonl";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto piped = ops::append_audit(fifo, {{"action", "rollback"}});
    REQUIRE_FALSE(piped.ok());
    CHECK(piped.error().code == Errc::io);
}

TEST_CASE("intent and result lines share an attempt id, a refused intent says nothing was changed",
          "[ops][audit]") {
    test::TempDir dir;
    const auto path = dir.path() + "/audit.jsonl";
    const auto attempt = ops::new_attempt_id();
    CHECK(attempt.size() == 16);
    CHECK(attempt != ops::new_attempt_id());
    REQUIRE(ops::audit_intent(path, {{"action", "rollback"}}, attempt).ok());
    REQUIRE(ops::audit_result(path, {{"action", "rollback"}, {"result", "done"}}, attempt).ok());
    std::ifstream in(path);
    std::string first;
    std::string second;
    std::getline(in, first);
    std::getline(in, second);
    const auto intent = nlohmann::json::parse(first);
    const auto result = nlohmann::json::parse(second);
    CHECK(intent.at("phase") == "intent");
    CHECK(result.at("phase") == "result");
    CHECK(intent.at("attempt") == attempt);
    CHECK(result.at("attempt") == attempt);

    const auto refused = ops::audit_intent("/dev/full", {{"action", "rollback"}}, attempt);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error().message, Catch::Contains("nothing was changed"));
}

TEST_CASE("a symlinked state folder is not chmod'ed, a new one is 0700 under umask 000",
          "[ops][audit]") {
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
    const auto made =
        ops::append_audit(dir.path() + "/fresh/oncall/audit.jsonl", {{"action", "rollback"}});
    ::umask(old);
    REQUIRE(made.ok());
    for (const char* sub : {"/fresh", "/fresh/oncall"}) {
        REQUIRE(::stat((dir.path() + sub).c_str(), &st) == 0);
        INFO(sub);
        CHECK((st.st_mode & 0777) == 0700);
    }
}
