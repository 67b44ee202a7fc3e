// Golden-output tests of the views (text and JSON) on recorded inputs at a fixed clock, and the
// escaping of text that servers and other people wrote: in text it is shown, never obeyed (one
// line per table row whatever it holds), in JSON it keeps its exact bytes.

#include "../ops/triage_facts.h"
#include "../read_fixture.h"
#include "golden.h"
#include "oncall/render/sanitize.h"
#include "oncall/render/style.h"
#include "oncall/views/access.h"
#include "oncall/views/history.h"
#include "oncall/views/status.h"
#include "oncall/views/triage.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

using namespace oncall;
using namespace oncall::test::triage_facts;
using oncall::test::check_golden;
using oncall::test::read_fixture;

namespace {

// Newlines, a carriage return, a tab, ESC sequences (window title by OSC ending in BEL, clear
// screen, cursor home), a raw 8-bit CSI byte, a UTF-8 encoded C1 CSI and a bidi override.
const std::string k_hostile = "deploy 1.3.0\nrm -rf /\x1b]0;pwned\x07\x1b[2J\x1b[H\rtab\there \x9b"
                              "31m \xc2\x9b"
                              "0m \xe2\x80\xae"
                              "txt.exe";

// Local times in goldens are UTC whatever the machine's zone.
struct UtcZone {
    std::optional<std::string> saved;
    UtcZone() {
        if (const char* tz = std::getenv("TZ")) {
            saved = tz;
        }
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }
    ~UtcZone() {
        if (saved) {
            ::setenv("TZ", saved->c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
    UtcZone(const UtcZone&) = delete;
    UtcZone& operator=(const UtcZone&) = delete;
};

views::TextOptions piped(int width, TimePoint now = k_now) {
    views::TextOptions o;
    o.style.color = false;
    o.style.tty = false;
    o.style.width = width;
    o.now = now;
    return o;
}

// A moment after the recorded ReplicaSets of checkout were created.
const TimePoint k_history_now = parse_rfc3339("2026-11-26T03:00:00Z").value();

// True when no byte of `text` can make a terminal do something: no C0 control but the newline
// ending each line, no DEL, no C1 control (raw or UTF-8 encoded), no bidi override.
bool terminal_safe(const std::string& text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\n') || c == 0x7F) {
            return false;
        }
        if (c < 0x80) {
            ++i;
            continue;
        }
        // A whole UTF-8 sequence, which is neither a C1 control nor a bidi override.
        const std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (len == 0 || i + len > text.size()) {
            return false;
        }
        for (std::size_t k = 1; k < len; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
                return false;
            }
        }
        if (c == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
            return false;
        }
        if (text.compare(i, 3, "\xe2\x80\xae") == 0) {
            return false;
        }
        i += len;
    }
    return true;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto end = text.find('\n', pos);
        out.push_back(text.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
        pos = end == std::string::npos ? text.size() : end + 1;
    }
    return out;
}

config::Service checkout_service() {
    config::Service s;
    s.name = "checkout";
    s.namespace_name = "shop";
    s.deployment = "checkout";
    return s;
}

// The revisions of the recorded checkout Deployment and its ReplicaSets.
std::vector<kube::Revision> recorded_revisions() {
    auto d =
        kube::decode_deployment(json::parse(read_fixture("kubernetes/deployment_checkout.json")));
    REQUIRE(d.ok());
    std::vector<kube::ReplicaSet> sets;
    for (const char* page : {"kubernetes/replicasets_checkout_page1.json",
                             "kubernetes/replicasets_checkout_page2.json"}) {
        const json list = json::parse(read_fixture(page));
        for (const auto& item : list["items"]) {
            auto rs = kube::decode_replicaset(item);
            REQUIRE(rs.ok());
            sets.push_back(*rs);
        }
    }
    auto revisions = kube::revisions_of(*d, sets);
    REQUIRE(revisions.size() >= 3);
    return revisions;
}

} // namespace

TEST_CASE("views: history of recorded revisions (golden)", "[views][golden][history]") {
    const UtcZone utc;
    const auto revisions = recorded_revisions();
    check_golden("history.txt",
                 views::history_text(checkout_service(), revisions, piped(100, k_history_now)));
    check_golden("history.json", views::history_json(checkout_service(), revisions).dump(2) + "\n");
}

TEST_CASE("views: history with a hostile change-cause has one escaped line per row at any width",
          "[views][golden][history][untrusted]") {
    const UtcZone utc;
    auto revisions = recorded_revisions();
    revisions[0].change_cause = k_hostile;
    revisions[1].change_cause = "\n\n\n\n\n\n";
    std::size_t artifact_lines = 0;
    for (const auto& r : revisions) {
        artifact_lines += r.artifacts.size();
    }
    for (const int width : {40, 100, 120, 300}) {
        const auto text =
            views::history_text(checkout_service(), revisions, piped(width, k_history_now));
        INFO("width " << width << ":\n" << text);
        CHECK(terminal_safe(text));
        const auto lines = lines_of(text);
        CHECK(lines.size() == 1 + revisions.size() + artifact_lines);
        CHECK_THAT(lines[0], Catch::StartsWith("REVISION"));
        for (std::size_t i = 1, r = 0; i < lines.size() && r < revisions.size(); ++r) {
            CHECK(render::display_width(lines[i]) <= width);
            CHECK_THAT(lines[i], Catch::Contains(std::to_string(revisions[r].number)));
            i += 1 + revisions[r].artifacts.size();
        }
        if (width >= 300) {
            CHECK_THAT(text,
                       Catch::Contains(
                           "deploy 1.3.0⏎rm -rf /^[]0;pwned^G^[[2J^[[H⏎tab here \\x9B31m \\u009B0m "
                           "\\u202Etxt.exe"));
        }
        check_golden("history_hostile_" + std::to_string(width) + ".txt", text);
    }
    const auto j = views::history_json(checkout_service(), revisions);
    CHECK(json::parse(j.dump(2, ' ', false,
                             json::error_handler_t::replace))["revisions"][0]["change_cause"] ==
          "deploy 1.3.0\nrm -rf /\x1b]0;pwned\x07\x1b[2J\x1b[H\rtab\there \xEF\xBF\xBD"
          "31m \xc2\x9b"
          "0m \xe2\x80\xae"
          "txt.exe");
    check_golden("history_hostile.json",
                 j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

namespace {

// The bad deploy of the triage tests, with hostile text in every untrusted field: the suspect's
// change-cause, pod log lines, an alert's name and summary, and a source's error message.
TriageReport hostile_triage() {
    auto f = facts_for("checkout", "checkout_with_inhibited.json");
    f.kube = kube_facts("checkout", {revision("checkout", 3, 20min, '3', true),
                                     revision("checkout", 2, 130min, '2', false),
                                     revision("checkout", 1, 26h, '1', false)});
    f.kube->revisions[0].change_cause = k_hostile;
    f.kube->log_lines = {"level=error msg=\"boom\x1b]0;title\x07\" n=1\nsecond line",
                         "level=error msg=\"boom\x1b]0;title\x07\" n=2\nsecond line"};
    REQUIRE(f.alerts);
    (*f.alerts)[0].summary = "summary\x1b[2J\x07\ninjected";
    f.sources[2].warnings.push_back("server says \x1b[31mred\x1b[0m\nnext");
    auto r = build_report(f);
    r.sources[1].ok = false;
    r.sources[1].error = make_error(Errc::bad_response,
                                    "alertmanager said: \x1b]52;c;cGF5bG9hZA==\x07\nforged line");
    return r;
}

} // namespace

TEST_CASE("views: a service name with escape sequences is escaped on every triage line",
          "[views][triage][untrusted]") {
    const UtcZone utc;
    auto f = facts_for("checkout", "checkout_with_inhibited.json");
    f.kube = kube_facts("checkout", {revision("checkout", 3, 20min, '3', true),
                                     revision("checkout", 2, 130min, '2', false)});
    auto r = build_report(f);
    r.service = "checkout\x1b[8m\x1b[31m";
    REQUIRE_FALSE(r.deploys.empty());
    while (r.deploys.size() < 7) {
        r.deploys.push_back(r.deploys.back()); // more than the screen shows: "+N older (...)"
    }
    while (r.alerts.size() < 30) {
        r.alerts.push_back(r.alerts.front()); // "+N more (oncall triage ...)"
    }
    const auto text = views::triage_text(r, piped(160));
    INFO(text);
    CHECK(terminal_safe(text));
    CHECK_THAT(text, Catch::Contains("older (oncall history checkout^[[8m^[[31m)"));
    CHECK_THAT(text, Catch::Contains("more (oncall triage checkout^[[8m^[[31m -o json)"));
}

TEST_CASE("views: triage of a bad deploy (golden)", "[views][golden][triage]") {
    const UtcZone utc;
    auto f = facts_for("checkout", "checkout_with_inhibited.json");
    f.kube = kube_facts("checkout", {revision("checkout", 3, 20min, '3', true),
                                     revision("checkout", 2, 130min, '2', false),
                                     revision("checkout", 1, 26h, '1', false)});
    f.kube->log_lines = {
        R"(2026-11-18T11:59:01.000Z level=error msg="db pool exhausted" pool=orders wait_ms=5003 trace_id=4bf92f3577b34da6)",
        R"(2026-11-18T11:59:02.000Z level=error msg="db pool exhausted" pool=orders wait_ms=5010 trace_id=5bf92f3577b34da6)"};
    const auto r = build_report(f);
    check_golden("triage.txt", views::triage_text(r, piped(100)));
    check_golden("triage.json", views::triage_json(r).dump(2) + "\n");
}

TEST_CASE(
    "views: triage escapes change-causes, log lines, alerts and errors, JSON keeps them exact",
    "[views][golden][triage][untrusted]") {
    const UtcZone utc;
    const auto r = hostile_triage();
    for (const int width : {40, 100, 120, 300}) {
        const auto text = views::triage_text(r, piped(width));
        INFO("width " << width << ":\n" << text);
        CHECK(terminal_safe(text));
        for (const auto& line : lines_of(text)) {
            CHECK(render::display_width(line) <= std::max(width, 60));
        }
        if (width >= 100) {
            CHECK_THAT(text, Catch::Contains("deploy 1.3.0⏎rm"));
        }
        check_golden("triage_hostile_" + std::to_string(width) + ".txt", text);
    }
    const auto j = views::triage_json(r);
    CHECK(j["deploys"][0]["change_cause"].get<std::string>() == k_hostile);
    CHECK(j["logs"][0]["example"].get<std::string>().find("\x1b]0;title\x07") != std::string::npos);
    bool exact_summary = false;
    for (const auto& a : j["alerts"]) {
        exact_summary = exact_summary || a["summary"] == "summary\x1b[2J\x07\ninjected";
    }
    CHECK(exact_summary);
    CHECK(j["sources"][1]["error"] == "alertmanager said: \x1b]52;c;cGF5bG9hZA==\x07\nforged line");
    check_golden("triage_hostile.json",
                 j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

TEST_CASE("views: the overview of all services (golden)", "[views][golden][triage]") {
    const UtcZone utc;
    views::Overview o;
    o.context = "sandbox";
    o.at = k_now;
    auto bad = facts_for("checkout", "checkout_with_inhibited.json");
    bad.kube = kube_facts("checkout", {revision("checkout", 3, 20min, '3', true),
                                       revision("checkout", 2, 130min, '2', false)});
    const auto report = build_report(bad);
    // Fields by name: the overview line grows as the engine does.
    OverviewLine l1;
    l1.service = "checkout";
    l1.verdict = report.verdict;
    l1.exit_code = report.exit_code;
    l1.since = report.since;
    l1.suspect = report.suspect;
    l1.summary = report.verdict_reasons.front();
    OverviewLine l2;
    l2.service = "search";
    l2.verdict = Verdict::unknown;
    l2.exit_code = ExitCode::partial;
    l2.summary = "kubernetes said: \x1b[2Jforbidden\nline";
    l2.failed_sources = {"kubernetes"};
    OverviewLine l3;
    l3.service = "payments";
    l3.verdict = Verdict::healthy;
    l3.exit_code = ExitCode::success;
    l3.summary = "all signals within their SLO";
    o.lines = {l1, l2, l3};
    o.exit_code = ExitCode::degraded;
    const auto text = views::overview_text(o, piped(100));
    CHECK(terminal_safe(text));
    CHECK(lines_of(text).size() == 4);
    check_golden("overview.txt", text);
    check_golden("overview.json", views::overview_json(o).dump(2) + "\n");
}

TEST_CASE("views: status of a crash-looping rollout (golden)",
          "[views][golden][status][untrusted]") {
    const UtcZone utc;
    auto d =
        kube::decode_deployment(json::parse(read_fixture("kubernetes/deployment_checkout.json")));
    REQUIRE(d.ok());
    auto s = ops::evaluate_rollout(*d);
    auto pod = kube::decode_pod(json::parse(read_fixture("kubernetes/pod_crashloop.json")));
    REQUIRE(pod.ok());
    s.problems = ops::pod_problems({*pod}, "0b7a3c1e-9d1f-4f6b-8a3e-2c1d0e9f8a7b");
    REQUIRE_FALSE(s.problems.empty());
    check_golden("status.txt", views::status_text(checkout_service(), s, piped(100)));
    check_golden("status.json", views::status_json(checkout_service(), s).dump(2) + "\n");

    pod->container_statuses[0].waiting_message = "back-off\x1b]0;pwned\x07\nrestarting";
    s.problems = ops::pod_problems({*pod}, "0b7a3c1e-9d1f-4f6b-8a3e-2c1d0e9f8a7b");
    const auto text = views::status_text(checkout_service(), s, piped(100));
    CHECK(terminal_safe(text));
    CHECK_THAT(text, Catch::Contains("back-off^[]0;pwned^G⏎restarting"));
    CHECK(views::status_json(checkout_service(), s)["problems"][0]["message"] ==
          "back-off\x1b]0;pwned\x07\nrestarting");
    CHECK(terminal_safe(views::status_progress_line(checkout_service(), s)));
    ops::WaitResult wait;
    wait.end = ops::WaitEnd::failed;
    wait.reason = "pod search-x: CrashLoopBackOff\x1b]0;pwned\x07";
    wait.elapsed = std::chrono::seconds(95);
    CHECK(views::status_wait_line(checkout_service(), wait) ==
          "checkout: pod search-x: CrashLoopBackOff^[]0;pwned^G after 1m35s");
    check_golden("status_hostile.txt", text);
}

namespace {

ops::Grant recorded_grant() {
    ops::Grant g;
    g.context = "sandbox";
    g.server = "https://127.0.0.1:6443";
    g.service = "checkout";
    g.namespace_name = "shop";
    g.role = "deployer";
    g.service_account = "oncall-deployer-checkout";
    g.id = "3f9c2a71b0d4";
    g.secret_name = "oncall-grant-3f9c2a71b0d4";
    g.requester = "alice@example.com";
    g.reason = "INC-4411: roll back the bad deploy";
    g.ticket = "INC-4411";
    g.issued_at = k_now - 5min;
    g.expires_at = k_now + 25min;
    g.token = "never-shown";
    return g;
}

} // namespace

TEST_CASE("views: request-access and access list (golden)", "[views][golden][access][untrusted]") {
    const UtcZone utc;
    const auto g = recorded_grant();
    const auto issued = views::request_access_text(g, piped(100));
    CHECK(issued.find("never-shown") == std::string::npos);
    check_golden("request_access.txt", issued);
    check_golden("request_access.json", views::request_access_json(g).dump(2) + "\n");

    auto expiring = recorded_grant();
    expiring.service = "payments";
    expiring.role = "viewer";
    expiring.id = "77aa01";
    expiring.expires_at = k_now + 3min;
    expiring.ticket.clear();
    auto expired = recorded_grant();
    expired.service = "search";
    expired.id = "0c0c0c";
    expired.expires_at = k_now - 90min;
    expired.reason = "restart\x1b]0;pwned\x07\nforged row";
    expired.requester = "mallory\x1b[2J";
    const std::vector<ops::Grant> grants{g, expiring, expired};
    const auto list = views::grant_list_text("sandbox", grants, piped(100));
    CHECK(terminal_safe(list));
    CHECK(lines_of(list).size() == 1 + grants.size());
    CHECK(list.find("never-shown") == std::string::npos);
    check_golden("access_list.txt", list);
    const auto j = views::grant_list_json("sandbox", grants, k_now);
    CHECK(j["grants"][2]["reason"] == "restart\x1b]0;pwned\x07\nforged row");
    CHECK(j.dump().find("never-shown") == std::string::npos);
    check_golden("access_list.json", j.dump(2) + "\n");
    check_golden("access_list_empty.txt", views::grant_list_text("sandbox", {}, piped(100)));

    const auto hostile_issue = views::request_access_text(expired, piped(100));
    CHECK(terminal_safe(hostile_issue));
}

TEST_CASE("views: two-person access (golden)", "[views][golden][access][approvals][untrusted]") {
    const UtcZone utc;
    auto approved_grant = recorded_grant();
    approved_grant.approver = "bob@example.com";
    const auto approved_text = views::request_access_text(approved_grant, piped(100));
    CHECK(approved_text.rfind("Approved by bob@example.com: granted role deployer", 0) == 0);
    check_golden("access_wait_approved.txt", approved_text);
    check_golden("access_wait_approved.json",
                 views::request_access_json(approved_grant, "approved").dump(2) + "\n");
    auto glass = recorded_grant();
    glass.role = "breakglass";
    glass.break_glass = true;
    check_golden("request_access_break_glass.txt", views::request_access_text(glass, piped(100)));

    ops::RequestedApproval filed;
    filed.grant = "k3m9x2p7qa";
    filed.csr_name = "oncall-grant-k3m9x2p7qa";
    filed.service = "checkout";
    filed.namespace_name = "shop";
    filed.role = "deployer";
    filed.requester = "alice@example.com";
    filed.reason = "INC-4411: roll back the bad deploy";
    filed.duration = 30min;
    filed.requested_at = k_now;
    check_golden("request_access_filed.txt",
                 views::request_filed_text(filed, "sandbox", 15min, false) +
                     views::request_filed_text(filed, "sandbox", 15min, true));
    check_golden("request_access_filed.json", views::request_filed_json(filed).dump(2) + "\n");

    ops::PendingRequest ok;
    ok.grant = "k3m9x2p7qa";
    ok.service = "checkout";
    ok.namespace_name = "shop";
    ok.role = "deployer";
    ok.requester = "alice@example.com";
    ok.reason = "INC-4411: roll back the bad deploy";
    ok.requested_for = 30min;
    ok.requested_at = k_now - 2min;
    ok.valid = true;
    ops::PendingRequest bad;
    bad.grant = "zz00zz00zz";
    bad.requester = "mallory\x1b[2J";
    bad.role = "admin\nforged row";
    bad.valid = false;
    bad.problem = "the request's subject does not\x1b]0;pwned\x07 parse";
    const std::vector<ops::PendingRequest> pending{ok, bad};
    const auto pending_text = views::pending_text(pending, piped(100), false);
    CHECK(terminal_safe(pending_text));
    CHECK(lines_of(pending_text).size() == 1 + pending.size() + 1);
    check_golden("access_pending.txt", pending_text);
    check_golden("access_pending_empty.txt", views::pending_text({}, piped(100), false));
    CHECK(views::pending_text({}, piped(100), true).empty());
    const auto pending_json = views::pending_json(pending);
    CHECK(pending_json["requests"][1]["requester"] == "mallory\x1b[2J");
    check_golden("access_pending.json", pending_json.dump(2) + "\n");

    ops::ApprovedGrant a;
    a.grant = "k3m9x2p7qa";
    a.service = "checkout";
    a.namespace_name = "shop";
    a.role = "deployer";
    a.requester = "alice@example.com";
    a.approver = "bob@example.com";
    a.requested = 2h;
    a.granted = 1h;
    a.capped = true;
    a.capped_by = "role deployer's max 1h";
    a.expires_at = k_now + 1h;
    check_golden("access_approve.txt", views::approved_text(a));
    check_golden("access_approve.json", views::approved_json(a).dump(2) + "\n");

    ops::DeniedRequest d;
    d.grant = "k3m9x2p7qa";
    d.service = "checkout";
    d.role = "deployer";
    d.requester = "alice@example.com";
    d.approver = "bob@example.com";
    d.reason = "use the runbook's read-only role";
    check_golden("access_deny.txt", views::denied_text(d));
    check_golden("access_deny.json", views::denied_json(d).dump(2) + "\n");
}
