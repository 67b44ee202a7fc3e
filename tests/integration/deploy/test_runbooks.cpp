// The runbooks of examples/runbooks/ against the sandbox, with the built oncall first in PATH.

#include "workstation.h"

#include <catch2/catch.hpp>

using namespace oncall;
using test::Workstation;

namespace {
std::string runbook(const std::string& name) {
    return test::required_env("ONCALL_SOURCE_DIR") + "/examples/runbooks/" + name;
}
} // namespace

TEST_CASE("runbook rollback-if-stuck returns crash-looping search to its last healthy revision") {
    Workstation ws;
    ws.grant("search");
    const auto before = ws.image("search");
    auto r = ws.shell(runbook("rollback-if-stuck.sh"),
                      {"search", "search 0.10.0 crash-loops on index v7"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out,
               Catch::Contains("rolling back") && Catch::Contains("rolled back: revision 3 -> 2"));
    CHECK(ws.image("search") != before);
    // Run again: now healthy, nothing to do.
    auto again = ws.shell(runbook("rollback-if-stuck.sh"),
                          {"search", "search 0.10.0 crash-loops on index v7"});
    CHECK(again.exit_code == 0);
    CHECK_THAT(again.out, Catch::Contains("is healthy"));
}

TEST_CASE("runbook safe-redeploy ships a tag and refuses one the registry does not hold") {
    Workstation ws;
    ws.grant("inventory");
    const std::string repo = ws.registry_host() + "/shop/inventory";
    auto missing =
        ws.shell(runbook("safe-redeploy.sh"), {"inventory", repo + ":9.9.9", "ship 9.9.9"});
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.out, Catch::Contains("refused before anything was written"));

    const std::string digest = ws.registry_digest("shop/inventory", "2.3.9");
    auto shipped = ws.shell(runbook("safe-redeploy.sh"),
                            {"inventory", repo + ":2.3.9", "pin inventory to 2.3.9"});
    INFO(shipped.out << shipped.err);
    REQUIRE(shipped.exit_code == 0);
    CHECK_THAT(shipped.out, Catch::Contains("shipped: inventory now runs " + repo + "@" + digest));
    CHECK(ws.image("inventory") == repo + "@" + digest);
}

TEST_CASE("runbook rollback-if-degraded rolls checkout back to the revision triage recommends") {
    Workstation ws;
    // Without a grant the runbook stops at the rollback and prints the request-access line.
    auto denied = ws.shell(runbook("rollback-if-degraded.sh"), {"checkout"});
    INFO(denied.out << denied.err);
    CHECK(denied.exit_code == 4);
    CHECK_THAT(denied.out, Catch::Contains("oncall request-access checkout --role deployer"));

    ws.grant("checkout");
    auto r = ws.shell(runbook("rollback-if-degraded.sh"), {"checkout"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("degraded since revision 3") &&
                          Catch::Contains("rolling back to revision 2"));
    CHECK_THAT(r.out, Catch::Contains("rolled back checkout: revision 3 -> 2"));
    const auto audit = ws.audit_lines();
    REQUIRE_FALSE(audit.empty());
    CHECK(audit.back().at("action") == "rollback");
    CHECK_THAT(audit.back().at("reason").get<std::string>(),
               Catch::Contains("revision 3 suspected"));

    // payments is healthy: nothing to do.
    auto healthy = ws.shell(runbook("rollback-if-degraded.sh"), {"payments"});
    CHECK(healthy.exit_code == 0);
    CHECK_THAT(healthy.out, Catch::Contains("healthy; nothing to do"));
}

TEST_CASE("runbook silence-rollback-verify keeps the silence until a verified rollback, then "
          "expires it") {
    Workstation ws;
    const auto state_of = [&](const std::string& id) {
        http::Client client{http::ClientOptions{}};
        http::Request request;
        request.url = ws.env("ALERTMANAGER_URL") + "/api/v2/silence/" + id;
        auto r = client.perform(request);
        REQUIRE(r);
        REQUIRE(r->status == 200);
        return nlohmann::json::parse(r->body).at("status").at("state").get<std::string>();
    };
    const auto silence_in = [](const std::string& out) {
        const auto at = out.find("silenced payments: ");
        REQUIRE(at != std::string::npos);
        return out.substr(at + 19, 36);
    };
    // No grant: the rollback is refused, and the silence stays.
    auto denied = ws.shell(runbook("silence-rollback-verify.sh"),
                           {"payments", "payments provider errors, rolling back"});
    INFO(denied.out << denied.err);
    REQUIRE(denied.exit_code == 4);
    const auto kept = silence_in(denied.out);
    CHECK_THAT(denied.out, Catch::Contains("silence " + kept + " kept"));
    CHECK(state_of(kept) == "active");
    REQUIRE(ws.oncall({"silence", "expire", kept, "-q"}).exit_code == 0);

    ws.grant("payments");
    auto r = ws.shell(runbook("silence-rollback-verify.sh"),
                      {"payments", "payments provider errors, rolling back", "INC-4712"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const auto lifted = silence_in(r.out);
    CHECK_THAT(r.out, Catch::Contains("rolled back and verified; silence " + lifted + " expired"));
    CHECK(state_of(lifted) == "expired");
    std::vector<std::string> actions;
    for (const auto& line : ws.audit_lines()) {
        if (line.value("phase", "") != "intent") {
            actions.push_back(line.value("action", "") + ":" + line.value("result", ""));
        }
    }
    // The silence was made before the rollback and lifted after it.
    const auto pos = [&](const std::string& what) {
        return std::find(actions.rbegin(), actions.rend(), what) - actions.rbegin();
    };
    INFO(nlohmann::json(actions).dump());
    CHECK(pos("silence:created") > pos("rollback:done"));
    CHECK(pos("rollback:done") > pos("silence-expire:expired"));
    CHECK(std::find(actions.begin(), actions.end(), "silence-expire:expired") != actions.end());
}
