// oncall silence against a real Alertmanager HA pair (gossiping on loopback) in front of the
// practice cluster: create once, seen on both, listed once, suppresses exactly the service's
// alerts, expires, audited, shown in triage, completed; bad input changes nothing.

#include "oncall/core/time.h"
#include "oncall/http/client.h"
#include "process.h"
#include "test_server.h"

#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using namespace oncall;
using nlohmann::json;

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, sep)) {
        if (!item.empty()) {
            out.push_back(item);
        }
    }
    return out;
}

// Polls `check` every 50 ms until it holds or `limit` passes.
template <class F>
bool eventually(F check, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (check()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return check();
}

class Desk {
public:
    Desk() : m_env(test::sandbox_env()) {
        m_env["XDG_STATE_HOME"] = m_state.path();
        m_urls = split(m_env.at("ALERTMANAGER_URLS"), ',');
        REQUIRE(m_urls.size() == 2);
    }

    test::ProcessResult oncall(const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& extra = {}) const {
        test::ProcessOptions options;
        options.env = m_env;
        for (const auto& [k, v] : extra) {
            options.env[k] = v;
        }
        options.unset_env = {"ONCALL_CONTEXT", "NO_COLOR"};
        options.timeout = std::chrono::seconds(60);
        return test::run_oncall(args, options);
    }

    const std::vector<std::string>& urls() const { return m_urls; }
    const std::map<std::string, std::string>& env() const { return m_env; }
    const test::TempDir& state() const { return m_state; }

    // GET on one Alertmanager; a status of 0 when it cannot be reached.
    std::pair<long, std::string> get(std::size_t peer, const std::string& path) const {
        http::ClientOptions options;
        options.retry = http::RetryPolicy::none();
        http::Client client(options);
        http::Request r;
        r.url = m_urls.at(peer) + path;
        r.timeout = std::chrono::seconds(3);
        auto response = client.perform(r);
        if (!response) {
            return {0, response.error().message};
        }
        return {response->status, response->body};
    }

    json silence_on(std::size_t peer, const std::string& id) const {
        const auto [status, body] = get(peer, "/api/v2/silence/" + id);
        return status == 200 ? json::parse(body) : json();
    }

    std::string state_on(std::size_t peer, const std::string& id) const {
        const auto s = silence_on(peer, id);
        return s.is_object() ? s.at("status").at("state").get<std::string>()
                             : std::string("absent");
    }

    // Every silence id on one peer with its state ("id:state", sorted): the snapshot that bad input
    // must leave unchanged.
    std::vector<std::string> snapshot(std::size_t peer) const {
        const auto [status, body] = get(peer, "/api/v2/silences");
        REQUIRE(status == 200);
        std::vector<std::string> out;
        for (const auto& s : json::parse(body)) {
            out.push_back(s.at("id").get<std::string>() + ":" +
                          s.at("status").at("state").get<std::string>());
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    // The service's alerts on one peer (all states).
    json alerts_on(std::size_t peer, const std::string& service) const {
        const auto [status, body] =
            get(peer, "/api/v2/alerts?filter=" + http::url_encode("service=\"" + service + "\""));
        REQUIRE(status == 200);
        return json::parse(body);
    }

    std::vector<json> audit_lines() const {
        std::vector<json> out;
        for (const auto& line :
             split(test::read_text(m_state.path() + "/oncall/audit.jsonl"), '\n')) {
            out.push_back(json::parse(line));
        }
        return out;
    }

    // POSTs alerts (as Prometheus would) to both peers.
    void post_alerts(const json& alerts) const {
        for (const auto& url : m_urls) {
            http::Client client{http::ClientOptions{}};
            http::Request r;
            r.method = http::Method::post;
            r.url = url + "/api/v2/alerts";
            r.headers.push_back({"Content-Type", "application/json"});
            r.body = alerts.dump();
            auto response = client.perform(r);
            REQUIRE(response);
            REQUIRE(response->status == 200);
        }
    }

    // A configuration like the sandbox's with another Alertmanager section.
    std::string config_with_alertmanager(const std::string& section) const {
        const std::string text = test::read_text(m_env.at("ONCALL_CONFIG"));
        const std::regex line("(\n    alertmanager: )[^\n]*");
        const std::string changed = std::regex_replace(text, line, "$1" + section);
        REQUIRE(changed != text);
        return m_state.write("config.yaml", changed);
    }

private:
    test::TempDir m_state;
    std::map<std::string, std::string> m_env;
    std::vector<std::string> m_urls;
};

std::string create(const Desk& desk, std::vector<std::string> extra) {
    std::vector<std::string> args{"silence", "checkout", "--for",
                                  "30m",     "--reason", "rolling checkout back to 1.2.1",
                                  "-o",      "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = desk.oncall(args);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out).at("id").get<std::string>();
}

void expire(const Desk& desk, const std::string& id) {
    const auto r = desk.oncall({"silence", "expire", id});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
}

// The sandbox's firing checkout alerts (posted at start-up with their onset).
void require_checkout_firing(const Desk& desk) {
    REQUIRE(eventually([&] { return !desk.alerts_on(0, "checkout").empty(); }));
}

} // namespace

TEST_CASE(
    "right after sandbox up, checkout's alerts fire on both instances since the scenario's onset") {
    Desk desk;
    // No waiting: the launcher posted them before it returned; their start is the bad deploy's
    // (20 minutes before the epoch), and stays so once Prometheus' rules fire them too.
    const auto epoch = parse_rfc3339(desk.env().at("ONCALL_SANDBOX_EPOCH"));
    REQUIRE(epoch);
    const auto onset = format_rfc3339(*epoch - std::chrono::minutes(20));
    for (std::size_t peer = 0; peer < 2; ++peer) {
        const auto alerts = desk.alerts_on(peer, "checkout");
        std::set<std::string> names;
        for (const auto& a : alerts) {
            names.insert(a.at("labels").at("alertname").get<std::string>());
            CHECK(format_rfc3339(*parse_rfc3339(a.at("startsAt").get<std::string>())) == onset);
        }
        CHECK(names == std::set<std::string>{"HighErrorRatio", "HighLatencyP99"});
    }
    const auto triage = desk.oncall({"triage", "checkout", "--no-color"});
    CHECK_THAT(triage.out,
               Catch::Contains("2 firing") && Catch::Matches(R"([\s\S]*firing 2[0-9]m[\s\S]*)"));
}

TEST_CASE(
    "a silence is created once, gossiped to both instances, listed once, and suppresses only the "
    "service's alerts") {
    Desk desk;
    require_checkout_firing(desk);
    // Another service whose name starts the same: its alert must keep notifying.
    desk.post_alerts(json::array({{{"labels",
                                    {{"alertname", "HighErrorRatio"},
                                     {"service", "checkout-canary"},
                                     {"namespace", "shop"},
                                     {"severity", "page"}}},
                                   {"annotations", {{"summary", "canary 5xx"}}}}}));

    const auto before = desk.snapshot(0);
    const auto r =
        desk.oncall({"silence", "checkout", "--for", "30m", "--reason",
                     "rolling checkout back to 1.2.1", "--ticket", "INC-4711", "-o", "json"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const auto out = json::parse(r.out);
    const std::string id = out.at("id");
    CHECK(out.at("service") == "checkout");
    CHECK(out.at("comment") == "rolling checkout back to 1.2.1 [ticket INC-4711]");
    CHECK_FALSE(out.at("created_by").get<std::string>().empty());
    CHECK(out.at("matchers") == json::array({{{"name", "service"},
                                              {"value", "checkout"},
                                              {"is_regex", false},
                                              {"is_equal", true}}}));
    // Exactly one new silence, on the first instance; gossip brings it to the second.
    const auto after = desk.snapshot(0);
    CHECK(after.size() == before.size() + 1);
    CHECK(desk.state_on(0, id) == "active");
    REQUIRE(eventually([&] { return desk.state_on(1, id) == "active"; }));
    const auto on_second = desk.silence_on(1, id);
    CHECK(on_second.at("createdBy") == out.at("created_by"));
    CHECK(on_second.at("comment") == out.at("comment"));

    // Listed once although both instances hold it.
    const auto list = desk.oncall({"silence", "list", "-o", "json"});
    INFO(list.out << list.err);
    REQUIRE(list.exit_code == 0);
    int seen = 0;
    const auto listed_doc = json::parse(list.out);
    for (const auto& s : listed_doc.at("silences")) {
        seen += s.at("id") == id ? 1 : 0;
    }
    CHECK(seen == 1);
    const auto text = desk.oncall({"silence", "list", "checkout"}, {{"COLUMNS", "200"}});
    CHECK(text.exit_code == 0);
    CHECK_THAT(text.out,
               Catch::Contains(id) && Catch::Contains("left") && Catch::Contains("INC-4711"));
    const auto others = desk.oncall({"silence", "list", "payments", "-o", "json"});
    CHECK(others.exit_code == 0);
    CHECK_THAT(others.out, !Catch::Contains(id));

    // Both instances suppress checkout's alerts with this silence, and only those.
    for (std::size_t peer = 0; peer < 2; ++peer) {
        CHECK(eventually([&] {
            const auto alerts = desk.alerts_on(peer, "checkout");
            if (alerts.empty()) {
                return false;
            }
            for (const auto& a : alerts) {
                const auto& by = a.at("status").at("silencedBy");
                if (a.at("status").at("state") != "suppressed" ||
                    std::find(by.begin(), by.end(), id) == by.end()) {
                    return false;
                }
            }
            return true;
        }));
        const auto canary = desk.alerts_on(peer, "checkout-canary");
        REQUIRE(canary.size() == 1);
        CHECK(canary[0].at("status").at("state") == "active");
        CHECK(canary[0].at("status").at("silencedBy").empty());
    }

    // triage shows the silence with its time left, and the alerts as silenced.
    const auto triage = desk.oncall({"triage", "checkout", "--no-color"}, {{"COLUMNS", "200"}});
    INFO(triage.out << triage.err);
    CHECK_THAT(triage.out,
               Catch::Contains("SILENCES") && Catch::Contains(id) && Catch::Contains("s left"));
    CHECK_THAT(triage.out, Catch::Contains("silenced") && Catch::Contains("0 firing"));
    const auto triage_json = desk.oncall({"triage", "checkout", "-o", "json"});
    const auto report = json::parse(triage_json.out);
    REQUIRE(report.at("silences").size() >= 1);
    bool listed = false;
    for (const auto& s : report.at("silences")) {
        if (s.at("id") == id) {
            listed = true;
            CHECK(s.at("comment") == out.at("comment"));
            CHECK(s.at("created_by") == out.at("created_by"));
            CHECK(s.at("ends_at") == out.at("ends_at"));
            CHECK(s.at("matchers").size() == 1);
        }
    }
    CHECK(listed);
    for (const auto& a : report.at("alerts")) {
        CHECK(a.at("state") == "suppressed");
    }

    // Completion offers the active silence's id for expire, and checkout's alert names for --alert.
    const auto ids = desk.oncall({"__complete", "--", "silence", "expire", ""});
    CHECK(ids.exit_code == 0);
    CHECK_THAT(ids.out, Catch::Contains(id));
    const auto names = desk.oncall({"__complete", "--", "silence", "checkout", "--alert", ""});
    CHECK(names.exit_code == 0);
    CHECK_THAT(names.out, Catch::Contains("HighErrorRatio"));
    CHECK_THAT(names.out, Catch::Contains("HighLatencyP99"));

    // Expire: state expired on both; the alerts notify again.
    const auto expired = desk.oncall({"silence", "expire", id});
    INFO(expired.out << expired.err);
    REQUIRE(expired.exit_code == 0);
    CHECK(desk.state_on(0, id) == "expired");
    CHECK(eventually([&] { return desk.state_on(1, id) == "expired"; }));
    const auto gone = desk.oncall({"__complete", "--", "silence", "expire", ""});
    CHECK_THAT(gone.out, !Catch::Contains(id));

    // The audit log: one line for the creation and one for the expiry, each preceded by its intent
    // (written before the request, tied to it by the attempt id).
    int created_lines = 0;
    int expired_lines = 0;
    for (const auto& line : desk.audit_lines()) {
        if (line.value("silence", "") != id) {
            continue;
        }
        CHECK(line.at("user") == out.at("created_by"));
        CHECK_THAT(line.at("reason").get<std::string>(),
                   Catch::Contains("rolling checkout back to 1.2.1"));
        CHECK(line.at("matchers").at(0).at("value") == "checkout");
        if (line.at("phase") == "result" && line.at("action") == "silence" &&
            line.at("result") == "created") {
            ++created_lines;
            CHECK(line.at("ticket") == "INC-4711");
        }
        if (line.at("phase") == "result" && line.at("action") == "silence-expire" &&
            line.at("result") == "expired") {
            ++expired_lines;
        }
    }
    CHECK(created_lines == 1);
    CHECK(expired_lines == 1);
    const auto lines = desk.audit_lines();
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].at("phase") == "intent");
    CHECK(lines[1].at("phase") == "result");
    CHECK(lines[0].at("attempt") == lines[1].at("attempt"));
    CHECK_FALSE(lines[0].contains("silence")); // written before Alertmanager gave the id
    CHECK(lines[0].at("matchers") == lines[1].at("matchers"));
    CHECK(lines[2].at("phase") == "intent");
    CHECK(lines[2].at("silence") == id);
    CHECK(lines[3].at("attempt") == lines[2].at("attempt"));
}

TEST_CASE("with the first instance down, the silence is created on the second") {
    Desk desk;
    const std::string run_dir = test::required_env("ONCALL_SANDBOX_STATE") + "/run";
    const std::string pid_file = run_dir + "/alertmanager.pid";
    const auto pid = std::stoi(split(test::read_text(pid_file), ' ').at(0));
    // Its command line, to start it again afterwards.
    std::string cmdline = test::read_text("/proc/" + std::to_string(pid) + "/cmdline");
    REQUIRE_FALSE(cmdline.empty());
    std::vector<std::string> argv = split(cmdline, '\0');
    REQUIRE(::kill(pid, SIGTERM) == 0);
    REQUIRE(eventually([&] { return desk.get(0, "/-/ready").first == 0; }));

    const auto r = desk.oncall({"silence", "checkout", "--for", "10m", "--reason",
                                "first instance down, rolling back", "-o", "json"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string id = json::parse(r.out).at("id");
    CHECK(json::parse(r.out).at("alertmanager") == desk.urls()[1]);
    CHECK_THAT(r.err, Catch::Contains(desk.urls()[0]));
    CHECK(desk.state_on(1, id) == "active");
    // Listing works with one instance down (and says so).
    const auto list = desk.oncall({"silence", "list", "checkout", "-o", "json"});
    CHECK(list.exit_code == 0);
    CHECK_THAT(list.out, Catch::Contains(id));

    // Start the first instance again, as the launcher did: it learns the silence from its peer.
    std::string command = "setsid";
    for (const auto& a : argv) {
        command += " '" + a + "'";
    }
    command += " >>'" + test::required_env("ONCALL_SANDBOX_STATE") +
               "/logs/alertmanager.log' 2>&1 </dev/null & echo \"$! " + argv.at(0) + "\" >'" +
               pid_file + "'";
    REQUIRE(test::run_process({"bash", "-c", command}).exit_code == 0);
    REQUIRE(
        eventually([&] { return desk.get(0, "/-/ready").first == 200; }, std::chrono::seconds(30)));
    CHECK(eventually([&] { return desk.state_on(0, id) == "active"; }, std::chrono::seconds(30)));
    // The sandbox's alerts live in each instance's memory: give the restarted one checkout's again.
    desk.post_alerts(json::parse(test::read_text(test::required_env("ONCALL_SANDBOX_STATE") +
                                                 "/alertmanager/initial-alerts.json")));
    expire(desk, id);
    CHECK(eventually([&] { return desk.state_on(0, id) == "expired"; }));
}

TEST_CASE("bad input is refused with its exit code and changes nothing in Alertmanager") {
    Desk desk;
    const auto before = desk.snapshot(0);
    struct Case {
        std::vector<std::string> args;
        int code;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{"silence", "checkout", "--for", "1h"}, 2, "--reason is required"},
        {{"silence", "checkout", "--for", "1h", "--reason", ""}, 2, "--reason is empty"},
        {{"silence", "checkout", "--for", "1h", "--reason", "   "}, 2, "--reason is empty"},
        {{"silence", "checkout", "--reason", "rolling back"}, 2, "--for is required"},
        {{"silence", "checkout", "--for", "0", "--reason", "rolling back"}, 2, "--for"},
        {{"silence", "checkout", "--for", "0s", "--reason", "rolling back"}, 2, "--for"},
        {{"silence", "checkout", "--for=-30m", "--reason", "rolling back"}, 2, "positive"},
        {{"silence", "checkout", "--for", "5h", "--reason", "rolling back"}, 2, "silences.max"},
        {{"silence", "checkout\"} ", "--for", "1h", "--reason", "rolling back"}, 2, "DNS-1123"},
        {{"silence", "checkout=~\".*\"", "--for", "1h", "--reason", "rolling back"}, 2, "DNS-1123"},
        {{"silence", "check\nout", "--for", "1h", "--reason", "rolling back"}, 2, "DNS-1123"},
        {{"silence", "{service=~\".+\"}", "--for", "1h", "--reason", "rolling back"},
         2,
         "DNS-1123"},
        {{"silence", "checkout", "--for", "1h", "--reason", "rolling back", "--alert",
          "HighErrorRatio\nX"},
         2,
         "line break"},
        {{"silence", "checkout", "--for", "1h", "--reason", "rolling back", "--alert", ""},
         2,
         "--alert is empty"},
        {{"silence", "checkout", "--for", "1h", "--reason", "two\nlines"}, 2, "one line"},
        {{"silence", "expire", "0a1b2c3d-0000-4000-8000-000000000000"}, 2, "no silence"},
        {{"silence", "expire", "not-an-id"}, 2, "not a silence id"},
    };
    for (const auto& c : cases) {
        const auto r = desk.oncall(c.args);
        INFO(c.args.at(1) << " " << (c.args.size() > 2 ? c.args.at(2) : "") << ": " << r.out
                          << r.err);
        CHECK(r.exit_code == c.code);
        CHECK_THAT(r.err, Catch::StartsWith("oncall: error: ") && Catch::Contains(c.says));
        CHECK(r.out.empty());
    }
    CHECK(desk.snapshot(0) == before);
    CHECK(desk.snapshot(1) == before);
    // Nothing was about to happen, so nothing was audited.
    CHECK_FALSE(std::ifstream(desk.state().path() + "/oncall/audit.jsonl").good());
}

TEST_CASE("alert names that try to widen the silence match only their literal value") {
    Desk desk;
    require_checkout_firing(desk);
    // Quotes, braces and =~ in one name: one literal equality matcher.
    const std::string tricky = "HighErrorRatio\"}, alertname=~\".*";
    const auto literal = create(desk, {"--alert", tricky});
    const auto s = desk.silence_on(0, literal);
    REQUIRE(s.at("matchers").size() == 2);
    CHECK(s.at("matchers")[1].at("value") == tricky);
    CHECK(s.at("matchers")[1].at("isRegex") == false);
    // Several names: one anchored regex whose metacharacters are escaped.
    const auto several = create(desk, {"--alert", "High.*", "--alert", "Pod(Crash)"});
    const auto t = desk.silence_on(0, several);
    CHECK(t.at("matchers")[1].at("value") == "High\\.\\*|Pod\\(Crash\\)");
    CHECK(t.at("matchers")[1].at("isRegex") == true);
    // Neither silences checkout's real alerts.
    for (const auto& a : desk.alerts_on(0, "checkout")) {
        const auto& by = a.at("status").at("silencedBy");
        CHECK(std::find(by.begin(), by.end(), literal) == by.end());
        CHECK(std::find(by.begin(), by.end(), several) == by.end());
    }
    // One real name silences exactly that alert.
    const auto one = create(desk, {"--alert", "HighLatencyP99"});
    CHECK(eventually([&] {
        for (const auto& a : desk.alerts_on(0, "checkout")) {
            const auto& by = a.at("status").at("silencedBy");
            const bool silenced = std::find(by.begin(), by.end(), one) != by.end();
            if (silenced != (a.at("labels").at("alertname") == "HighLatencyP99")) {
                return false;
            }
        }
        return true;
    }));
    for (const auto& id : {literal, several, one}) {
        expire(desk, id);
    }
}

TEST_CASE("Alertmanager down, answering HTML or refusing: exit 3, 3, 2/4 with its message") {
    Desk desk;
    const auto args = std::vector<std::string>{"silence", "checkout", "--for",
                                               "1h",      "--reason", "rolling back 1.2.2"};
    const auto with = [&](const std::string& section) {
        return std::map<std::string, std::string>{
            {"ONCALL_CONFIG", desk.config_with_alertmanager(section)}};
    };

    // Nobody listens: exit 3.
    test::TestServer closed;
    closed.start();
    const std::string closed_url = closed.url();
    closed.stop();
    auto down = desk.oncall(args, with("{ url: " + closed_url + " }"));
    INFO(down.err);
    CHECK(down.exit_code == 3);
    CHECK_THAT(down.err, Catch::Contains("oncall: error: ") && Catch::Contains(closed_url));
    auto down_list = desk.oncall({"silence", "list"}, with("{ url: " + closed_url + " }"));
    CHECK(down_list.exit_code == 3);

    // A proxy's HTML page with 200: exit 3, garbage named.
    test::TestServer html;
    html.on("POST", "/api/v2/silences",
            [](const httplib::Request&, httplib::Response& res, std::size_t) {
                res.status = 200;
                res.set_content("<html><body>Sign in</body></html>", "text/html");
            });
    html.start();
    auto garbage = desk.oncall(args, with("{ url: " + html.url() + " }"));
    CHECK(garbage.exit_code == 3);
    CHECK_THAT(garbage.err, Catch::Contains("garbage"));

    // Refusals carry Alertmanager's own message.
    test::TestServer refusing;
    refusing.on("POST", "/api/v2/silences",
                [](const httplib::Request&, httplib::Response& res, std::size_t) {
                    res.status = 400;
                    res.set_content(
                        "\"silence invalid: at least one matcher must not match the empty string\"",
                        "application/json");
                });
    refusing.on("DELETE", "/api/v2/silence/.*",
                [](const httplib::Request&, httplib::Response& res, std::size_t) {
                    res.status = 403;
                    res.set_content("\"forbidden by policy\"", "application/json");
                });
    refusing.on(
        "GET", "/api/v2/silence/.*",
        [](const httplib::Request&, httplib::Response& res, std::size_t) {
            res.status = 200;
            res.set_content(
                R"({"id":"0a1b2c3d-0000-4000-8000-000000000000","status":{"state":"active"},)"
                R"("matchers":[{"name":"service","value":"checkout","isRegex":false}],)"
                R"("startsAt":"2026-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z",)"
                R"("updatedAt":"2026-01-01T00:00:00Z","createdBy":"x","comment":"y"})",
                "application/json");
        });
    refusing.start();
    auto refused = desk.oncall(args, with("{ url: " + refusing.url() + " }"));
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err,
               Catch::Contains("at least one matcher must not match the empty string"));
    auto forbidden = desk.oncall({"silence", "expire", "0a1b2c3d-0000-4000-8000-000000000000"},
                                 with("{ url: " + refusing.url() + " }"));
    CHECK(forbidden.exit_code == 4);
    CHECK_THAT(forbidden.err, Catch::Contains("forbidden by policy"));
}

TEST_CASE("completion of silence ids and alert names stays within the TAB budget when Alertmanager "
          "hangs") {
    Desk desk;
    test::TestServer slow;
    slow.on("GET", "/api/v2/.*",
            [&slow](const httplib::Request&, httplib::Response& res, std::size_t) {
                slow.sleep(std::chrono::seconds(5));
                res.set_content("[]", "application/json");
            });
    slow.start();
    const std::map<std::string, std::string> env{
        {"ONCALL_CONFIG", desk.config_with_alertmanager("{ url: " + slow.url() + " }")}};
    for (const auto& words :
         {std::vector<std::string>{"__complete", "--", "silence", "expire", ""},
          std::vector<std::string>{"__complete", "--", "silence", "checkout", "--alert", ""}}) {
        const auto started = std::chrono::steady_clock::now();
        const auto r = desk.oncall(words, env);
        const auto took = std::chrono::steady_clock::now() - started;
        CHECK(r.exit_code == 0);
        CHECK(r.out.empty());
        CHECK(took < std::chrono::milliseconds(2000));
    }
    slow.stop();
}
