// API priority and fairness in front of the practice cluster: the rollback's PATCH is refused once
// with 429 and Retry-After (the fault proxy), retried after the delay, and the rollback succeeds.

#include "fault_proxy.h"
#include "servers.h"

#include <catch2/catch.hpp>

using namespace oncall::test;
using nlohmann::json;

TEST_CASE("a PATCH refused with 429 and Retry-After is retried and the rollback succeeds",
          "[endpoints][retry]") {
    const auto env = cluster_env();
    FaultProxy::Options options;
    options.upstream = env.at("ONCALL_SANDBOX_URL");
    options.ca_file = env.at("ONCALL_SANDBOX_CA");
    FaultProxy proxy(options);
    TempDir dir;
    TempDir state;
    const std::string config =
        write_config(dir, "{ url: " + env.at("PROMETHEUS_URL") + " }", "", "", "", proxy.url());
    auto grant = oncall_with(config, state,
                             {"request-access", "payments", "--role", "deployer", "--for", "30m",
                              "--reason", "rollback under API priority and fairness", "-q"});
    INFO(grant.err);
    REQUIRE(grant.exit_code == 0);

    FaultSettings refuse;
    refuse.mode = FaultMode::status;
    refuse.status = 429;
    refuse.retry_after = "1";
    refuse.only_method = "PATCH";
    refuse.fault_count = 1;
    proxy.set(refuse);
    proxy.clear_requests();
    const auto r = oncall_with(
        config, state,
        {"rollback", "payments", "--to-revision", "1", "--yes", "--no-verify", "--reason",
         "back to 3.4.0 while the API server sheds load", "-o", "json", "-v"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(json_of(r).at("result") == "done");
    std::vector<ProxiedRequest> patches;
    for (const auto& q : proxy.requests()) {
        if (q.method == "PATCH") {
            patches.push_back(q);
        }
    }
    REQUIRE(patches.size() >= 2);
    CHECK(patches[0].applied == FaultMode::status);
    CHECK(patches[1].applied == FaultMode::pass);
    CHECK(patches[1].body == patches[0].body); // the same write, sent again
    CHECK(patches[1].target == patches[0].target);
    CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(patches[1].started -
                                                                patches[0].started)
              .count() >= 900);
    CHECK_THAT(r.err, Catch::Contains("HTTP 429, Retry-After 1; retrying"));
}
