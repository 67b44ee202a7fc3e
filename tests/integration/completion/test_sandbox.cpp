// Names that only the cluster knows, completed against the practice cluster: the Deployments of
// the context's namespace and the revisions of checkout.
#include "shells.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <sstream>

using namespace oncall::test;

namespace {

std::vector<std::string> sorted(std::vector<std::string> items) {
    std::sort(items.begin(), items.end());
    return items;
}

// The sandbox's configuration with only checkout listed under services: the other services can
// only come from the cluster's Deployments.
std::string config_with_checkout_only() {
    const auto env = sandbox_env();
    std::ifstream in(env.at("ONCALL_CONFIG"));
    std::stringstream text;
    text << in.rdbuf();
    std::string config = text.str();
    const auto services = config.find("\nservices:");
    REQUIRE(services != std::string::npos);
    return config.substr(0, services) + "\nservices:\n  checkout: {}\n";
}

// A world on the sandbox's cluster. The cluster answers in a fraction of the usual deadline, but a
// test machine busy with other suites may not: the deadline is raised so that what is checked is
// the answer, not the machine's load (the default deadline is tested with a dead cluster).
std::unique_ptr<CompletionWorld> sandbox_world() {
    auto w = std::make_unique<CompletionWorld>(config_with_checkout_only());
    w->set_env("ONCALL_COMPLETION_TIMEOUT", "15s");
    return w;
}

using Complete = std::vector<std::string> (CompletionWorld::*)(const std::string&) const;

void check_services_and_revisions(Complete shell) {
    const auto world = sandbox_world();
    const CompletionWorld& w = *world;
    CHECK(sorted((w.*shell)("oncall status ")) ==
          sorted({"checkout", "payments", "search", "inventory"}));
    CHECK(sorted((w.*shell)("oncall history se")) == sorted({"search"}));
    CHECK(sorted((w.*shell)("oncall triage ")) ==
          sorted({"checkout", "payments", "search", "inventory"}));
    CHECK(sorted((w.*shell)("oncall rollback checkout --to-revision ")) == sorted({"1", "2", "3"}));
    CHECK(sorted((w.*shell)("oncall rollback search --to-revision ")) == sorted({"1", "2", "3"}));
    CHECK(sorted((w.*shell)("oncall rollback payments --to-revision ")) == sorted({"1", "2"}));
}

} // namespace

TEST_CASE("bash completes services and revisions from the sandbox", "[completion][sandbox][bash]") {
    check_services_and_revisions(&CompletionWorld::bash);
}

TEST_CASE("fish completes services and revisions from the sandbox", "[completion][sandbox][fish]") {
    check_services_and_revisions(&CompletionWorld::fish);
}

TEST_CASE("zsh completes services and revisions from the sandbox", "[completion][sandbox][zsh]") {
    check_services_and_revisions(&CompletionWorld::zsh);
}

TEST_CASE("revision candidates say which one runs and what it ran", "[completion][sandbox]") {
    const auto world = sandbox_world();
    const CompletionWorld& w = *world;
    const auto r =
        run_oncall({"__complete", "--", "rollback", "checkout", "--to-revision", ""}, w.options());
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("3\tcurrent: "));
    CHECK_THAT(r.out, Catch::Contains("checkout@sha256:"));
    CHECK_THAT(r.out, Catch::Contains("2\t"));
    CHECK_THAT(r.out, Catch::Contains("1\t"));
    // An unknown service has no revisions, and completion says nothing about it.
    const auto none =
        run_oncall({"__complete", "--", "rollback", "nosuch", "--to-revision", ""}, w.options());
    CHECK(none.exit_code == 0);
    CHECK(none.out.empty());
    CHECK(none.err.empty());
}

TEST_CASE("cluster answers are cached in the state directory", "[completion][sandbox]") {
    const auto world = sandbox_world();
    const CompletionWorld& w = *world;
    const auto first = w.complete({"status", ""});
    REQUIRE(first.exit_code == 0);
    std::ifstream in(w.dir() + "/state/oncall/completion-cache.json");
    std::stringstream cache;
    cache << in.rdbuf();
    CHECK_THAT(cache.str(), Catch::Contains("\"search\""));
    CHECK_THAT(cache.str(), Catch::Contains("\"ok\":true"));
    const auto second = w.complete({"status", ""});
    CHECK(second.out == first.out);
}
