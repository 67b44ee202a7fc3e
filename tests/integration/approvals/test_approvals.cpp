// Two-person access against the sandbox with two identities: the engineers' token (requester) and
// the approvers' token. Real kubectl is the fidelity oracle for the sandbox's CSR API. The cluster
// enforces every step: the requester cannot approve or mint for approval-required roles (403),
// nobody approves their own request, the token travels only as a box sealed to the requester's
// key, and break-glass is loud (Warning Event, audit, webhook) but never blocked by the webhook.

#include "fault_proxy.h"
#include "oncall/core/time.h"
#include "oncall/http/client.h"
#include "oncall/ops/grant_request.h"
#include "oncall/ops/grants.h"
#include "process.h"
#include "test_server.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <thread>

using namespace oncall;
using nlohmann::json;
using test::ProcessResult;

namespace {

constexpr const char* k_reason = "checkout 12% errors since revision 3, rolling back";
constexpr const char* k_glass_reason = "checkout down at 3am, no approver answers the page";

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// Every file under `dir`, concatenated (for leak checks).
std::string all_files(const std::string& dir) {
    std::string out;
    if (!std::filesystem::exists(dir)) {
        return out;
    }
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        if (e.is_regular_file()) {
            out += test::read_text(e.path().string());
        }
    }
    return out;
}

/// One person's machine: their own token, state directory and configuration (deployer needs
/// approval, breakglass is break-glass, notifications go to $ONCALL_TEST_WEBHOOK).
class Person {
public:
    /// `server`: the API server URL in the configuration (default: the practice cluster's).
    explicit Person(const std::string& token_file_var, const std::string& server = {})
        : m_env(test::sandbox_env()) {
        m_env["XDG_STATE_HOME"] = m_state.path();
        m_token_file = m_env.at(token_file_var);
        const std::string config = fmt::format(
            R"(current-context: sandbox
contexts:
  sandbox:
    kubernetes:
      server: {}
      namespace: shop
      token-file: {}
      ca-file: {}
    prometheus: {{ url: {} }}
    alertmanager: {{ url: {} }}
    registry: {{ url: {} }}
    access:
      require-grant: true
      approval-timeout: 15m
      roles:
        deployer: {{ service-account: oncall-deployer, max: 1h, approval: required }}
        triage: {{ service-account: oncall-triage, max: 8h }}
        breakglass: {{ service-account: oncall-breakglass, max: 30m, break-glass: true }}
      notify: {{ webhook-url-env: ONCALL_TEST_WEBHOOK }}
)",
            server.empty() ? m_env.at("ONCALL_SANDBOX_URL") : server, m_token_file,
            m_env.at("ONCALL_SANDBOX_CA"), m_env.at("PROMETHEUS_URL"), m_env.at("ALERTMANAGER_URL"),
            m_env.at("REGISTRY_URL"));
        m_env["ONCALL_CONFIG"] = m_state.write("config.yaml", config);
        m_env.erase("ONCALL_CONTEXT");
    }

    ProcessResult oncall(const std::vector<std::string>& args) const {
        test::ProcessOptions options;
        options.env = m_env;
        options.unset_env = {"ONCALL_CONTEXT", "NO_COLOR"};
        if (m_env.count("ONCALL_TEST_WEBHOOK") == 0) {
            options.unset_env.push_back("ONCALL_TEST_WEBHOOK");
        }
        options.timeout = std::chrono::seconds(90);
        return test::run_oncall(args, options);
    }

    std::future<ProcessResult> oncall_async(const std::vector<std::string>& args) const {
        return std::async(std::launch::async, [this, args] { return oncall(args); });
    }

    ProcessResult kubectl(std::vector<std::string> args) const {
        test::ProcessOptions options;
        options.env = m_env;
        std::vector<std::string> argv{"kubectl", "--token", token()};
        argv.insert(argv.end(), args.begin(), args.end());
        return test::run_process(argv, options);
    }

    std::string token() const { return test::trimmed(test::read_text(m_token_file)); }
    std::string env(const std::string& key) const { return m_env.at(key); }
    void set_env(const std::string& key, const std::string& value) { m_env[key] = value; }
    std::string state_dir() const { return m_state.path() + "/oncall"; }
    std::string grant_file(const std::string& service, const std::string& role = "deployer") const {
        return state_dir() + "/grants/sandbox." + service + "." + role + ".json";
    }
    std::string request_file(const std::string& id) const {
        return state_dir() + "/grants/requests/" + id + ".request";
    }
    std::string audit() const { return test::read_text(state_dir() + "/audit.jsonl"); }
    std::vector<json> audit_lines() const {
        std::vector<json> lines;
        std::istringstream in(audit());
        for (std::string line; std::getline(in, line);) {
            lines.push_back(json::parse(line));
        }
        return lines;
    }

    /// One API request with this person's token (or `token`); returns status and body.
    std::pair<long, std::string> api(http::Method method, const std::string& path,
                                     const std::string& body = {},
                                     const std::string& content_type = "application/json",
                                     std::optional<std::string> token = std::nullopt) const {
        http::ClientOptions options;
        options.tls.ca_file = m_env.at("ONCALL_SANDBOX_CA");
        options.retry = http::RetryPolicy::none();
        http::Client client(options);
        http::Request request;
        request.method = method;
        request.url = m_env.at("ONCALL_SANDBOX_URL") + path;
        request.bearer_token = token ? *token : this->token();
        request.body = body;
        if (!body.empty()) {
            request.headers.push_back({"Content-Type", content_type});
        }
        auto response = client.perform(request);
        REQUIRE(response);
        return {response->status, response->body};
    }

    json get(const std::string& path) const {
        auto [status, body] = api(http::Method::get, path);
        INFO(body);
        REQUIRE(status == 200);
        return json::parse(body);
    }

    std::set<std::string> secret_names() const {
        std::set<std::string> names;
        const json list = get("/api/v1/namespaces/shop/secrets"); // the loop must not outlive it
        for (const auto& item : list.at("items")) {
            names.insert(item.at("metadata").at("name").get<std::string>());
        }
        return names;
    }

    /// request-access for deployer on checkout (extra flags appended).
    ProcessResult request(std::vector<std::string> extra,
                          const std::string& duration = "30m") const {
        std::vector<std::string> args{"request-access", "checkout", "--role",   "deployer",
                                      "--for",          duration,   "--reason", k_reason,
                                      "--ticket",       "INC-4711"};
        args.insert(args.end(), extra.begin(), extra.end());
        return oncall(args);
    }

    /// Files a request without waiting; returns its grant id.
    std::string file_request(const std::string& duration = "30m") const {
        auto r = request({"--no-wait", "-o", "json"}, duration);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const json doc = json::parse(r.out);
        CHECK(doc.at("state") == "pending");
        CHECK(doc.at("approver").is_null());
        return doc.at("grant");
    }

private:
    test::TempDir m_state;
    std::map<std::string, std::string> m_env;
    std::string m_token_file;
};

Person engineer() {
    return Person("ONCALL_K8S_TOKEN_FILE");
}
Person approver() {
    return Person("ONCALL_APPROVER_TOKEN_FILE");
}

std::string csr_path(const std::string& id) {
    return "/apis/certificates.k8s.io/v1/certificatesigningrequests/oncall-grant-" + id;
}

// Waits (bounded) until a pending grant CSR other than those in `known` exists; returns its id.
std::string wait_for_new_request(const Person& who, const std::set<std::string>& known) {
    for (int i = 0; i < 300; ++i) {
        const json list = who.get("/apis/certificates.k8s.io/v1/certificatesigningrequests");
        for (const auto& item : list.at("items")) {
            const std::string name = item.at("metadata").at("name");
            if (name.rfind("oncall-grant-", 0) == 0 && known.count(name) == 0) {
                return name.substr(13);
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("no new access request appeared");
    return {};
}

std::set<std::string> csr_names(const Person& who) {
    std::set<std::string> names;
    const json list = who.get("/apis/certificates.k8s.io/v1/certificatesigningrequests");
    for (const auto& item : list.at("items")) {
        names.insert(item.at("metadata").at("name").get<std::string>());
    }
    return names;
}

int other_revision(const Person& p) {
    auto history = p.oncall({"history", "checkout", "-o", "json"});
    INFO(history.err << history.out);
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

// POSTs a CSR whose PEM request is `pem` (signer oncall.dev/access-grant) as the engineer.
void post_raw_csr(const Person& who, const std::string& name, const std::string& pem) {
    const json body = {{"apiVersion", "certificates.k8s.io/v1"},
                       {"kind", "CertificateSigningRequest"},
                       {"metadata", {{"name", name}}},
                       {"spec",
                        {{"request", ops::base64_encode(pem)},
                         {"signerName", "oncall.dev/access-grant"},
                         {"usages", json::array({"digital signature"})}}}};
    auto [status, text] = who.api(
        http::Method::post, "/apis/certificates.k8s.io/v1/certificatesigningrequests", body.dump());
    INFO(text);
    REQUIRE(status == 201);
}

// A PEM CSR made with the openssl command line (any key, any SAN).
std::string openssl_csr(const test::TempDir& dir, const std::string& algorithm,
                        const std::string& cn, const std::string& san) {
    const std::string key = dir.path() + "/" + cn + ".key";
    std::vector<std::string> genkey{"openssl", "genpkey", "-algorithm", algorithm, "-out", key};
    if (algorithm == "EC") {
        genkey.insert(genkey.end(), {"-pkeyopt", "ec_paramgen_curve:P-256"});
    }
    REQUIRE(test::run_process(genkey).exit_code == 0);
    auto req = test::run_process({"openssl", "req", "-new", "-key", key, "-subj", "/CN=" + cn,
                                  "-addext", "subjectAltName=URI:" + san});
    INFO(req.err);
    REQUIRE(req.exit_code == 0);
    return req.out;
}

} // namespace

TEST_CASE("kubectl get csr lists a pending request, kubectl certificate deny ends the waiting "
          "requester with exit 4") {
    const Person alice = engineer();
    const Person bob = approver();
    const auto known = csr_names(alice);
    auto waiting = alice.oncall_async({"request-access", "checkout", "--role", "deployer", "--for",
                                       "30m", "--reason", k_reason, "--wait", "60s"});
    const std::string id = wait_for_new_request(alice, known);

    auto listed = alice.kubectl({"get", "csr"});
    INFO(listed.err);
    REQUIRE(listed.exit_code == 0);
    CHECK_THAT(listed.out, Catch::Contains("SIGNERNAME"));
    CHECK_THAT(listed.out, Catch::Contains("oncall-grant-" + id));
    CHECK_THAT(listed.out, Catch::Contains("oncall.dev/access-grant"));
    CHECK_THAT(listed.out, Catch::Contains("Pending"));
    // spec.username is the caller the server authenticated, not anything oncall wrote.
    const json csr = alice.get(csr_path(id));
    const std::string alice_name =
        json::parse(alice.oncall({"access", "pending", "-o", "json"}).out)
            .at("requests")
            .back()
            .at("requester");
    CHECK(csr.at("spec").at("username") == alice_name);
    CHECK(csr.at("spec").at("groups").dump().find("oncall:engineers") != std::string::npos);

    auto denied = bob.kubectl({"certificate", "deny", "oncall-grant-" + id});
    INFO(denied.err);
    REQUIRE(denied.exit_code == 0);
    const auto result = waiting.get();
    INFO(result.out << result.err);
    CHECK(result.exit_code == 4);
    CHECK_THAT(result.err, Catch::Contains("was denied"));
    CHECK_THAT(result.out, Catch::Contains("oncall access approve " + id + " --context sandbox"));
    CHECK_FALSE(std::filesystem::exists(alice.grant_file("checkout")));
    CHECK_FALSE(std::filesystem::exists(alice.request_file(id)));
    const auto secrets_after = alice.secret_names();
    CHECK(secrets_after.count("oncall-grant-" + id) == 0);
    auto after = alice.kubectl({"get", "csr", "oncall-grant-" + id});
    CHECK_THAT(after.out, Catch::Contains("Denied"));
}

TEST_CASE("a failure after the approval tells the approver the request stays approved without a "
          "token") {
    const Person alice = engineer();
    // The approver's API server answers 403 to the TokenRequest only: approving works, minting
    // does not (an approver role missing create on serviceaccounts/token).
    test::FaultProxy api(
        test::FaultProxy::Options{alice.env("ONCALL_SANDBOX_URL"), alice.env("ONCALL_SANDBOX_CA")});
    test::FaultSettings refuse_tokens;
    refuse_tokens.mode = test::FaultMode::body;
    refuse_tokens.body_status = 403;
    refuse_tokens.body =
        R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"serviceaccounts \"oncall-deployer\" is forbidden: User \"bob\" cannot create resource \"serviceaccounts/token\""})";
    refuse_tokens.only_method = "POST";
    refuse_tokens.only_path = "/token";
    api.set(refuse_tokens);
    const Person bob("ONCALL_APPROVER_TOKEN_FILE", api.url());
    const std::string id = alice.file_request();

    auto r = bob.oncall({"access", "approve", id});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Catch::Contains("stays approved without a token") &&
                          Catch::Contains("they ask again"));
    CHECK_THAT(alice.kubectl({"get", "csr", "oncall-grant-" + id}).out,
               Catch::Contains("Approved"));
    // The Secret made before the refusal is taken back, and the audit line says failed.
    CHECK(alice.secret_names().count("oncall-grant-" + id) == 0);
    const auto lines = bob.audit_lines();
    REQUIRE_FALSE(lines.empty());
    CHECK(lines.back().at("result") == "failed");
}

TEST_CASE("kubectl certificate approve issues no token: the requester is told and waits until its "
          "deadline") {
    const Person alice = engineer();
    const Person bob = approver();
    const std::string id = alice.file_request();
    auto approved = bob.kubectl({"certificate", "approve", "oncall-grant-" + id});
    INFO(approved.err);
    REQUIRE(approved.exit_code == 0);
    CHECK_THAT(alice.kubectl({"get", "csr", "oncall-grant-" + id}).out,
               Catch::Contains("Approved"));

    const auto started = std::chrono::steady_clock::now();
    auto waited = alice.oncall({"access", "wait", id, "--wait", "2s"});
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(waited.out << waited.err);
    CHECK(waited.exit_code == 6);
    CHECK_THAT(
        waited.err,
        Catch::Contains("approved, but no token was issued: approve with oncall access approve"));
    CHECK(took >=
          std::chrono::seconds(2)); // it kept waiting for the grant Secret until the deadline
    CHECK_FALSE(std::filesystem::exists(alice.grant_file("checkout")));
    // The request stays approved-without-token: oncall does not approve it a second time.
    auto again = bob.oncall({"access", "approve", id});
    CHECK(again.exit_code == 5);
    CHECK_THAT(again.err, Catch::Contains("already approved"));
}

TEST_CASE("two people: request, pending, approve, the requester's grant works, revokes, and "
          "expires on the server") {
    const Person alice = engineer();
    const Person bob = approver();
    const int target = other_revision(alice);
    const std::string id = alice.file_request();
    CHECK(mode_of(alice.request_file(id)) == 0600);
    CHECK(mode_of(alice.state_dir() + "/grants/requests") == 0700);

    auto pending = bob.oncall({"access", "pending", "checkout", "-o", "json"});
    INFO(pending.err);
    REQUIRE(pending.exit_code == 0);
    json entry;
    const json pending_out_doc = json::parse(pending.out);
    for (const auto& r : pending_out_doc.at("requests")) {
        if (r.at("grant") == id) {
            entry = r;
        }
    }
    REQUIRE(entry.is_object());
    for (const char* key : {"grant", "service", "namespace", "role", "requester", "reason",
                            "ticket", "requested_for", "requested_at"}) {
        CHECK(entry.contains(key));
    }
    CHECK(entry.at("service") == "checkout");
    CHECK(entry.at("namespace") == "shop");
    CHECK(entry.at("role") == "deployer");
    CHECK(entry.at("reason") == k_reason);
    CHECK(entry.at("ticket") == "INC-4711");
    CHECK(entry.at("requested_for") == "30m");
    CHECK(entry.at("valid") == true);
    auto text = bob.oncall({"access", "pending"});
    CHECK_THAT(text.out, Catch::Contains(id));

    auto waiting = alice.oncall_async({"access", "wait", id, "--wait", "60s", "-o", "json"});
    auto approved = bob.oncall({"access", "approve", id, "-o", "json"});
    INFO(approved.err);
    REQUIRE(approved.exit_code == 0);
    const json a = json::parse(approved.out);
    for (const char* key : {"grant", "service", "role", "requester", "approver", "expires_at"}) {
        CHECK(a.contains(key));
    }
    CHECK(a.at("requester") == entry.at("requester"));
    CHECK(a.at("approver") != a.at("requester"));
    const auto got = waiting.get();
    INFO(got.out << got.err);
    REQUIRE(got.exit_code == 0);
    const json g = json::parse(got.out);
    CHECK(g.at("state") == "approved");
    CHECK(g.at("approver") == a.at("approver"));
    CHECK(g.at("grant") == id);
    CHECK(g.at("expires_at") == a.at("expires_at"));
    CHECK(mode_of(alice.grant_file("checkout")) == 0600);
    CHECK_FALSE(std::filesystem::exists(alice.request_file(id))); // the secret key is gone

    // The grant Secret records both people.
    const json secret = alice.get("/api/v1/namespaces/shop/secrets/oncall-grant-" + id);
    CHECK(secret.at("metadata").at("annotations").at("oncall.dev/approver") == a.at("approver"));
    CHECK(secret.at("metadata").at("annotations").at("oncall.dev/requester") == a.at("requester"));
    // Events on both sides.
    const json events = alice.get("/api/v1/namespaces/shop/events");
    std::set<std::string> reasons;
    for (const auto& e : events.at("items")) {
        if (e.at("involvedObject").at("name").get<std::string>().find(id) != std::string::npos) {
            reasons.insert(e.at("reason").get<std::string>());
        }
    }
    CHECK(reasons.count("AccessRequested") == 1);
    CHECK(reasons.count("AccessApproved") == 1);
    // Write-ahead: an intent line before the approval, then its result with the same attempt.
    std::string intent_attempt;
    bool audited = false;
    for (const auto& line : bob.audit_lines()) {
        if (line.at("action") != "access-approve" || line.at("grant") != id) {
            continue;
        }
        if (line.value("phase", "") == "intent") {
            CHECK_FALSE(line.contains("result"));
            intent_attempt = line.at("attempt").get<std::string>();
        } else if (line.value("phase", "") == "result") {
            audited = !intent_attempt.empty() && line.at("attempt") == intent_attempt &&
                      line.at("result") == "approved" && line.at("requester") == a.at("requester");
        }
    }
    CHECK(audited);

    // The grant works: the rollback goes through with it.
    auto rollback = alice.oncall({"rollback", "checkout", "--to-revision", std::to_string(target),
                                  "--yes", "--no-wait", "--no-verify", "--reason", k_reason});
    INFO(rollback.err);
    CHECK(rollback.exit_code == 0);

    // Revoke deletes the Secret; the server then refuses the token.
    const std::string token =
        json::parse(test::read_text(alice.grant_file("checkout"))).at("token");
    auto revoked = alice.oncall({"access", "revoke", "checkout"});
    INFO(revoked.err);
    CHECK(revoked.exit_code == 0);
    const long refused_status =
        alice
            .api(http::Method::get, "/apis/apps/v1/namespaces/shop/deployments/checkout", {},
                 "application/json", token)
            .first;
    CHECK(refused_status == 401);

    // Expiry is the server's: a second approved grant stops working when the server expires it.
    const std::string second = alice.file_request();
    auto second_wait = alice.oncall_async({"access", "wait", second, "--wait", "60s"});
    REQUIRE(bob.oncall({"access", "approve", second}).exit_code == 0);
    REQUIRE(second_wait.get().exit_code == 0);
    const std::string token2 =
        json::parse(test::read_text(alice.grant_file("checkout"))).at("token");
    auto [expired_status, expired_body] =
        alice.api(http::Method::post, "/sandbox/v1/tokens/expire", json{{"token", token2}}.dump());
    REQUIRE(expired_status == 200);
    const long expired_use =
        alice
            .api(http::Method::get, "/apis/apps/v1/namespaces/shop/deployments/checkout", {},
                 "application/json", token2)
            .first;
    CHECK(expired_use == 401);
    (void)alice.oncall({"access", "revoke", "checkout"});
}

TEST_CASE("the requester alone can neither approve nor mint, oncall says an approval is needed") {
    const Person alice = engineer();
    const std::string id = alice.file_request();
    const json csr = alice.get(csr_path(id));
    json approval = csr;
    approval["status"]["conditions"] =
        json::array({{{"type", "Approved"}, {"status", "True"}, {"reason", "Self"}}});
    auto [approve_status, approve_body] =
        alice.api(http::Method::put, csr_path(id) + "/approval", approval.dump());
    CHECK(approve_status == 403);
    const json token_request = {{"apiVersion", "authentication.k8s.io/v1"},
                                {"kind", "TokenRequest"},
                                {"spec", {{"expirationSeconds", 600}}}};
    auto [mint_status, mint_body] = alice.api(
        http::Method::post, "/api/v1/namespaces/shop/serviceaccounts/oncall-deployer/token",
        token_request.dump());
    CHECK(mint_status == 403);

    // oncall's own refusal, and its text: the line a second person runs.
    auto self = alice.oncall({"access", "approve", id});
    CHECK(self.exit_code == 4);
    auto told = alice.request({"--no-wait"});
    INFO(told.err);
    REQUIRE(told.exit_code == 0);
    CHECK_THAT(told.out, Catch::Contains("needs a second person's approval"));
    CHECK_THAT(told.out, Catch::Contains("oncall access approve "));
    CHECK_THAT(told.out, Catch::Contains(" --context sandbox"));
    CHECK_FALSE(std::filesystem::exists(alice.grant_file("checkout")));
}

TEST_CASE("nobody approves their own request, even an approver") {
    const Person bob = approver();
    const std::string id = bob.file_request();
    auto self = bob.oncall({"access", "approve", id});
    INFO(self.err);
    CHECK(self.exit_code == 4);
    CHECK_THAT(self.err, Catch::Contains("nobody approves their own request"));
    CHECK(bob.secret_names().count("oncall-grant-" + id) == 0);
    const json csr = bob.get(csr_path(id));
    CHECK_FALSE((csr.contains("status") && csr["status"].contains("conditions") &&
                 !csr["status"]["conditions"].empty()));
}

TEST_CASE("deny (exit 4 for the waiting requester), timeout (exit 6), --no-wait then access wait") {
    const Person alice = engineer();
    const Person bob = approver();
    SECTION("deny") {
        const auto known = csr_names(alice);
        auto waiting = alice.oncall_async({"request-access", "checkout", "--role", "deployer",
                                           "--for", "30m", "--reason", k_reason, "--wait", "60s"});
        const std::string id = wait_for_new_request(alice, known);
        auto denied = bob.oncall(
            {"access", "deny", id, "--reason", "use the canary rollback instead", "-o", "json"});
        INFO(denied.err);
        REQUIRE(denied.exit_code == 0);
        CHECK(json::parse(denied.out).at("state") == "denied");
        const auto result = waiting.get();
        CHECK(result.exit_code == 4);
        CHECK_THAT(result.err, Catch::Contains("use the canary rollback instead"));
        // A denied request cannot be approved afterwards.
        auto late = bob.oncall({"access", "approve", id});
        CHECK(late.exit_code == 5);
        CHECK_THAT(late.err, Catch::Contains("was denied"));
    }
    SECTION("timeout") {
        const auto started = std::chrono::steady_clock::now();
        auto r = alice.request({"--wait", "1s"});
        CHECK(r.exit_code == 6);
        CHECK_THAT(r.err, Catch::Contains("oncall access wait "));
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
    }
    SECTION("--no-wait then access wait") {
        const std::string id = alice.file_request();
        auto nothing_yet = alice.oncall({"access", "wait", id, "--wait", "1s"});
        CHECK(nothing_yet.exit_code == 6);
        REQUIRE(bob.oncall({"access", "approve", id}).exit_code == 0);
        auto resumed = alice.oncall({"access", "wait", id});
        INFO(resumed.err);
        CHECK(resumed.exit_code == 0);
        CHECK_THAT(resumed.out, Catch::Contains("Approved by"));
        (void)alice.oncall({"access", "revoke", "checkout"});
    }
}

TEST_CASE("the grant Secret holds only a sealed box that the approver's own state cannot open") {
    const Person alice = engineer();
    const Person bob = approver();
    const std::string id = alice.file_request();
    REQUIRE(bob.oncall({"access", "approve", id, "-v"}).exit_code == 0);
    const json secret = bob.get("/api/v1/namespaces/shop/secrets/oncall-grant-" + id);
    REQUIRE(secret.at("data").size() == 1);
    const std::string box =
        ops::base64_decode(secret.at("data").at("sealed-token").get<std::string>()).value();
    REQUIRE(alice.oncall({"access", "wait", id}).exit_code == 0);
    const std::string token =
        json::parse(test::read_text(alice.grant_file("checkout"))).at("token");
    CHECK(box.find(token) == std::string::npos);
    CHECK(secret.dump().find(token) == std::string::npos);
    // Nothing the approver keeps holds the token or a key that opens the box.
    const std::string bob_state = all_files(bob.state_dir());
    CHECK(bob_state.find(token) == std::string::npos);
    CHECK(bob_state.find("PRIVATE KEY") == std::string::npos);
    CHECK_FALSE(ops::open_sealed_token(box, ops::generate_grant_key().value().private_pem));
    (void)alice.oncall({"access", "revoke", "checkout"});
}

TEST_CASE("abuse is refused and grants nothing") {
    const Person alice = engineer();
    const Person bob = approver();
    SECTION("a planted grant Secret") {
        const std::string id = alice.file_request();
        const json planted = {{"apiVersion", "v1"},
                              {"kind", "Secret"},
                              {"metadata", {{"name", "oncall-grant-" + id}}}};
        REQUIRE(alice.api(http::Method::post, "/api/v1/namespaces/shop/secrets", planted.dump())
                    .first == 201);
        auto r = bob.oncall({"access", "approve", id});
        CHECK(r.exit_code == 5);
        CHECK_THAT(r.err, Catch::Contains("planted"));
        const json csr = bob.get(csr_path(id));
        CHECK_FALSE((csr.contains("status") && csr["status"].contains("conditions") &&
                     !csr["status"]["conditions"].empty()));
        alice.api(http::Method::del, "/api/v1/namespaces/shop/secrets/oncall-grant-" + id);
    }
    SECTION("an approval beyond the role's cap is capped, and says so") {
        const std::string id = alice.file_request("1h");
        auto r = bob.oncall({"access", "approve", id, "--for", "3h", "-o", "json"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const json a = json::parse(r.out);
        CHECK(a.at("capped") == true);
        CHECK(a.at("granted_for") == "1h");
        CHECK_THAT(r.err, Catch::Contains("capped"));
        REQUIRE(alice.oncall({"access", "wait", id}).exit_code == 0);
        const json grant = json::parse(test::read_text(alice.grant_file("checkout")));
        const auto expires = parse_rfc3339(grant.at("expires_at").get<std::string>()).value();
        CHECK(expires - now() <= std::chrono::hours(1));
        (void)alice.oncall({"access", "revoke", "checkout"});
    }
    SECTION("a sealed token that does not open: exit 4, nothing stored") {
        const std::string id = alice.file_request();
        REQUIRE(bob.oncall({"access", "approve", id}).exit_code == 0);
        const auto stranger = ops::generate_grant_key().value();
        const std::string forged = ops::seal_token("forged-token", stranger.public_key).value();
        const json patch = {{"data", {{"sealed-token", ops::base64_encode(forged)}}}};
        REQUIRE(bob.api(http::Method::patch, "/api/v1/namespaces/shop/secrets/oncall-grant-" + id,
                        patch.dump(), "application/merge-patch+json")
                    .first == 200);
        auto r = alice.oncall({"access", "wait", id});
        CHECK(r.exit_code == 4);
        CHECK_THAT(r.err, Catch::Contains("does not open"));
        CHECK_FALSE(std::filesystem::exists(alice.grant_file("checkout")));
        alice.api(http::Method::del, "/api/v1/namespaces/shop/secrets/oncall-grant-" + id);
    }
    SECTION("a loosely permitted or missing request key") {
        const std::string id = alice.file_request();
        std::filesystem::permissions(alice.request_file(id), std::filesystem::perms::others_read,
                                     std::filesystem::perm_options::add);
        auto loose = alice.oncall({"access", "wait", id, "--wait", "1s"});
        CHECK(loose.exit_code == 4);
        CHECK_THAT(loose.err, Catch::Contains("chmod 600"));
        std::filesystem::remove(alice.request_file(id));
        auto missing = alice.oncall({"access", "wait", id, "--wait", "1s"});
        CHECK(missing.exit_code == 4);
        CHECK_THAT(missing.err, Catch::Contains("no request key"));
    }
    SECTION("requests that are not Ed25519 or carry a malformed URI: listed as invalid, never "
            "approvable") {
        test::TempDir dir;
        const std::string good_uri =
            "oncall://grant?service=checkout&namespace=shop&role=deployer&for=30m&"
            "reason=checkout%20down%20since%20rev%203&ticket=";
        const std::string ecdsa = ops::new_grant_id();
        const std::string badurl = ops::new_grant_id();
        post_raw_csr(alice, "oncall-grant-" + ecdsa, openssl_csr(dir, "EC", ecdsa, good_uri));
        post_raw_csr(
            alice, "oncall-grant-" + badurl,
            openssl_csr(dir, "ED25519", badurl, "oncall://grant?service=checkout&admin=true"));
        auto pending = bob.oncall({"access", "pending", "-o", "json"});
        INFO(pending.out << pending.err);
        REQUIRE(pending.exit_code == 0);
        std::map<std::string, json> by_id;
        const json pending_out_doc = json::parse(pending.out);
        for (const auto& r : pending_out_doc.at("requests")) {
            by_id[r.at("grant")] = r;
        }
        REQUIRE(by_id.count(ecdsa) == 1);
        REQUIRE(by_id.count(badurl) == 1);
        CHECK(by_id[ecdsa].at("valid") == false);
        CHECK_THAT(by_id[ecdsa].at("problem").get<std::string>(), Catch::Contains("not Ed25519"));
        CHECK(by_id[badurl].at("valid") == false);
        CHECK_THAT(by_id[badurl].at("problem").get<std::string>(),
                   Catch::Contains("malformed request URI"));
        CHECK_THAT(bob.oncall({"access", "pending"}).out, Catch::Contains("INVALID"));
        for (const std::string& id : {ecdsa, badurl}) {
            auto r = bob.oncall({"access", "approve", id});
            CHECK(r.exit_code == 2);
            CHECK_THAT(r.err, Catch::Contains("can never be approved"));
            CHECK(bob.secret_names().count("oncall-grant-" + id) == 0);
        }
    }
}

TEST_CASE("break-glass: Warning Event, audit line, notification with every field, the webhook "
          "never blocks it") {
    test::TestServer receiver;
    std::atomic<int> mode{0}; // 0 ok, 1 answers 500, 2 slow
    receiver.on("POST", "/hook", [&](const httplib::Request&, httplib::Response& res, std::size_t) {
        if (mode == 1) {
            res.status = 500;
            return;
        }
        if (mode == 2) {
            receiver.sleep(std::chrono::seconds(6));
        }
        res.status = 200;
        res.set_content("ok", "text/plain");
    });
    receiver.start();
    Person alice = engineer();
    alice.set_env("ONCALL_TEST_WEBHOOK", receiver.url("/hook"));
    const auto glass = [&](const std::string& reason) {
        return alice.oncall({"request-access", "checkout", "--role", "breakglass", "--for", "10m",
                             "--reason", reason, "--ticket", "INC-9", "-o", "json"});
    };
    SECTION("a short reason is refused before anything happens") {
        const auto before = alice.secret_names();
        auto r = glass("checkout is down");
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains("at least 20 characters"));
        CHECK(alice.secret_names() == before);
        CHECK(receiver.request_count() == 0);
    }
    SECTION("granted, loudly") {
        auto r = glass(k_glass_reason);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const json g = json::parse(r.out);
        CHECK(g.at("break_glass") == true);
        const std::string id = g.at("grant");
        REQUIRE(receiver.request_count() == 1);
        const json body = json::parse(receiver.requests().at(0).body);
        for (const char* key : {"event", "service", "role", "grant", "requester", "approver",
                                "reason", "ticket", "expires_at", "context", "text"}) {
            CHECK(body.contains(key));
        }
        CHECK(body.at("event") == "break_glass");
        CHECK(body.at("service") == "checkout");
        CHECK(body.at("role") == "breakglass");
        CHECK(body.at("grant") == id);
        CHECK(body.at("reason") == k_glass_reason);
        CHECK(body.at("ticket") == "INC-9");
        CHECK(body.at("context") == "sandbox");
        CHECK(body.at("expires_at") == g.at("expires_at"));
        CHECK_THAT(body.at("text").get<std::string>(), Catch::StartsWith("BREAK-GLASS:"));
        const json events = alice.get("/api/v1/namespaces/shop/events");
        bool warning = false;
        for (const auto& e : events.at("items")) {
            warning = warning || (e.at("reason") == "BreakGlass" && e.at("type") == "Warning" &&
                                  e.at("involvedObject").at("name") == "oncall-grant-" + id);
        }
        CHECK(warning);
        const json line = alice.audit_lines().back();
        CHECK(line.at("break_glass") == true);
        CHECK(line.at("grant") == id);
        CHECK(line.at("notification") == "sent");
        CHECK(json::parse(test::read_text(alice.grant_file("checkout", "breakglass")))
                  .at("break_glass") == true);
        (void)alice.oncall({"access", "revoke", "checkout"});
    }
    SECTION(
        "the webhook answers 500 or is slow: warning only, the grant works, the audit says so") {
        for (int m : {1, 2}) {
            mode = m;
            const auto started = std::chrono::steady_clock::now();
            auto r = glass(k_glass_reason);
            INFO(r.err);
            REQUIRE(r.exit_code == 0);
            CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
            CHECK_THAT(r.err, Catch::Contains("notification was not delivered"));
            const json line = alice.audit_lines().back();
            CHECK(line.at("break_glass") == true);
            CHECK_THAT(line.at("notification").get<std::string>(), Catch::StartsWith("failed: "));
            CHECK(std::filesystem::exists(alice.grant_file("checkout", "breakglass")));
            (void)alice.oncall({"access", "revoke", "checkout"});
        }
    }
    SECTION("the receiver is down: the grant still succeeds") {
        const std::string url = receiver.url("/hook");
        receiver.stop();
        alice.set_env("ONCALL_TEST_WEBHOOK", url);
        auto r = glass(k_glass_reason);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK_THAT(r.err, Catch::Contains("notification was not delivered"));
        CHECK_THAT(alice.audit_lines().back().at("notification").get<std::string>(),
                   Catch::StartsWith("failed: "));
        (void)alice.oncall({"access", "revoke", "checkout"});
    }
}

TEST_CASE("kubectl apply --dry-run=client accepts examples/rbac/") {
    const Person alice = engineer();
    const std::string dir = test::required_env("ONCALL_SOURCE_DIR") + "/examples/rbac/";
    auto r = alice.kubectl({"apply", "--dry-run=client", "--validate=false", "-f", dir});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    for (const char* name : {"clusterrole.rbac.authorization.k8s.io/oncall-requester",
                             "clusterrole.rbac.authorization.k8s.io/oncall-approver",
                             "role.rbac.authorization.k8s.io/oncall-approver",
                             "rolebinding.rbac.authorization.k8s.io/oncall-requesters",
                             "clusterrolebinding.rbac.authorization.k8s.io/oncall-approvers"}) {
        CHECK_THAT(r.out, Catch::Contains(name));
    }
}

TEST_CASE("secrets never leak: no token and no private key in any output, log or audit line") {
    const Person alice = engineer();
    const Person bob = approver();
    std::string seen;
    auto filed = alice.request({"--no-wait", "-v"});
    REQUIRE(filed.exit_code == 0);
    seen += filed.out + filed.err;
    std::string id;
    for (const auto& line : {filed.out}) {
        const auto pos = line.find("oncall access approve ");
        REQUIRE(pos != std::string::npos);
        id = line.substr(pos + 22, 10);
    }
    const std::string key_pem =
        json::parse(test::read_text(alice.request_file(id))).at("private_key");
    auto approved = bob.oncall({"access", "approve", id, "-v"});
    REQUIRE(approved.exit_code == 0);
    seen += approved.out + approved.err;
    auto waited = alice.oncall({"access", "wait", id, "-v"});
    REQUIRE(waited.exit_code == 0);
    seen += waited.out + waited.err;
    auto listed = alice.oncall({"access", "list", "-o", "json"});
    seen += listed.out + listed.err;
    const std::string token =
        json::parse(test::read_text(alice.grant_file("checkout"))).at("token");
    // The key's base64 body (between the PEM lines) and the token appear nowhere.
    const std::string key_body = key_pem.substr(key_pem.find('\n') + 1, 40);
    for (const std::string& text : {seen, alice.audit(), bob.audit(), all_files(bob.state_dir())}) {
        CHECK(text.find(token) == std::string::npos);
        CHECK(text.find(key_body) == std::string::npos);
    }
    CHECK(all_files(alice.state_dir()).find(key_body) == std::string::npos); // deleted once opened
    (void)alice.oncall({"access", "revoke", "checkout"});
}
