// request-access, access list|revoke and grant enforcement against the sandbox: the server (not
// only the client) refuses revoked, expired and foreign grants; caps create nothing; tokens never
// leak; kubectl sees the records.

#include "oncall/http/client.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <thread>

using namespace oncall;
using nlohmann::json;
using test::ProcessResult;

namespace {

constexpr const char* k_reason = "checkout 12% errors since revision 3, rolling back";

/// One engineer's machine: the sandbox's config and credentials, a private state directory.
class Workstation {
public:
    Workstation() : m_env(test::sandbox_env()) {
        m_env["XDG_STATE_HOME"] = m_state.path();
        m_env.erase("ONCALL_CONTEXT");
    }

    ProcessResult oncall(const std::vector<std::string>& args) const {
        test::ProcessOptions options;
        options.env = m_env;
        options.unset_env = {"ONCALL_CONTEXT", "NO_COLOR"};
        options.timeout = std::chrono::seconds(90);
        return test::run_oncall(args, options);
    }

    ProcessResult kubectl(const std::vector<std::string>& args) const {
        test::ProcessOptions options;
        options.env = m_env;
        std::vector<std::string> argv{"kubectl"};
        argv.insert(argv.end(), args.begin(), args.end());
        return test::run_process(argv, options);
    }

    std::string env(const std::string& key) const { return m_env.at(key); }
    void set_env(const std::string& key, const std::string& value) { m_env[key] = value; }
    std::string grants_dir() const { return m_state.path() + "/oncall/grants"; }
    std::string grant_file(const std::string& service) const {
        return grants_dir() + "/sandbox." + service + ".deployer.json";
    }
    std::string audit_file() const { return m_state.path() + "/oncall/audit.jsonl"; }
    json grant(const std::string& service) const {
        return json::parse(test::read_text(grant_file(service)));
    }
    std::string token_of(const std::string& service) const { return grant(service).at("token"); }
    std::string engineer_token() const {
        return test::trimmed(test::read_text(m_env.at("ONCALL_K8S_TOKEN_FILE")));
    }
    const test::TempDir& state() const { return m_state; }

    /// Sends one request to the sandbox's API server with `token`; returns the HTTP status.
    long api(http::Method method, const std::string& path, const std::string& token,
             const std::string& body = {}, const std::string& content_type = {}) const {
        http::ClientOptions options;
        options.tls.ca_file = m_env.at("ONCALL_SANDBOX_CA");
        options.retry = http::RetryPolicy::none();
        http::Client client(options);
        http::Request request;
        request.method = method;
        request.url = m_env.at("ONCALL_SANDBOX_URL") + path;
        request.bearer_token = token;
        request.body = body;
        if (!content_type.empty()) {
            request.headers.push_back({"Content-Type", content_type});
        }
        auto response = client.perform(request);
        REQUIRE(response);
        return response->status;
    }

    /// A server-side dry-run patch of a Deployment with `token`: 200 allowed, 401/403 refused.
    long try_patch(const std::string& deployment, const std::string& token) const {
        return api(http::Method::patch,
                   "/apis/apps/v1/namespaces/shop/deployments/" + deployment + "?dryRun=All", token,
                   R"({"metadata":{"annotations":{"oncall.dev/probe":"1"}}})",
                   "application/merge-patch+json");
    }

    /// Names of the Secrets in namespace shop (read with the engineer's token).
    std::set<std::string> secret_names() const {
        http::ClientOptions options;
        options.tls.ca_file = m_env.at("ONCALL_SANDBOX_CA");
        http::Client client(options);
        http::Request request;
        request.url = m_env.at("ONCALL_SANDBOX_URL") + "/api/v1/namespaces/shop/secrets";
        request.bearer_token = engineer_token();
        auto response = client.perform(request);
        REQUIRE(response);
        REQUIRE(response->status == 200);
        std::set<std::string> names;
        const json list = json::parse(response->body);
        for (const auto& item : list.at("items")) {
            names.insert(item.at("metadata").at("name").get<std::string>());
        }
        return names;
    }

    ProcessResult request_access(const std::string& service, const std::string& duration,
                                 std::vector<std::string> extra = {}) const {
        std::vector<std::string> args{"request-access", service,   "--role",   "deployer",
                                      "--for",          duration,  "--reason", k_reason,
                                      "--ticket",       "INC-4711"};
        args.insert(args.end(), extra.begin(), extra.end());
        return oncall(args);
    }

    /// A revision of `service` that is not the current one (read with `oncall history`).
    int other_revision(const std::string& service) const {
        auto history = oncall({"history", service, "-o", "json"});
        INFO(history.err);
        REQUIRE(history.exit_code == 0);
        const json doc = json::parse(history.out);
        for (const auto& r : doc.at("revisions")) {
            if (!r.at("current").get<bool>()) {
                return r.at("revision").get<int>();
            }
        }
        FAIL("no revision other than the current one");
        return 0;
    }

    ProcessResult rollback(const std::string& service, int revision,
                           std::vector<std::string> extra = {}) const {
        std::vector<std::string> args{
            "rollback", service,     "--to-revision", std::to_string(revision),
            "--yes",    "--no-wait", "--no-verify",   "--reason",
            k_reason};
        args.insert(args.end(), extra.begin(), extra.end());
        return oncall(args);
    }

private:
    test::TempDir m_state;
    std::map<std::string, std::string> m_env;
};

std::string request_line(const std::string& service) {
    return "oncall request-access " + service + " --role deployer --for 30m --reason \"...\"";
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// Rewrites a grant file (keeping it 0600), e.g. to put back a revoked grant.
void write_grant(const std::string& path, const json& grant) {
    std::ofstream out(path, std::ios::trunc);
    out << grant.dump(2);
    out.close();
    std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                           std::filesystem::perms::owner_write);
}

} // namespace

// Runs first, while checkout still runs its bad revision 3.
TEST_CASE("triage recommends request-access before the rollback only while no grant is active") {
    Workstation ws;
    auto commands_of = [&](const Workstation& w) {
        auto r = w.oncall({"triage", "checkout", "-o", "json"});
        INFO(r.err);
        CHECK(r.exit_code == 8);
        std::vector<std::string> commands;
        const json doc = json::parse(r.out);
        for (const auto& rec : doc.at("recommendations")) {
            commands.push_back(rec.at("command"));
        }
        return commands;
    };
    auto index_of = [](const std::vector<std::string>& commands, const std::string& prefix) {
        for (std::size_t i = 0; i < commands.size(); ++i) {
            if (commands[i].rfind(prefix, 0) == 0) {
                return static_cast<long>(i);
            }
        }
        return -1L;
    };

    // Right after start-up Prometheus may not have scraped enough to name a suspect; wait until
    // triage recommends a rollback at all (a readiness wait, not a timed assertion).
    auto without = commands_of(ws);
    for (int i = 0; i < 60 && index_of(without, "oncall rollback checkout") < 0; ++i) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        without = commands_of(ws);
    }
    INFO("recommendations: " << json(without).dump());
    const long ask = index_of(without, request_line("checkout"));
    const long rollback = index_of(without, "oncall rollback checkout");
    REQUIRE(ask >= 0);
    REQUIRE(rollback >= 0);
    CHECK(ask < rollback);

    REQUIRE(ws.request_access("checkout", "10m").exit_code == 0);
    const auto with = commands_of(ws);
    CHECK(index_of(with, "oncall request-access") == -1);
    CHECK(index_of(with, "oncall rollback checkout") >= 0);
    REQUIRE(ws.oncall({"access", "revoke", "checkout"}).exit_code == 0);

    // Grants not required: nothing to ask for.
    Workstation open;
    open.set_env("ONCALL_CONFIG",
                 open.state().write("config.yaml",
                                    std::regex_replace(test::read_text(open.env("ONCALL_CONFIG")),
                                                       std::regex("require-grant: true"),
                                                       "require-grant: false")));
    const auto not_required = commands_of(open);
    CHECK(index_of(not_required, "oncall request-access") == -1);
    CHECK(index_of(not_required, "oncall rollback checkout") >= 0);
}

TEST_CASE("a grant lets a rollback through, once revoked the server refuses the same rollback") {
    Workstation ws;
    const int target = ws.other_revision("checkout");
    // Without a grant the client refuses before writing, naming the command to run.
    auto none = ws.rollback("checkout", target);
    CHECK(none.exit_code == 4);
    CHECK_THAT(none.err, Catch::Contains(request_line("checkout")));

    auto granted = ws.request_access("checkout", "10m", {"-o", "json"});
    INFO(granted.err);
    REQUIRE(granted.exit_code == 0);
    const json g = json::parse(granted.out);
    CHECK(g.at("service") == "checkout");
    CHECK(g.at("role") == "deployer");
    CHECK(g.at("reason") == k_reason);
    CHECK(g.at("ticket") == "INC-4711");
    const std::string id = g.at("grant");
    CHECK(ws.secret_names().count("oncall-grant-" + id) == 1);
    const json saved = ws.grant("checkout");
    const std::string token = saved.at("token");
    CHECK(ws.try_patch("checkout", token) == 200);

    // Revoked: the client has no grant any more...
    auto revoked = ws.oncall({"access", "revoke", "checkout"});
    INFO(revoked.err);
    REQUIRE(revoked.exit_code == 0);
    CHECK_THAT(revoked.out, Catch::Contains("oncall-grant-" + id));
    CHECK(ws.secret_names().count("oncall-grant-" + id) == 0);
    CHECK_FALSE(std::filesystem::exists(ws.grant_file("checkout")));
    auto client_refused = ws.rollback("checkout", target);
    CHECK(client_refused.exit_code == 4);
    CHECK_THAT(client_refused.err, Catch::Contains(request_line("checkout")));

    // ...and the server no longer accepts the token: used directly, and by oncall when the
    // revoked grant is put back on disk.
    CHECK(ws.try_patch("checkout", token) == 401);
    write_grant(ws.grant_file("checkout"), saved);
    auto server_refused = ws.rollback("checkout", target);
    CHECK(server_refused.exit_code == 4);
    CHECK_THAT(server_refused.err, Catch::Contains("refused"));
    CHECK_THAT(server_refused.err, Catch::Contains(request_line("checkout")));
    REQUIRE(std::filesystem::remove(ws.grant_file("checkout")));

    // A fresh grant lets exactly the same rollback through.
    REQUIRE(ws.request_access("checkout", "10m").exit_code == 0);
    auto done = ws.rollback("checkout", target);
    INFO(done.err);
    CHECK(done.exit_code == 0);
    CHECK_THAT(done.out + done.err, !Catch::Contains(ws.token_of("checkout")));
}

TEST_CASE("after expiry the client and the server both refuse the grant") {
    Workstation ws;
    const int target = ws.other_revision("checkout");
    auto granted = ws.request_access("checkout", "2s");
    INFO(granted.err);
    REQUIRE(granted.exit_code == 0);
    const json saved = ws.grant("checkout");
    const std::string token = saved.at("token");
    CHECK(ws.try_patch("checkout", token) == 200);

    // Wait (not a timed assertion) until the grant has certainly expired.
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));

    auto listed = ws.oncall({"access", "list", "-o", "json"});
    REQUIRE(listed.exit_code == 0);
    const json grants = json::parse(listed.out).at("grants");
    REQUIRE(grants.size() == 1);
    CHECK(grants[0].at("expired") == true);
    auto text = ws.oncall({"access", "list"});
    CHECK_THAT(text.out, Catch::Contains("expired"));

    auto client_refused = ws.rollback("checkout", target);
    CHECK(client_refused.exit_code == 4);
    CHECK_THAT(client_refused.err, Catch::Contains("expired"));
    CHECK_THAT(client_refused.err, Catch::Contains(request_line("checkout")));

    // The server refuses the token on its own: directly, and when the local expiry is pushed out.
    CHECK(ws.try_patch("checkout", token) == 401);
    json tampered = saved;
    tampered["expires_at"] = "2099-01-01T00:00:00Z";
    write_grant(ws.grant_file("checkout"), tampered);
    auto server_refused = ws.rollback("checkout", target);
    CHECK(server_refused.exit_code == 4);
    CHECK_THAT(server_refused.err, Catch::Contains(request_line("checkout")));
}

TEST_CASE("asking again for the same service replaces the grant and revokes the old token") {
    Workstation ws;
    auto first = ws.request_access("payments", "10m", {"-o", "json"});
    REQUIRE(first.exit_code == 0);
    const std::string first_id = json::parse(first.out).at("grant");
    const std::string first_token = ws.token_of("payments");
    auto second = ws.request_access("payments", "10m", {"-o", "json"});
    INFO(second.err);
    REQUIRE(second.exit_code == 0);
    const std::string second_id = json::parse(second.out).at("grant");
    CHECK(second_id != first_id);
    CHECK_THAT(second.err, Catch::Contains("replaced your earlier deployer grant " + first_id));
    const auto names = ws.secret_names();
    CHECK(names.count("oncall-grant-" + first_id) == 0);
    CHECK(names.count("oncall-grant-" + second_id) == 1);
    CHECK(ws.try_patch("payments", first_token) == 401);
    CHECK(ws.try_patch("payments", ws.token_of("payments")) == 200);
    REQUIRE(ws.oncall({"access", "revoke", "payments"}).exit_code == 0);
}

TEST_CASE("a grant with under 5 minutes left warns before the plan") {
    Workstation ws;
    const int target = ws.other_revision("checkout");
    REQUIRE(ws.request_access("checkout", "4m").exit_code == 0);
    // -o json sends the plan to stderr too, so the order of the two is visible.
    auto dry = ws.rollback("checkout", target, {"--dry-run", "-o", "json"});
    INFO(dry.err);
    CHECK(dry.exit_code == 0);
    const auto warning = dry.err.find("warning: the deployer grant for checkout expires in");
    const auto plan = dry.err.find("rollback checkout (deployment");
    REQUIRE(warning != std::string::npos);
    REQUIRE(plan != std::string::npos);
    CHECK(warning < plan);
    CHECK_THAT(dry.err, Catch::Contains("oncall request-access checkout --role deployer"));
    CHECK(json::parse(dry.out).at("result") == "dry-run");
    REQUIRE(ws.oncall({"access", "revoke", "checkout"}).exit_code == 0);
}

TEST_CASE("redeploy needs the grant too, and writes with it") {
    Workstation ws;
    auto refused = ws.oncall({"redeploy", "payments", "--yes", "--no-wait", "--reason", k_reason});
    CHECK(refused.exit_code == 4);
    CHECK_THAT(refused.err, Catch::Contains(request_line("payments")));
    REQUIRE(ws.request_access("payments", "10m").exit_code == 0);
    auto done =
        ws.oncall({"redeploy", "payments", "--yes", "--no-wait", "--reason", k_reason, "-v"});
    INFO(done.err);
    CHECK(done.exit_code == 0);
    CHECK_THAT(done.err, Catch::Contains("PATCH"));
    CHECK_THAT(done.out + done.err, !Catch::Contains(ws.token_of("payments")));
    const std::string audit = test::read_text(ws.audit_file());
    CHECK_THAT(audit, Catch::Contains("\"grant\":\"" +
                                      ws.grant("payments").at("grant").get<std::string>() + "\""));
    REQUIRE(ws.oncall({"access", "revoke", "payments"}).exit_code == 0);
}

TEST_CASE("durations over the role's max or the service account's cap create nothing") {
    Workstation ws;
    const auto before = ws.secret_names();

    auto over_role = ws.request_access("checkout", "2h");
    CHECK(over_role.exit_code == 2);
    CHECK_THAT(over_role.err, Catch::Contains("maximum of 1h"));

    // A configuration that allows 3h still meets the service account's 1h annotation.
    const std::string config = ws.state().write(
        "config.yaml", std::regex_replace(test::read_text(ws.env("ONCALL_CONFIG")),
                                          std::regex("service-account: oncall-deployer, max: 1h"),
                                          "service-account: oncall-deployer, max: 3h"));
    ws.set_env("ONCALL_CONFIG", config);
    auto over_account = ws.request_access("checkout", "90m");
    CHECK(over_account.exit_code == 2);
    CHECK_THAT(over_account.err, Catch::Contains("cap of 1h"));
    CHECK_THAT(over_account.err, Catch::Contains("shop/oncall-deployer"));
    CHECK_THAT(over_account.err, Catch::Contains("oncall.dev/max-duration"));

    auto trivial = ws.oncall(
        {"request-access", "checkout", "--role", "deployer", "--for", "10m", "--reason", "fix"});
    CHECK(trivial.exit_code == 2);
    auto unknown = ws.oncall(
        {"request-access", "checkout", "--role", "admin", "--for", "10m", "--reason", k_reason});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("deployer, triage"));

    CHECK(ws.secret_names() == before);
    CHECK_FALSE(std::filesystem::exists(ws.grants_dir()));
}

TEST_CASE("a step the server refuses after the grant Secret exists leaves nothing behind") {
    Workstation ws;
    const auto before = ws.secret_names();
    // A role whose service account the engineer may not mint tokens for: the Secret is created,
    // the TokenRequest is refused (403), and the Secret is deleted again.
    std::string config = test::read_text(ws.env("ONCALL_CONFIG"));
    config = std::regex_replace(config, std::regex("(\\n *)triage: \\{"),
                                "$1ops: { service-account: default, max: 1h }$1triage: {");
    ws.set_env("ONCALL_CONFIG", ws.state().write("config.yaml", config));
    auto refused = ws.oncall(
        {"request-access", "checkout", "--role", "ops", "--for", "10m", "--reason", k_reason});
    CHECK(refused.exit_code == 4);
    CHECK_THAT(refused.err, Catch::Contains("shop/default"));
    CHECK_THAT(refused.err, Catch::Contains("deleted again"));
    CHECK(ws.secret_names() == before);
    CHECK_FALSE(std::filesystem::exists(ws.grants_dir() + "/sandbox.checkout.ops.json"));
}

TEST_CASE("a grant for checkout does not reach payments, on the server or in the client") {
    Workstation ws;
    REQUIRE(ws.request_access("checkout", "10m").exit_code == 0);
    const std::string token = ws.token_of("checkout");
    CHECK(ws.try_patch("checkout", token) == 200);
    CHECK(ws.try_patch("payments", token) == 403);

    auto refused = ws.rollback("payments", 1, {"-v"});
    CHECK(refused.exit_code == 4);
    CHECK_THAT(refused.err, Catch::Contains(request_line("payments")));
    CHECK_THAT(refused.err, !Catch::Contains("PATCH"));
    CHECK_THAT(refused.err, !Catch::Contains(token));
}

TEST_CASE("the token never shows, and the grant files stay private") {
    Workstation ws;
    auto granted = ws.request_access("checkout", "10m", {"-v"});
    INFO(granted.err);
    REQUIRE(granted.exit_code == 0);
    CHECK_THAT(granted.out, Catch::Contains("deployer"));
    CHECK_THAT(granted.out, Catch::Contains("UTC"));
    CHECK_THAT(granted.out, Catch::Contains("oncall rollback checkout"));
    const std::string token = ws.token_of("checkout");
    REQUIRE(token.size() > 20);

    auto json_out = ws.request_access("payments", "10m", {"-o", "json", "-v"});
    REQUIRE(json_out.exit_code == 0);
    const json j = json::parse(json_out.out);
    for (const char* key : {"service", "role", "expires_at", "grant", "reason", "ticket"}) {
        CHECK(j.contains(key));
    }
    const std::string payments_token = ws.token_of("payments");

    auto listed = ws.oncall({"access", "list", "-o", "json", "-v"});
    REQUIRE(listed.exit_code == 0);
    const json grants = json::parse(listed.out).at("grants");
    CHECK(grants.size() == 2);
    for (const auto& g : grants) {
        for (const char* key : {"service", "role", "expires_at", "expired", "grant"}) {
            CHECK(g.contains(key));
        }
        CHECK(g.at("expired") == false);
    }
    auto view = ws.oncall({"config", "view"});
    auto revoke = ws.oncall({"access", "revoke", "payments", "-v"});
    REQUIRE(revoke.exit_code == 0);

    const std::string audit = test::read_text(ws.audit_file());
    CHECK_THAT(audit, Catch::Contains("request-access"));
    CHECK_THAT(audit, Catch::Contains("revoke-access"));
    for (const auto& t : {token, payments_token}) {
        for (const auto& text : {granted.out, granted.err, json_out.out, json_out.err, listed.out,
                                 listed.err, view.out, view.err, revoke.out, revoke.err, audit,
                                 test::read_text(ws.env("ONCALL_CONFIG"))}) {
            CHECK(text.find(t) == std::string::npos);
        }
    }

    CHECK(mode_of(ws.grants_dir()) == 0700);
    CHECK(mode_of(ws.grant_file("checkout")) == 0600);

    std::filesystem::permissions(ws.grant_file("checkout"),
                                 std::filesystem::perms::group_read |
                                     std::filesystem::perms::others_read,
                                 std::filesystem::perm_options::add);
    auto loose = ws.oncall({"access", "list"});
    CHECK(loose.exit_code == 4);
    CHECK_THAT(loose.err, Catch::Contains(ws.grant_file("checkout")));
    CHECK_THAT(loose.err, Catch::Contains("chmod 600 " + ws.grant_file("checkout")));
    auto loose_rollback = ws.rollback("checkout", 2);
    CHECK(loose_rollback.exit_code == 4);
    CHECK_THAT(loose_rollback.err, Catch::Contains("chmod 600"));
}

TEST_CASE("kubectl's tokens are not oncall grants, and oncall's grant records show in kubectl") {
    Workstation ws;
    auto minted =
        ws.kubectl({"create", "token", "oncall-deployer", "-n", "shop", "--duration=10m"});
    INFO(minted.err);
    REQUIRE(minted.exit_code == 0);
    const std::string kubectl_token = test::trimmed(minted.out);
    CHECK(ws.try_patch("checkout", kubectl_token) == 200);

    auto listed = ws.oncall({"access", "list", "-o", "json"});
    REQUIRE(listed.exit_code == 0);
    CHECK(json::parse(listed.out).at("grants").empty());
    auto refused = ws.rollback("checkout", 1);
    CHECK(refused.exit_code == 4);
    CHECK_THAT(refused.err, Catch::Contains(request_line("checkout")));

    auto granted = ws.request_access("checkout", "10m", {"-o", "json"});
    REQUIRE(granted.exit_code == 0);
    const std::string id = json::parse(granted.out).at("grant");
    auto secrets = ws.kubectl({"get", "secrets", "-n", "shop"});
    INFO(secrets.err);
    REQUIRE(secrets.exit_code == 0);
    CHECK_THAT(secrets.out, Catch::Contains("oncall-grant-" + id));
    auto events = ws.kubectl({"get", "events", "-n", "shop"});
    INFO(events.err);
    REQUIRE(events.exit_code == 0);
    CHECK_THAT(events.out, Catch::Contains("AccessGranted"));
    CHECK_THAT(events.out, Catch::Contains("oncall-grant-" + id));
    REQUIRE(ws.oncall({"access", "revoke", "checkout"}).exit_code == 0);
}
