#include "oncall/cli/completion_cache.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sys/stat.h>

using namespace oncall::cli;
using namespace std::chrono_literals;

TEST_CASE("cache entries live for their TTL", "[cli][cache]") {
    oncall::test::TempDir dir;
    const CompletionCache cache(dir.path() + "/state/cache.json", 30s, 5s);
    const auto t0 = CompletionCache::Clock::now();
    CHECK_FALSE(cache.get("k", t0));
    cache.put("k", CacheEntry{true, {{"checkout", "shop"}, {"cart", ""}}}, t0);
    const auto hit = cache.get("k", t0 + 29s);
    REQUIRE(hit);
    CHECK(hit->ok);
    CHECK(hit->candidates == std::vector<Candidate>{{"checkout", "shop"}, {"cart", ""}});
    CHECK_FALSE(cache.get("k", t0 + 31s));
    CHECK_FALSE(cache.get("other", t0));

    struct stat st {};
    REQUIRE(::stat((dir.path() + "/state").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("failures are remembered for a shorter time", "[cli][cache]") {
    oncall::test::TempDir dir;
    const CompletionCache cache(dir.path() + "/cache.json", 30s, 5s);
    const auto t0 = CompletionCache::Clock::now();
    cache.put("down", CacheEntry{false, {}}, t0);
    cache.put("up", CacheEntry{true, {{"a", ""}}}, t0);
    const auto hit = cache.get("down", t0 + 4s);
    REQUIRE(hit);
    CHECK_FALSE(hit->ok);
    CHECK_FALSE(cache.get("down", t0 + 6s));
    CHECK(cache.get("up", t0 + 6s));
}

TEST_CASE("expired entries are dropped on write, a corrupt file counts as empty", "[cli][cache]") {
    oncall::test::TempDir dir;
    const std::string path = dir.path() + "/cache.json";
    const CompletionCache cache(path, 30s, 5s);
    const auto t0 = CompletionCache::Clock::now();
    cache.put("old", CacheEntry{true, {{"a", ""}}}, t0);
    cache.put("new", CacheEntry{true, {{"b", ""}}}, t0 + 40s);
    CHECK_FALSE(cache.get("old", t0 + 1s)); // rewritten without it
    {
        std::ofstream out(path);
        out << "{not json";
    }
    CHECK_FALSE(cache.get("new", t0 + 40s));
    cache.put("k", CacheEntry{true, {{"c", ""}}}, t0);
    CHECK(cache.get("k", t0));
}
