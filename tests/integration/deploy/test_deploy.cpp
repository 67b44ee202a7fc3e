// history, status, rollback and redeploy against the sandbox: agreement with kubectl, the
// signal-based rollback of checkout, skips, dry runs, conflicts, paused Deployments, tag
// resolution through the registry, refusals that write nothing, fail-fast with auto-rollback, and
// the audit trail.

#include "workstation.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sys/stat.h>

using namespace oncall;
using nlohmann::json;
using test::ProcessResult;
using test::Workstation;

namespace {

json parse_out(const ProcessResult& r) {
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE_FALSE(r.out.empty());
    return json::parse(r.out);
}

// Revision -> change-cause as `kubectl rollout history` prints them.
std::map<long, std::string> kubectl_history(const Workstation& ws, const std::string& deployment) {
    auto r = ws.kubectl({"rollout", "history", "deployment/" + deployment});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::map<long, std::string> out;
    std::istringstream in(r.out);
    std::string line;
    const std::regex row(R"(^(\d+)\s+(.*?)\s*$)");
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_match(line, m, row)) {
            out[std::stol(m[1])] = m[2];
        }
    }
    return out;
}

std::string current_digest_of(const json& history) {
    for (const auto& r : history.at("revisions")) {
        if (r.at("current").get<bool>()) {
            return r.at("artifacts").at(0);
        }
    }
    return {};
}

// Every audit line of a write names the digests and the reason and holds no token.
void check_audit(const Workstation& ws, const std::string& service, const std::string& reason) {
    const auto lines = ws.audit_lines();
    const std::string text = test::read_text(ws.audit_file());
    CHECK(text.find(ws.grant_token(service)) == std::string::npos);
    CHECK(text.find(ws.engineer_token()) == std::string::npos);
    bool found = false;
    std::set<std::string> intents;
    for (const auto& l : lines) {
        if (l.value("service", "") != service ||
            (l.value("action", "") != "rollback" && l.value("action", "") != "redeploy")) {
            continue;
        }
        // Write-ahead: each attempt's intent line comes before its result line.
        CHECK(l.contains("grant"));
        if (l.at("phase") == "intent") {
            CHECK_FALSE(l.contains("exit_code"));
            intents.insert(l.at("attempt").get<std::string>());
            continue;
        }
        CHECK(l.at("phase") == "result");
        CHECK(intents.count(l.at("attempt").get<std::string>()) == 1);
        CHECK(l.at("from").at("artifacts").at(0).get<std::string>().find("@sha256:") !=
              std::string::npos);
        CHECK(l.at("to").at("artifacts").at(0).get<std::string>().find("@sha256:") !=
              std::string::npos);
        CHECK_FALSE(l.at("reason").get<std::string>().empty());
        CHECK(l.contains("time"));
        CHECK(l.contains("user"));
        CHECK(l.contains("exit_code"));
        found = found || l.at("reason") == reason;
    }
    CHECK(found);
}

} // namespace

TEST_CASE("history and status agree with kubectl") {
    Workstation ws;
    for (const std::string service : {"checkout", "payments", "search", "inventory"}) {
        INFO(service);
        auto h = ws.oncall({"history", service, "-o", "json"});
        INFO(h.err);
        REQUIRE(h.exit_code == 0);
        const json history = parse_out(h);
        const auto kubectl = kubectl_history(ws, service);
        std::map<long, std::string> ours;
        long previous = 1L << 40;
        int current = 0;
        for (const auto& r : history.at("revisions")) {
            const long n = r.at("revision");
            CHECK(n < previous); // newest first
            previous = n;
            ours[n] =
                r.at("change_cause").is_null() ? "<none>" : r.at("change_cause").get<std::string>();
            current += r.at("current").get<bool>() ? 1 : 0;
            CHECK_FALSE(r.at("deployed_at").is_null());
            for (const auto& a : r.at("artifacts")) {
                if (service != "inventory") {
                    CHECK(a.get<std::string>().find("@sha256:") != std::string::npos);
                }
            }
        }
        CHECK(current == 1);
        CHECK(ours == kubectl);
        // The current revision's template is the Deployment's.
        CHECK(current_digest_of(history) == ws.image(service));

        auto s = ws.oncall({"status", service, "-o", "json"});
        const json status = parse_out(s);
        auto k = ws.kubectl({"rollout", "status", "deployment/" + service, "--watch=false"});
        if (status.at("state") == "complete") {
            CHECK(k.exit_code == 0);
            CHECK(s.exit_code == 0);
            CHECK_THAT(k.out, Catch::Contains(status.at("message").get<std::string>()));
        } else if (status.at("state") == "progressing") {
            CHECK(k.exit_code == 0);
            CHECK(test::trimmed(k.out) == status.at("message").get<std::string>());
        } else if (status.at("state") == "failed") {
            CHECK(s.exit_code == 7);
            if (status.at("reason").get<std::string>().find("progress deadline") !=
                std::string::npos) {
                CHECK(k.exit_code != 0);
            } else {
                // Failed by its new pods (a crash loop): kubectl, blind to pods, still waits.
                CHECK(service == "search");
                CHECK_THAT(status.at("reason").get<std::string>(),
                           Catch::Contains("CrashLoopBackOff"));
                CHECK(k.exit_code == 0);
            }
        }
    }
    // search's newest revision crash-loops: status names the pods.
    const json search = parse_out(ws.oncall({"status", "search", "-o", "json"}));
    bool crash = false;
    for (const auto& p : search.at("problems")) {
        crash = crash || (p.at("reason") == "CrashLoopBackOff" && p.at("new_revision").get<bool>());
    }
    CHECK(crash);
}

TEST_CASE("rollback of checkout picks revision 2 by its signals and the service recovers") {
    Workstation ws;
    ws.grant("checkout");
    const json before = parse_out(ws.oncall({"history", "checkout", "-o", "json"}));
    std::string digest2;
    for (const auto& r : before.at("revisions")) {
        if (r.at("revision") == 2) {
            digest2 = r.at("artifacts").at(0);
        }
    }
    REQUIRE_FALSE(digest2.empty());
    REQUIRE(current_digest_of(before) != digest2);
    const std::string reason = "checkout errors at 12% since revision 3";

    auto r = ws.oncall({"rollback", "checkout", "--yes", "--reason", reason, "--verify-window",
                        "15s", "-o", "json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json out = parse_out(r);
    CHECK(out.at("action") == "rollback");
    CHECK(out.at("result") == "done");
    CHECK(out.at("from").at("revision") == 3);
    CHECK(out.at("to").at("revision") == 2);
    CHECK(out.at("to").at("artifacts").at(0) == digest2);
    CHECK_THAT(out.at("rule").get<std::string>(), Catch::Contains("healthy while it ran"));
    CHECK(out.at("verification").at("status") == "pass");
    CHECK(out.at("rollout").at("state") == "complete");

    // The sandbox now runs revision 2's digest, everywhere.
    CHECK(ws.image("checkout") == digest2);
    for (const auto& image : ws.pod_images("checkout")) {
        CHECK(image == digest2);
    }
    // Prometheus agrees that the error ratio recovered.
    const auto ratio = ws.promql(
        R"(sum(rate(http_requests_total{service="checkout",code=~"5.."}[15s])) / sum(rate(http_requests_total{service="checkout"}[15s])))");
    REQUIRE(ratio.has_value());
    CHECK(*ratio < 0.01);
    // change-cause and the Event record who and why.
    const json d = ws.deployment("checkout");
    CHECK_THAT(
        d.at("metadata").at("annotations").at("kubernetes.io/change-cause").get<std::string>(),
        Catch::Contains(reason));
    auto events = ws.kubectl({"get", "events", "-o", "json"});
    REQUIRE(events.exit_code == 0);
    bool event = false;
    const json event_list = json::parse(events.out);
    for (const auto& e : event_list.at("items")) {
        event = event || (e.value("reason", "") == "OncallRollback" &&
                          e.at("involvedObject").at("name") == "checkout" &&
                          e.value("message", "").find(reason) != std::string::npos);
    }
    CHECK(event);

    // Rolling back to what already runs is a skip, and writes nothing.
    const json now_history = parse_out(ws.oncall({"history", "checkout", "-o", "json"}));
    long current = 0;
    for (const auto& rev : now_history.at("revisions")) {
        if (rev.at("current").get<bool>()) {
            current = rev.at("revision");
        }
    }
    const std::string rv = ws.spec_fingerprint("checkout");
    auto skip = ws.oncall({"rollback", "checkout", "--to-revision", std::to_string(current),
                           "--yes", "--reason", "again, to be sure", "-o", "json"});
    INFO(skip.err);
    CHECK(skip.exit_code == 0);
    CHECK(parse_out(skip).at("result") == "skipped");
    CHECK(ws.spec_fingerprint("checkout") == rv);
    check_audit(ws, "checkout", reason);

    // Redeploy with a tag: resolved to the registry's digest, pinned in the Deployment.
    const std::string repo = ws.registry_host() + "/shop/checkout";
    const std::string digest130 = ws.registry_digest("shop/checkout", "1.3.0");
    REQUIRE(digest130.rfind("sha256:", 0) == 0);
    auto redeploy =
        ws.oncall({"redeploy", "checkout", "--image", repo + ":1.3.0", "--yes", "--reason",
                   "ship 1.3.0 with the pool fix", "--verify-window", "10s", "-o", "json"});
    INFO(redeploy.err);
    REQUIRE(redeploy.exit_code == 0);
    const json rd = parse_out(redeploy);
    CHECK(rd.at("to").at("artifacts").at(0) == repo + "@" + digest130);
    CHECK(ws.image("checkout") == repo + "@" + digest130);
    check_audit(ws, "checkout", "ship 1.3.0 with the pool fix");

    // A tag the registry does not hold: refused, nothing written.
    const std::string rv2 = ws.spec_fingerprint("checkout");
    auto unknown = ws.oncall({"redeploy", "checkout", "--image", repo + ":1.3.2", "--yes",
                              "--reason", "ship 1.3.2 which was never pushed"});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("1.3.2") && Catch::Contains("nothing was changed"));
    CHECK(ws.spec_fingerprint("checkout") == rv2);

    // Another service's repository is not allowed: exit 4 with the allowed list.
    auto foreign =
        ws.oncall({"redeploy", "checkout", "--image", ws.registry_host() + "/shop/payments:3.4.1",
                   "--yes", "--reason", "smuggle payments into checkout"});
    CHECK(foreign.exit_code == 4);
    CHECK_THAT(foreign.err, Catch::Contains(repo));
    CHECK(ws.spec_fingerprint("checkout") == rv2);

    // A crash-looping image fails fast (not at the 10m progress deadline) and --auto-rollback
    // returns to the previous digest.
    auto crash =
        ws.oncall({"redeploy", "checkout", "--image", repo + ":1.3.1-crash", "--yes",
                   "--auto-rollback", "--reason", "ship 1.3.1 which crashes", "-o", "json"});
    INFO(crash.err);
    CHECK(crash.exit_code == 7);
    const json cr = parse_out(crash);
    CHECK(cr.at("result") == "failed");
    CHECK(cr.at("rollout").at("state") == "failed");
    CHECK_THAT(cr.at("rollout").at("message").get<std::string>(),
               Catch::Contains("CrashLoopBackOff"));
    CHECK_THAT(crash.err, Catch::Contains("auto-rollback"));
    CHECK(cr.at("auto_rollback").at("result") == "done");
    CHECK(ws.image("checkout") == repo + "@" + digest130);
    check_audit(ws, "checkout", "ship 1.3.1 which crashes");
}

TEST_CASE("a registry that is down is refused before anything is written") {
    Workstation ws;
    ws.grant("checkout");
    // A mirror of the registry on a port where nothing listens, allowed for checkout.
    const std::string config = test::read_text(ws.env("ONCALL_CONFIG"));
    std::string dead = config;
    const std::string registry_url = ws.env("REGISTRY_URL");
    const std::string dead_host = "127.0.0.1:9";
    dead.replace(dead.find(registry_url), registry_url.size(), "http://" + dead_host);
    dead.replace(dead.find("  checkout:\n"), std::string("  checkout:\n").size(),
                 "  checkout:\n    repositories: [" + dead_host + "/shop/checkout]\n");
    const std::string path = ws.state().write("config.yaml", dead);
    ws.set_env("ONCALL_CONFIG", path);
    const std::string rv = ws.spec_fingerprint("checkout");
    auto r = ws.oncall({"redeploy", "checkout", "--image", dead_host + "/shop/checkout:1.3.0",
                        "--yes", "--reason", "registry down must refuse"});
    INFO(r.err);
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("nothing was changed"));
    CHECK(ws.spec_fingerprint("checkout") == rv);
}

TEST_CASE("without a terminal and without --yes a rollback refuses and writes nothing") {
    Workstation ws;
    ws.grant("payments");
    const std::string rv = ws.spec_fingerprint("payments");
    auto r = ws.oncall({"rollback", "payments", "--reason", "no terminal to ask on"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--yes"));
    CHECK(ws.spec_fingerprint("payments") == rv);
}

TEST_CASE("on a terminal the plan is shown and only a yes writes") {
    Workstation ws;
    ws.grant("payments");
    REQUIRE(ws.oncall({"status", "payments", "--watch", "-q"}).exit_code == 0);
    const std::string before = ws.spec_fingerprint("payments");
    auto no = ws.oncall_on_tty(
        {"rollback", "payments", "--no-wait", "--reason", "asked on a terminal"}, "n\n");
    INFO(no.out << no.err);
    CHECK(no.exit_code == 2);
    CHECK_THAT(no.out, Catch::Contains("from: revision") && Catch::Contains("[y/N]") &&
                           Catch::Contains("nothing was changed"));
    CHECK(ws.spec_fingerprint("payments") == before);
    auto yes = ws.oncall_on_tty(
        {"rollback", "payments", "--no-wait", "--reason", "asked on a terminal"}, "y\n");
    INFO(yes.out << yes.err);
    CHECK(yes.exit_code == 0);
    CHECK(ws.spec_fingerprint("payments") != before);
    REQUIRE(ws.oncall({"status", "payments", "--watch", "-q"}).exit_code == 0);
}

TEST_CASE("a dry run asks the server and changes nothing") {
    Workstation ws;
    ws.grant("payments");
    // Let any rollout of an earlier test settle, so that only our request could move
    // resourceVersion.
    REQUIRE(ws.oncall({"status", "payments", "--watch", "-q"}).exit_code == 0);
    const std::string rv = ws.resource_version("payments");
    const std::string image = ws.image("payments");
    auto r = ws.oncall(
        {"rollback", "payments", "--dry-run", "--reason", "what would happen", "-o", "json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json out = parse_out(r);
    CHECK(out.at("result") == "dry-run");
    CHECK(out.at("to").at("artifacts").at(0) != image);
    CHECK(ws.resource_version("payments") == rv);
    CHECK(ws.image("payments") == image);
}

TEST_CASE("rollback --to-revision goes to exactly that revision") {
    Workstation ws;
    ws.grant("payments");
    const json history = parse_out(ws.oncall({"history", "payments", "-o", "json"}));
    const std::string running = current_digest_of(history);
    long target = 0;
    std::string target_digest;
    for (const auto& r : history.at("revisions")) {
        if (!r.at("current").get<bool>() && r.at("artifacts").at(0) != running) {
            target = r.at("revision");
            target_digest = r.at("artifacts").at(0);
            break;
        }
    }
    REQUIRE(target > 0);
    auto r = ws.oncall({"rollback", "payments", "--to-revision", std::to_string(target), "--yes",
                        "--reason", "back to the retry budget of before", "--verify-window", "10s",
                        "-o", "json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json out = parse_out(r);
    CHECK(out.at("to").at("revision") == target);
    CHECK(out.at("rule") == "requested with --to-revision " + std::to_string(target));
    CHECK(ws.image("payments") == target_digest);
    auto k = ws.kubectl({"rollout", "status", "deployment/payments", "--watch=false"});
    CHECK_THAT(k.out, Catch::Contains("successfully rolled out"));
    check_audit(ws, "payments", "back to the retry budget of before");

    auto missing = ws.oncall(
        {"rollback", "payments", "--to-revision", "99", "--yes", "--reason", "no such revision"});
    CHECK(missing.exit_code == 1);
    CHECK_THAT(missing.err, Catch::Contains("known revisions"));
}

TEST_CASE("a change that lands between read and write is a conflict and survives") {
    Workstation ws;
    ws.grant("payments");
    const std::string image = ws.image("payments");
    const auto armed =
        ws.api(http::Method::post, "/sandbox/v1/namespaces/shop/deployments/payments/race", "{}");
    REQUIRE(armed.status == 200);
    const std::string annotation = json::parse(armed.body).at("annotation");
    auto r = ws.oncall(
        {"rollback", "payments", "--yes", "--reason", "racing someone else", "--no-wait"});
    INFO(r.err);
    CHECK(r.exit_code == 5);
    CHECK_THAT(r.err, Catch::Contains("nothing was overwritten"));
    const json d = ws.deployment("payments");
    CHECK(
        d.at("metadata").at("annotations").contains(annotation)); // the concurrent change survived
    CHECK(ws.image("payments") == image);                         // and ours was not applied
}

TEST_CASE("a paused Deployment is refused with exit 5") {
    Workstation ws;
    ws.grant("payments");
    // Pause it the way a colleague would: kubectl with a deployer token of their own.
    auto token = ws.kubectl({"create", "token", "oncall-deployer", "--duration=10m"});
    REQUIRE(token.exit_code == 0);
    const std::string t = test::trimmed(token.out);
    auto pause = ws.kubectl({"--token", t, "rollout", "pause", "deployment/payments"});
    INFO(pause.err);
    REQUIRE(pause.exit_code == 0);
    const std::string before = ws.spec_fingerprint("payments");
    auto r = ws.oncall({"rollback", "payments", "--yes", "--reason", "rollback while paused"});
    CHECK(r.exit_code == 5);
    CHECK_THAT(r.err, Catch::Contains("paused"));
    CHECK(ws.spec_fingerprint("payments") == before);
    auto resume = ws.kubectl({"--token", t, "rollout", "resume", "deployment/payments"});
    CHECK(resume.exit_code == 0);
}

TEST_CASE("status --watch follows a rollout to its end") {
    Workstation ws;
    auto r = ws.oncall({"status", "search", "--watch", "-o", "json"});
    // search's new revision crash-loops: the watch ends as failed at once, not at the deadline.
    CHECK(r.exit_code == 7);
    const json out = parse_out(r);
    CHECK(out.at("state") == "failed");
    CHECK_THAT(r.err, Catch::Contains("CrashLoopBackOff"));
}

TEST_CASE("a Deployment owned by a GitOps controller is refused unless --force") {
    Workstation ws;
    ws.grant("payments");
    auto token = ws.kubectl({"create", "token", "oncall-deployer", "--duration=10m"});
    REQUIRE(token.exit_code == 0);
    const std::string t = test::trimmed(token.out);
    auto label = ws.kubectl(
        {"--token", t, "label", "deployment/payments", "argocd.argoproj.io/instance=shop"});
    INFO(label.err);
    REQUIRE(label.exit_code == 0);
    const std::string before = ws.spec_fingerprint("payments");
    auto refused =
        ws.oncall({"rollback", "payments", "--yes", "--reason", "rollback under Argo CD"});
    CHECK(refused.exit_code == 5);
    CHECK_THAT(refused.err, Catch::Contains("Argo CD") && Catch::Contains("--force"));
    CHECK(ws.spec_fingerprint("payments") == before);
    auto forced = ws.oncall({"rollback", "payments", "--force", "--dry-run", "--reason",
                             "rollback under Argo CD", "-o", "json"});
    INFO(forced.err);
    CHECK(forced.exit_code == 0);
    CHECK(parse_out(forced).at("result") == "dry-run");
    CHECK_THAT(forced.err, Catch::Contains("managed by Argo CD"));
    auto unlabel =
        ws.kubectl({"--token", t, "label", "deployment/payments", "argocd.argoproj.io/instance-"});
    CHECK(unlabel.exit_code == 0);
}

TEST_CASE("redeploy without --image rolls out fresh instances of the same artifacts") {
    Workstation ws;
    ws.grant("payments");
    REQUIRE(ws.oncall({"status", "payments", "--watch", "-q"}).exit_code == 0);
    const std::string image = ws.image("payments");
    const json before = parse_out(ws.oncall({"history", "payments", "-o", "json"}));
    const long newest = before.at("revisions").at(0).at("revision");
    auto r =
        ws.oncall({"redeploy", "payments", "--yes", "--reason", "stuck connection pool, fresh pods",
                   "--verify-window", "10s", "-o", "json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json out = parse_out(r);
    CHECK(out.at("result") == "done");
    CHECK(out.at("from").at("artifacts") == out.at("to").at("artifacts"));
    const json d = ws.deployment("payments");
    CHECK(d.at("spec")
              .at("template")
              .at("metadata")
              .at("annotations")
              .contains("kubectl.kubernetes.io/restartedAt"));
    CHECK(ws.image("payments") == image);
    const json after = parse_out(ws.oncall({"history", "payments", "-o", "json"}));
    CHECK(after.at("revisions").at(0).at("revision").get<long>() == newest + 1);
    CHECK(after.at("revisions").at(0).at("current") == true);
    check_audit(ws, "payments", "stuck connection pool, fresh pods");
}

namespace {

// Makes the workstation's audit log unusable in one of the ways a real machine can; says how.
std::string break_audit_log(const Workstation& ws, const std::string& how) {
    const std::string dir = ws.state().path() + "/oncall";
    const std::string log = dir + "/audit.jsonl";
    std::filesystem::remove(log);
    if (how == "fifo") {
        REQUIRE(::mkfifo(log.c_str(), 0600) == 0);
        return "audit.jsonl is a FIFO";
    }
    if (how == "symlink") {
        std::ofstream(dir + "/elsewhere.jsonl") << "";
        std::filesystem::create_symlink(dir + "/elsewhere.jsonl", log);
        return "audit.jsonl is a symlink";
    }
    if (how == "full") {
        std::filesystem::create_symlink("/dev/full", log);
        return "audit.jsonl -> /dev/full";
    }
    // Unwritable: a directory where the file should be (root ignores permission bits).
    std::filesystem::create_directory(log);
    return "audit.jsonl is a directory";
}

} // namespace

TEST_CASE("no audit intent line, no change: an unwritable, full, FIFO or symlinked audit log "
          "leaves the cluster as it was") {
    for (const std::string how : {"unwritable", "full", "fifo", "symlink"}) {
        Workstation ws;
        ws.grant("payments");
        std::string target;
        const json history = parse_out(ws.oncall({"history", "payments", "-o", "json"}));
        for (const auto& rev : history.at("revisions")) {
            if (!rev.at("current").get<bool>()) {
                target = std::to_string(rev.at("revision").get<long>());
            }
        }
        REQUIRE_FALSE(target.empty());
        const auto before = ws.deployment("payments");
        const std::string what = break_audit_log(ws, how);
        INFO(what);
        const auto r = ws.oncall({"rollback", "payments", "--to-revision", target, "--yes",
                                  "--no-wait", "--reason", "audit refusal test", "-o", "json"});
        INFO(r.out << r.err);
        CHECK(r.exit_code != 0);
        CHECK(r.exit_code != 5);
        CHECK_THAT(r.err, Catch::Contains("audit") && Catch::Contains("nothing was changed"));
        CHECK(r.out.find("\"done\"") == std::string::npos);
        const auto after = ws.deployment("payments");
        CHECK(after.at("metadata").at("resourceVersion") ==
              before.at("metadata").at("resourceVersion"));
        CHECK(after.at("metadata").at("generation") == before.at("metadata").at("generation"));
        if (how == "symlink") {
            CHECK(test::read_text(ws.state().path() + "/oncall/elsewhere.jsonl").empty());
        }
        // A grant request writes its intent before creating the Secret: no Secret, no grant.
        const auto secrets_before =
            ws.api(http::Method::get, "/api/v1/namespaces/shop/secrets").body;
        const auto grant = ws.oncall({"request-access", "checkout", "--role", "deployer", "--for",
                                      "10m", "--reason", "audit refusal test of request-access"});
        INFO(grant.out << grant.err);
        CHECK(grant.exit_code != 0);
        CHECK_THAT(grant.err, Catch::Contains("audit"));
        const auto secrets_after =
            ws.api(http::Method::get, "/api/v1/namespaces/shop/secrets").body;
        CHECK(json::parse(secrets_after).at("items").size() ==
              json::parse(secrets_before).at("items").size());
    }
}

TEST_CASE("an option value that is one of the command's flags is refused, and so are bad reasons") {
    Workstation ws;
    ws.grant("payments");
    const std::string fingerprint = ws.spec_fingerprint("payments");
    const auto flag =
        ws.oncall({"rollback", "payments", "--reason", "--dry-run", "-y", "--no-wait"});
    INFO(flag.out << flag.err);
    CHECK(flag.exit_code == 2);
    CHECK_THAT(flag.err, Catch::Contains("--dry-run") && Catch::Contains("--reason"));
    for (const std::string& reason : {std::string(""), std::string("two\nlines"),
                                      std::string("bell\a"), std::string(1500, 'x')}) {
        const auto bad = ws.oncall({"rollback", "payments", "--reason", reason, "-y", "--no-wait"});
        INFO(bad.err);
        CHECK(bad.exit_code == 2);
        CHECK_THAT(bad.err, Catch::Contains("--reason"));
    }
    CHECK(ws.spec_fingerprint("payments") == fingerprint);
}
