// The change use case (ops::run_change) against an in-memory Kubernetes API and a local Prometheus:
// conflicts, status-only retries, the write-ahead audit, verification and auto-rollback.

#include "fake_kube.h"
#include "oncall/core/exit_code.h"
#include "oncall/ops/audit.h"
#include "oncall/ops/change.h"
#include "process.h"
#include "test_server.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <sys/stat.h>

using namespace oncall;
using nlohmann::json;

namespace {

const std::string k_v1 = "reg.example/shop/checkout@sha256:" + std::string(64, '1');
const std::string k_v2 = "reg.example/shop/checkout@sha256:" + std::string(64, '2');
const std::string k_v3 = "reg.example/shop/checkout@sha256:" + std::string(64, '3');

// A Prometheus that serves the targets (1s scrape interval) and answers the signal queries.
class FakePrometheus {
public:
    double request_rate = 20.0;
    double error_ratio = 0.002;
    double latency_p99 = 0.2;

    FakePrometheus() {
        m_server.on(
            "GET", "/api/v1/targets",
            [](const httplib::Request&, httplib::Response& res, std::size_t) {
                res.set_content(
                    R"({"status":"success","data":{"activeTargets":[{"labels":{"job":"shop","instance":"a:9100"},)"
                    R"("scrapePool":"shop","scrapeInterval":"1s","health":"up"}],"droppedTargets":[]}})",
                    "application/json");
            });
        m_server.on(
            "POST", "/api/v1/query",
            [this](const httplib::Request& req, httplib::Response& res, std::size_t) {
                const std::string q = req.get_param_value("query");
                std::string labels = "{}";
                double value = request_rate;
                if (q.rfind("group by", 0) == 0) {
                    labels = R"({"job":"shop","instance":"a:9100"})";
                    value = 1;
                } else if (q.find("histogram_quantile") != std::string::npos) {
                    value = latency_p99;
                } else if (q.find("5..") != std::string::npos) {
                    value = error_ratio;
                }
                std::string v = std::isfinite(value) ? fmt::format("{}", value) : "NaN";
                res.set_content(
                    fmt::format(R"({{"status":"success","data":{{"resultType":"vector","result":[)"
                                R"({{"metric":{},"value":[1764400000,"{}"]}}]}}}})",
                                labels, v),
                    "application/json");
            });
        m_server.start();
    }
    prometheus::Client client() const {
        return prometheus::Client(http::Client(http::ClientOptions{}), m_server.url());
    }

private:
    test::TestServer m_server;
};

// Records what the use case tells its observer.
class RecordingObserver final : public ops::ChangeObserver {
public:
    std::vector<std::string> notes;
    std::vector<long> rollbacks;
    void note(std::string_view text) override { notes.emplace_back(text); }
    void rolling_back(long revision, std::string_view /*why*/) override {
        rollbacks.push_back(revision);
    }
};

struct Harness {
    test::TempDir dir;
    config::Context context;
    test::FakeKube kube{"checkout", {k_v1, k_v2, k_v3}};
    std::optional<prometheus::Client> prometheus;
    ops::WriteAccess access;
    RecordingObserver observer;

    Harness() {
        context.name = "test";
        ops::Grant grant;
        grant.id = "g-0001";
        grant.requester = "alice";
        access.grant = grant;
        access.bearer_token = "grant-token-value";
    }
    std::string audit_path() const { return dir.path() + "/audit.jsonl"; }
    ops::ChangeBackends backends() {
        ops::ChangeBackends b{
            kube, nullptr, prometheus ? &*prometheus : nullptr, context, audit_path(), access, {}};
        b.sleep_until = [](TimePoint) {};
        return b;
    }
    static ops::ChangeRequest request(ops::DeployAction action) {
        ops::ChangeRequest r;
        r.action = action;
        r.service.name = "checkout";
        r.service.namespace_name = "shop";
        r.service.deployment = "checkout";
        r.service.selector = R"(service="checkout")";
        r.service.slo.error_ratio = 0.01;
        r.service.slo.latency_p99 = 0.5;
        r.reason = "checkout 12% errors since the last deploy";
        r.actor = "tester";
        return r;
    }
    static ops::ChangeOptions options() {
        ops::ChangeOptions o;
        o.yes = true;
        o.timeout = std::chrono::seconds(5);
        o.verify_window = std::chrono::seconds(5);
        return o;
    }
    std::vector<json> audit() const {
        std::vector<json> out;
        std::ifstream in(audit_path());
        std::string line;
        while (std::getline(in, line)) {
            out.push_back(json::parse(line));
        }
        return out;
    }
};

} // namespace

TEST_CASE("change: a write that lands between our read and our write is a conflict, nothing is "
          "overwritten",
          "[ops][change]") {
    Harness h;
    h.kube.before_patch = [](test::FakeKube& k) {
        k.before_patch = nullptr;
        k.change_spec(k_v1); // someone else deploys between our read and our write
    };
    auto request = Harness::request(ops::DeployAction::rollback);
    request.to_revision = 2;
    auto options = Harness::options();
    options.verify = false;
    const auto out = ops::run_change(h.backends(), request, options, h.observer);
    REQUIRE(out.ok());
    REQUIRE(out->error);
    CHECK(exit_code_for(*out->error) == ExitCode::conflict);
    CHECK(out->result == ops::ChangeResult::failed);
    CHECK(h.kube.image() == k_v1); // the other write stands
    CHECK(h.kube.applied == 0);
    CHECK(h.kube.patches == 1); // not retried: the spec moved
    const auto audit = h.audit();
    REQUIRE(audit.size() == 2);
    CHECK(audit[0].at("phase") == "intent");
    CHECK(audit[1].at("phase") == "result");
    CHECK(audit[1].at("result") == "failed");
    CHECK(audit[1].at("exit_code") == 5);
    CHECK(audit[0].at("attempt") == audit[1].at("attempt"));
}

TEST_CASE("change: when only the status moved, the Deployment is read again and the write retried",
          "[ops][change]") {
    Harness h;
    h.kube.before_patch = [](test::FakeKube& k) {
        k.before_patch = nullptr;
        k.touch_status(); // the rollout controller writes status: resourceVersion moves, spec does
                          // not
    };
    auto request = Harness::request(ops::DeployAction::rollback);
    request.to_revision = 2;
    auto options = Harness::options();
    options.verify = false;
    const auto out = ops::run_change(h.backends(), request, options, h.observer);
    REQUIRE(out.ok());
    INFO((out->error ? out->error->message : std::string()));
    CHECK_FALSE(out->error);
    CHECK(out->result == ops::ChangeResult::done);
    CHECK(h.kube.patches == 2);
    CHECK(h.kube.applied == 1);
    CHECK(h.kube.image() == k_v2);
    const auto audit = h.audit();
    REQUIRE(audit.size() == 2); // one attempt: one intent, one result, whatever the retries
    CHECK(audit[1].at("result") == "done");
}

TEST_CASE("change: one intent and one result line per attempt, both with the grant id, the grant's "
          "token writes",
          "[ops][change]") {
    Harness h;
    auto request = Harness::request(ops::DeployAction::rollback);
    request.to_revision = 2;
    auto options = Harness::options();
    options.verify = false;
    const auto out = ops::run_change(h.backends(), request, options, h.observer);
    REQUIRE(out.ok());
    CHECK_FALSE(out->error);
    REQUIRE(out->grant);
    CHECK(*out->grant == "g-0001");
    const auto audit = h.audit();
    REQUIRE(audit.size() == 2);
    for (const auto& line : audit) {
        CHECK(line.at("grant") == "g-0001");
        CHECK(line.at("user") == "alice");
        CHECK(line.at("credential") == "grant");
        CHECK(line.dump().find("grant-token-value") == std::string::npos);
    }
    CHECK(audit[0].at("phase") == "intent");
    CHECK_FALSE(audit[0].contains("result"));
    CHECK(audit[1].at("result") == "done");
    REQUIRE(h.kube.tokens.size() == 1);
    CHECK(h.kube.tokens[0] == std::optional<std::string>("grant-token-value"));
}

TEST_CASE("change: no intent line, no write", "[ops][change]") {
    Harness h;
    const auto before = h.kube.resource_version();
    auto request = Harness::request(ops::DeployAction::rollback);
    request.to_revision = 2;
    SECTION("a FIFO") {
        REQUIRE(::mkfifo(h.audit_path().c_str(), 0600) == 0);
    }
    SECTION("a symlink") {
        REQUIRE(::symlink((h.dir.path() + "/elsewhere").c_str(), h.audit_path().c_str()) == 0);
    }
    SECTION("a device") {
        REQUIRE(::symlink("/dev/full", h.audit_path().c_str()) == 0);
    }
    const auto out = ops::run_change(h.backends(), request, Harness::options(), h.observer);
    REQUIRE_FALSE(out.ok());
    CHECK(out.error().code == Errc::io);
    CHECK_THAT(out.error().message, Catch::Contains("nothing was changed"));
    CHECK(h.kube.patches == 0);
    CHECK(h.kube.resource_version() == before);
}

TEST_CASE("change: a breach after a redeploy is exit 7, and --auto-rollback returns to the "
          "previous revision",
          "[ops][change]") {
    Harness h;
    FakePrometheus prom;
    prom.error_ratio = 0.15;
    h.prometheus = prom.client();
    auto request = Harness::request(ops::DeployAction::redeploy); // a restart: a new revision
    auto options = Harness::options();
    options.auto_rollback = true;
    const auto out = ops::run_change(h.backends(), request, options, h.observer);
    REQUIRE(out.ok());
    REQUIRE(out->verification);
    CHECK(out->verification->status == ops::VerificationStatus::breach);
    CHECK(out->verification->scrape.interval == std::chrono::seconds(1));
    CHECK(out->verification->scrape.source == "prometheus targets");
    CHECK(out->verification->window == std::chrono::seconds(5));
    REQUIRE(out->error);
    CHECK(exit_code_for(*out->error) == ExitCode::rollout_failed);
    REQUIRE(out->auto_rollback);
    CHECK(out->auto_rollback->result == ops::ChangeResult::done);
    CHECK(out->auto_rollback->trigger == "breach");
    CHECK(out->auto_rollback->to_revision == 3);
    CHECK(h.observer.rollbacks == std::vector<long>{3});
    // Back on the restarted-before template: the restartedAt annotation is gone again.
    CHECK_FALSE(h.kube.deployment()["spec"]["template"]["metadata"].contains("annotations"));
    const auto audit = h.audit();
    REQUIRE(audit.size() == 4);
    CHECK(audit[0].at("phase") == "intent");
    CHECK(audit[0].at("action") == "redeploy");
    CHECK(audit[1].at("phase") == "result");
    CHECK(audit[1].at("verification") == "breach");
    CHECK(audit[1].at("exit_code") == 7);
    CHECK(audit[2].at("phase") == "intent");
    CHECK(audit[2].at("action") == "rollback");
    CHECK(audit[2].at("auto_rollback_of") == audit[0].at("attempt"));
    CHECK(audit[3].at("result") == "done");
    for (const auto& line : audit) {
        CHECK(line.at("grant") == "g-0001");
    }
}

TEST_CASE("change: a crash-looping redeploy fails its rollout (exit 7) and is rolled back",
          "[ops][change]") {
    Harness h;
    FakePrometheus prom;
    h.prometheus = prom.client();
    // Fresh instances crash-loop (the restarted template carries
    // kubectl.kubernetes.io/restartedAt).
    h.kube.crashes = [](const json& tmpl) { return tmpl["metadata"].contains("annotations"); };
    auto request = Harness::request(ops::DeployAction::redeploy);
    auto options = Harness::options();
    options.auto_rollback = true;
    const auto out = ops::run_change(h.backends(), request, options, h.observer);
    REQUIRE(out.ok());
    REQUIRE(out->rollout);
    CHECK(out->rollout->end == ops::WaitEnd::failed);
    CHECK_THAT(out->rollout->reason, Catch::Contains("CrashLoopBackOff"));
    CHECK_FALSE(out->verification); // nothing to verify after a failed rollout
    REQUIRE(out->error);
    CHECK(exit_code_for(*out->error) == ExitCode::rollout_failed);
    REQUIRE(out->auto_rollback);
    CHECK(out->auto_rollback->to_revision == 3);
    CHECK(out->auto_rollback->result == ops::ChangeResult::done);
    CHECK(out->auto_rollback->trigger == "rollout_failed");
}

TEST_CASE("change: no traffic is inconclusive: exit 0 with a warning, exit 7 when verification is "
          "required, and "
          "never an automatic rollback",
          "[ops][change]") {
    Harness h;
    FakePrometheus prom;
    prom.request_rate = 0;
    prom.error_ratio = std::nan("");
    prom.latency_p99 = std::nan("");
    h.prometheus = prom.client();
    auto request = Harness::request(ops::DeployAction::redeploy);

    auto plain = ops::run_change(h.backends(), request, Harness::options(), h.observer);
    REQUIRE(plain.ok());
    REQUIRE(plain->verification);
    CHECK(plain->verification->status == ops::VerificationStatus::inconclusive);
    CHECK_FALSE(plain->error);
    CHECK(plain->result == ops::ChangeResult::done);
    bool warned = false;
    for (const auto& n : h.observer.notes) {
        warned = warned || n.find("could not be verified") != std::string::npos;
    }
    CHECK(warned);

    auto required = Harness::options();
    required.require_verification = true;
    auto strict = ops::run_change(h.backends(), request, required, h.observer);
    REQUIRE(strict.ok());
    REQUIRE(strict->error);
    CHECK(exit_code_for(*strict->error) == ExitCode::rollout_failed);

    auto automatic = Harness::options();
    automatic.auto_rollback = true;
    const int applied_before = h.kube.applied;
    auto no_evidence = ops::run_change(h.backends(), request, automatic, h.observer);
    REQUIRE(no_evidence.ok());
    REQUIRE(no_evidence->error);
    CHECK(exit_code_for(*no_evidence->error) == ExitCode::rollout_failed);
    CHECK_FALSE(no_evidence->auto_rollback);
    CHECK(h.kube.applied == applied_before + 1); // the redeploy only
    CHECK(h.observer.rollbacks.empty());
}

TEST_CASE("change: reasons and options are checked before anything is read", "[ops][change]") {
    Harness h;
    auto request = Harness::request(ops::DeployAction::rollback);
    for (const std::string& reason : {std::string(" "), std::string("line\nbreak"),
                                      std::string("esc\x1b[2J"), std::string(2000, 'x')}) {
        request.reason = reason;
        const auto out = ops::run_change(h.backends(), request, Harness::options(), h.observer);
        REQUIRE_FALSE(out.ok());
        CHECK(out.error().code == Errc::usage);
    }
    request = Harness::request(ops::DeployAction::rollback);
    auto options = Harness::options();
    options.auto_rollback = true;
    CHECK_FALSE(ops::run_change(h.backends(), request, options, h.observer)
                    .ok()); // rollback --auto-rollback
    request.action = ops::DeployAction::redeploy;
    options.verify = false;
    CHECK_FALSE(
        ops::run_change(h.backends(), request, options, h.observer).ok()); // nothing to act on
    CHECK(h.kube.patches == 0);
    CHECK(h.audit().empty());
}
