// Loading and validating sandbox scenario files.

#include "log_template.h"
#include "scenario_fixture.h"
#include "traffic.h"

#include <catch2/catch.hpp>
#include <set>

using namespace sandbox;
using sandbox::test::ScenarioFile;

namespace {

const Image& image(const Scenario& s, const std::string& key) {
    const auto it = s.images.find(key);
    REQUIRE(it != s.images.end());
    return it->second;
}

const Service& service(const Scenario& s, const std::string& name) {
    for (const auto& svc : s.services) {
        if (svc.name == name) {
            return svc;
        }
    }
    FAIL("no service " << name);
    throw std::logic_error("unreachable");
}

const Behavior& behavior_of(const Scenario& s, const std::string& image_key) {
    const auto* b = behavior_for_image(s, image_key);
    REQUIRE(b != nullptr);
    return *b;
}

// A minimal valid scenario; `services` replaces the services block.
std::string scenario_text(const std::string& services) {
    return "name: t\n"
           "behaviors:\n"
           "  ok: {error-ratio: 0.01}\n"
           "images:\n"
           "  - {repository: shop/a, tag: '1.0', behavior: ok}\n"
           "services:\n" +
           services;
}

std::string load_error(const std::string& text) {
    ScenarioFile file(text);
    auto r = load_scenario(file.path());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find(file.path()) != std::string::npos);
    return r.error().message;
}

} // namespace

TEST_CASE("sandbox scenario: bad-deploy holds the practice story", "[sandbox][scenario]") {
    const auto s = test::default_scenario();
    CHECK(s.name == "bad-deploy");
    CHECK(s.namespace_name == "shop");
    REQUIRE(s.services.size() == 4);

    const auto& checkout = service(s, "checkout");
    CHECK(checkout.replicas == 3);
    REQUIRE(checkout.revisions.size() == 3);
    CHECK(checkout.revisions[2].number == 3);
    CHECK(checkout.revisions[2].deployed_ago == std::chrono::minutes(20));
    CHECK(checkout.revisions[0].deployed_ago > checkout.revisions[1].deployed_ago);
    const auto& bad = behavior_of(s, checkout.revisions[2].containers[0].image);
    CHECK(bad.error_ratio == Approx(0.12));
    CHECK(bad.latency_p99 == Approx(1.8));
    for (int r : {0, 1}) {
        CHECK(behavior_of(s, checkout.revisions[static_cast<std::size_t>(r)].containers[0].image)
                  .error_ratio < 0.01);
    }

    CHECK(behavior_of(s, service(s, "search").revisions.back().containers[0].image).crash);
    CHECK_FALSE(behavior_of(s, service(s, "payments").revisions.back().containers[0].image).crash);

    const auto& inventory = service(s, "inventory");
    CHECK_FALSE(inventory.revisions.back().containers[0].pin_by_digest);
    REQUIRE(inventory.drifted_pods.count(1) == 1);
    CHECK(image(s, inventory.drifted_pods.at(1)).digest !=
          image(s, inventory.revisions.back().containers[0].image).digest);

    // Images for redeploy practice, one never pushed.
    CHECK_FALSE(behavior_of(s, "shop/checkout:1.3.0").crash);
    CHECK(behavior_of(s, "shop/checkout:1.3.1-crash").crash);
    int absent = 0;
    for (const auto& [key, img] : s.images) {
        absent += img.in_registry ? 0 : 1;
    }
    CHECK(absent == 1);

    REQUIRE(s.service_accounts.size() == 3);
    CHECK(s.service_accounts[0].name == "oncall-deployer");
    CHECK(s.service_accounts[0].max_duration == std::chrono::hours(1));
    CHECK(s.service_accounts[1].name == "oncall-triage");
    CHECK(s.service_accounts[1].max_duration == std::chrono::hours(8));
    CHECK(s.service_accounts[2].name == "oncall-breakglass");
    CHECK(s.service_accounts[2].max_duration == std::chrono::minutes(30));
}

TEST_CASE("sandbox scenario: every image's digest is distinct and stable", "[sandbox][scenario]") {
    const auto a = test::default_scenario();
    const auto b = test::default_scenario();
    std::set<std::string> digests;
    for (const auto& [key, img] : a.images) {
        CHECK(img.digest.rfind("sha256:", 0) == 0);
        CHECK(img.digest.size() == 7 + 64);
        CHECK(img.digest == b.images.at(key).digest);
        digests.insert(img.digest);
    }
    CHECK(digests.size() == a.images.size());
}

TEST_CASE("sandbox scenario: images resolve by key, by digest, with or without a registry host",
          "[sandbox][scenario]") {
    const auto s = test::default_scenario();
    const auto& bad = image(s, "shop/checkout:1.2.2");
    CHECK(behavior_for_image(s, "shop/checkout:1.2.2")->name == "checkout-db-pool");
    CHECK(behavior_for_image(s, "127.0.0.1:5000/shop/checkout:1.2.2")->name == "checkout-db-pool");
    CHECK(behavior_for_image(s, "127.0.0.1:5000/shop/checkout@" + bad.digest)->name ==
          "checkout-db-pool");
    CHECK(behavior_for_image(s, "127.0.0.1:5000/shop/checkout:1.2.2@" + bad.digest)->name ==
          "checkout-db-pool");
    CHECK(behavior_for_image(s, bad.digest)->name == "checkout-db-pool");
    // The right digest under another repository is not that image.
    CHECK(behavior_for_image(s, "127.0.0.1:5000/shop/payments@" + bad.digest) == nullptr);
    CHECK(behavior_for_image(s, "shop/checkout:9.9.9") == nullptr);
    CHECK(behavior_for_image(s, "shop/checkout@sha256:" + std::string(64, '0')) == nullptr);
    CHECK(waiting_reason(s, "shop/checkout:1.3.2") == "ImagePullBackOff");
    CHECK(waiting_reason(s, "shop/search:0.10.0") == "CrashLoopBackOff");
    CHECK(waiting_reason(s, "shop/checkout:1.2.2").empty());
}

TEST_CASE("sandbox scenario: errors name the file, line and key", "[sandbox][scenario]") {
    SECTION("unknown key") {
        const auto m = load_error(scenario_text("  - name: a\n    replics: 2\n    revisions: "
                                                "[{deployed-ago: 1h, image: shop/a:1.0}]\n"));
        CHECK(m.find("services[0].replics") != std::string::npos);
        CHECK(m.find("unknown key") != std::string::npos);
        CHECK(m.find(":8:") != std::string::npos);
    }
    SECTION("unknown image") {
        const auto m = load_error(
            scenario_text("  - name: a\n    revisions: [{deployed-ago: 1h, image: shop/a:2.0}]\n"));
        CHECK(m.find("services[0].revisions[0].image") != std::string::npos);
        CHECK(m.find("shop/a:2.0") != std::string::npos);
    }
    SECTION("revisions out of order") {
        const auto m = load_error(scenario_text("  - name: a\n    revisions:\n"
                                                "      - {deployed-ago: 1h, image: shop/a:1.0}\n"
                                                "      - {deployed-ago: 2h, image: shop/a:1.0}\n"));
        CHECK(m.find("services[0].revisions[1].deployed-ago") != std::string::npos);
        CHECK(m.find("oldest first") != std::string::npos);
    }
    SECTION("bad duration") {
        const auto m = load_error(scenario_text(
            "  - name: a\n    revisions: [{deployed-ago: soon, image: shop/a:1.0}]\n"));
        CHECK(m.find("deployed-ago") != std::string::npos);
        CHECK(m.find("soon") != std::string::npos);
    }
    SECTION("error ratio out of range") {
        const auto m =
            load_error("name: t\nbehaviors:\n  ok: {error-ratio: 1.5}\nimages: []\nservices: []\n");
        CHECK(m.find("behaviors.ok.error-ratio") != std::string::npos);
        CHECK(m.find("out of range") != std::string::npos);
    }
    SECTION("service name that is no DNS label") {
        const auto m = load_error(scenario_text(
            "  - name: Check_Out\n    revisions: [{deployed-ago: 1h, image: shop/a:1.0}]\n"));
        CHECK(m.find("services[0].name") != std::string::npos);
    }
    SECTION("drifted pod outside the replicas") {
        const auto m =
            load_error(scenario_text("  - name: a\n    replicas: 2\n"
                                     "    revisions: [{deployed-ago: 1h, image: shop/a:1.0}]\n"
                                     "    drifted-pods: {5: shop/a:1.0}\n"));
        CHECK(m.find("drifted-pods.5") != std::string::npos);
    }
    SECTION("unknown log placeholder") {
        const auto m =
            load_error("name: t\nbehaviors:\n  ok:\n    logs: ['msg=\"x\" user={user}']\n"
                       "images: [{repository: shop/a, tag: '1', behavior: ok}]\n"
                       "services: [{name: a, revisions: [{deployed-ago: 1h, image: shop/a:1}]}]\n");
        CHECK(m.find("behaviors.ok.logs[0]") != std::string::npos);
        CHECK(m.find("{user}") != std::string::npos);
    }
    SECTION("invalid YAML") {
        const auto m = load_error("name: [unclosed\n");
        CHECK(m.find("invalid YAML") != std::string::npos);
    }
}

TEST_CASE("sandbox scenario: a missing file is an I/O error naming it", "[sandbox][scenario]") {
    auto r = load_scenario("/nonexistent/scenario.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == oncall::Errc::io);
    CHECK(r.error().message.find("/nonexistent/scenario.yaml") != std::string::npos);
}

TEST_CASE("sandbox scenario: log templates fill their placeholders deterministically",
          "[sandbox][scenario]") {
    const std::string t =
        "level=error msg=\"db pool exhausted\" pool=orders wait_ms={int:5000-5012} "
        "trace_id={trace_id} pod={pod} kind={choice:a|b}";
    REQUIRE_FALSE(check_log_template(t).has_value());
    const LogContext ctx{"shop", "checkout", "checkout-x-1", 0.1, 0.5};
    const auto a = render_log_template(t, ctx, 42);
    CHECK(a == render_log_template(t, ctx, 42));
    CHECK(a != render_log_template(t, ctx, 43));
    CHECK(a.find("{") == std::string::npos);
    CHECK(a.find("pod=checkout-x-1") != std::string::npos);
    const auto wait = a.substr(a.find("wait_ms=") + 8, 4);
    CHECK((wait >= "5000" && wait <= "5012"));
    const auto trace = a.substr(a.find("trace_id=") + 9, 32);
    CHECK(trace.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(is_error_template(t));
    CHECK_FALSE(is_error_template("level=info msg=\"ok\""));
    CHECK(check_log_template("x={int:9-1}").has_value());
    CHECK(check_log_template("x={hex:0}").has_value());
    CHECK(check_log_template("x={trace_id").has_value());
}
