// Hostile servers: every command that talks to a server, with the server (or a proxy in front of
// it) misbehaving. Each case must end with a clear error and the exit code of DESIGN.md, within
// the harness' bound (never a hang), never write to the cluster after a failed read, and never
// send a credential to a host other than the configured one.

#include "hostile.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <set>

using namespace oncall::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Fault {
    std::string name;
    FaultSettings settings;
    int exit_code = 3; // a backend was unreachable or answered garbage
};

FaultSettings mode(FaultMode m) {
    FaultSettings s;
    s.mode = m;
    return s;
}

/// The transport-level misbehaviours, each expected to end in exit 3. (Slow loris has a test of its
/// own that runs every command at once: each takes the client's whole deadline.)
std::vector<Fault> transport_faults(const std::string& elsewhere) {
    std::vector<Fault> out;
    auto add = [&](std::string name, FaultSettings s) {
        out.push_back(Fault{std::move(name), std::move(s)});
    };
    FaultSettings s = mode(FaultMode::status);
    s.status = 503;
    add("HTTP 503 on every request", s);
    add("connection reset", mode(FaultMode::reset));
    add("HTML error page with 200", [] {
        auto x = mode(FaultMode::html_page);
        x.html_status = 200;
        return x;
    }());
    add("truncated JSON", mode(FaultMode::truncated_json));
    add("oversized body (64 MiB, chunked)", mode(FaultMode::oversized));
    add("endless chunked body", mode(FaultMode::endless_chunked));
    s = mode(FaultMode::redirect);
    s.redirect_location = elsewhere + "/steal";
    add("redirect to another host", s);
    s.redirect_location = "file:///etc/passwd";
    add("redirect to another scheme (file:)", s);
    s.redirect_location = "ftp://127.0.0.1:21/steal";
    add("redirect to another scheme (ftp:)", s);
    add("headers over 1 MiB", mode(FaultMode::huge_headers));
    add("not HTTP at all", mode(FaultMode::garbage));
    add("gzip bomb (256 MiB inflated)", mode(FaultMode::gzip_bomb));
    add("JSON nesting bomb (1,000,000 levels)", mode(FaultMode::json_bomb));
    return out;
}

/// A server on another port of loopback: a different origin, which must never see a credential.
struct Elsewhere {
    TestServer server;
    Elsewhere() {
        server.on("GET", ".*", [](const httplib::Request&, httplib::Response& res, std::size_t) {
            res.set_content("{}", "application/json");
        });
        server.on("POST", ".*", [](const httplib::Request&, httplib::Response& res, std::size_t) {
            res.set_content("{\"token\":\"stolen\"}", "application/json");
        });
        server.on("PATCH", ".*", [](const httplib::Request&, httplib::Response& res, std::size_t) {
            res.set_content("{}", "application/json");
        });
        server.start();
    }
    /// Requests it received that carried an Authorization header.
    std::size_t credentials_seen() const {
        std::size_t n = 0;
        for (const auto& r : server.requests()) {
            n += r.header("Authorization").empty() ? 0 : 1;
        }
        return n;
    }
};

/// What every failing case must show: a one-line error naming the problem, nothing from a
/// sanitizer or a crash, and the expected exit code.
void check_clear_failure(const ProcessResult& r, int expected, const std::string& what) {
    INFO(what << "\nexit " << r.exit_code << "\nstdout: " << r.out.substr(0, 2000)
              << "\nstderr: " << r.err.substr(0, 2000));
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == expected);
    CHECK(r.err.find("oncall: error:") != std::string::npos);
    CHECK(r.err.find("terminate called") == std::string::npos);
    CHECK(r.err.find("Sanitizer") == std::string::npos);
}

/// Prints one line of the case table (stdout of the test binary; ctest -V shows it).
void report(const std::string& command, const std::string& fault, const ProcessResult& r) {
    std::string first_error;
    const auto at = r.err.find("oncall: error:");
    if (at != std::string::npos) {
        first_error = r.err.substr(at, r.err.find('\n', at) - at);
    }
    fmt::print("CASE | {} | {} | exit {} | {}\n", command, fault, r.exit_code,
               first_error.substr(0, 240));
}

std::string resource_version(const json& deployment) {
    return deployment.at("metadata").at("resourceVersion").get<std::string>();
}

} // namespace

TEST_CASE("reads of status and history through a misbehaving API server end clearly", "[hostile]") {
    HostileWorkstation ws;
    Elsewhere elsewhere;
    for (const auto& fault : transport_faults(elsewhere.server.url())) {
        for (const std::vector<std::string>& args :
             {std::vector<std::string>{"status", "checkout"},
              std::vector<std::string>{"history", "checkout"},
              std::vector<std::string>{"status", "checkout", "-o", "json"}}) {
            ws.reset_proxies();
            ws.kube().set(fault.settings);
            const auto r = ws.oncall(args);
            report(args[0], fault.name, r);
            check_clear_failure(r, fault.exit_code, args[0] + ": " + fault.name);
            if (args.size() > 2) {
                CHECK(r.out.empty()); // -o json: no half document on stdout
            }
        }
    }
    CHECK(elsewhere.server.request_count() == 0);
    CHECK(elsewhere.credentials_seen() == 0);
}

TEST_CASE("rollback and redeploy write nothing after a failed read", "[hostile]") {
    HostileWorkstation ws;
    ws.grant("checkout");
    Elsewhere elsewhere;
    const auto before = resource_version(ws.deployment("checkout"));
    for (auto fault : transport_faults(elsewhere.server.url())) {
        fault.settings.only_method = "GET"; // every read misbehaves; a write would pass
        for (const std::vector<std::string>& args :
             {std::vector<std::string>{"rollback", "checkout", "--yes", "--no-verify", "--reason",
                                       "hostile-server suite: must not write after a failed read"},
              std::vector<std::string>{
                  "redeploy", "checkout", "--yes", "--no-verify", "--reason",
                  "hostile-server suite: must not write after a failed read"}}) {
            ws.reset_proxies();
            ws.kube().set(fault.settings);
            const auto r = ws.oncall(args);
            report(args[0], fault.name, r);
            check_clear_failure(r, fault.exit_code, args[0] + ": " + fault.name);
            CHECK(ws.kube_writes().empty());
        }
    }
    CHECK(resource_version(ws.deployment("checkout")) == before);
    CHECK(elsewhere.credentials_seen() == 0);
    CHECK(elsewhere.server.request_count() == 0);
}

TEST_CASE("request-access and access revoke through a misbehaving API server", "[hostile]") {
    HostileWorkstation ws;
    Elsewhere elsewhere;
    for (const auto& fault : transport_faults(elsewhere.server.url())) {
        ws.reset_proxies();
        ws.kube().set(fault.settings);
        const auto r =
            ws.oncall({"request-access", "payments", "--role", "deployer", "--for", "10m",
                       "--reason", "hostile-server suite: grant through a broken proxy"});
        report("request-access", fault.name, r);
        check_clear_failure(r, fault.exit_code, "request-access: " + fault.name);
        CHECK(ws.oncall({"access", "list", "-o", "json"}).out.find("payments") ==
              std::string::npos);
    }
    // revoke: the grant exists locally; every fault must leave a clear error, and the local grant
    // is kept while the server could not confirm the Secret's deletion.
    ws.reset_proxies();
    ws.grant("payments");
    for (const auto& fault : transport_faults(elsewhere.server.url())) {
        ws.reset_proxies();
        ws.kube().set(fault.settings);
        const auto r = ws.oncall({"access", "revoke", "payments"});
        report("access revoke", fault.name, r);
        check_clear_failure(r, fault.exit_code, "access revoke: " + fault.name);
        CHECK(ws.oncall({"access", "list", "-o", "json"}).out.find("payments") !=
              std::string::npos);
    }
    CHECK(elsewhere.credentials_seen() == 0);
    CHECK(elsewhere.server.request_count() == 0);
}

namespace {

void run_checked(const std::vector<std::string>& argv) {
    const auto r = run_process(argv);
    if (r.exit_code != 0) {
        throw std::runtime_error(argv[0] + " " + argv[1] + " failed: " + r.err);
    }
}

/// Certificates made with the openssl command at test time: one for the wrong host, one expired,
/// one self-signed, plus the CA that signed the first two.
struct BadCertificates {
    TempDir dir;
    TestPki wrong_host; // valid, signed by the CA, for wrong.example only
    std::string ca_file;
    std::string expired_cert, expired_key;
    std::string self_signed_cert, self_signed_key;

    BadCertificates() {
        fs_mkdir(dir.path() + "/wrong");
        wrong_host = make_test_pki(dir.path() + "/wrong", {"wrong.example"});
        ca_file = wrong_host.ca_file;
        // Expired: the CA signs a certificate for 127.0.0.1 valid only in January 2020.
        const std::string d = dir.path() + "/wrong";
        run_checked({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", d + "/expired.key", "-out", d + "/expired.csr", "-subj",
                     "/CN=127.0.0.1"});
        dir.write("wrong/index.txt", "");
        dir.write("wrong/serial", "1000\n");
        dir.write("wrong/ext", "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
        dir.write("wrong/ca.cnf",
                  "[ca]\ndefault_ca=test\n[test]\ndir=" + d + "\ndatabase=" + d +
                      "/index.txt\nnew_certs_dir=" + d + "\nserial=" + d +
                      "/serial\ndefault_md=sha256\npolicy=any\n[any]\ncommonName=supplied\n");
        run_checked({"openssl",    "ca",
                     "-batch",     "-notext",
                     "-config",    d + "/ca.cnf",
                     "-cert",      ca_file,
                     "-keyfile",   d + "/ca.key",
                     "-in",        d + "/expired.csr",
                     "-out",       d + "/expired.pem",
                     "-startdate", "20200101000000Z",
                     "-enddate",   "20200201000000Z",
                     "-extfile",   d + "/ext"});
        expired_cert = d + "/expired.pem";
        expired_key = d + "/expired.key";
        // Self-signed, for the right host, trusted by nobody.
        run_checked({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d + "/self.key", "-out",
                     d + "/self.pem", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                     "subjectAltName=IP:127.0.0.1"});
        self_signed_cert = d + "/self.pem";
        self_signed_key = d + "/self.key";
    }
    static void fs_mkdir(const std::string& path) { run_checked({"mkdir", "-p", path}); }
};

} // namespace

TEST_CASE("TLS: a certificate for the wrong host, an expired one and a self-signed one are refused "
          "before "
          "any credential is sent",
          "[hostile]") {
    HostileWorkstation ws;
    ws.grant("checkout"); // through the proxy, before the configuration points at the bad servers
    BadCertificates certs;
    struct Case {
        std::string name;
        std::string cert, key, trusted_ca;
    };
    const std::vector<Case> cases{
        {"certificate for the wrong host", certs.wrong_host.cert_file, certs.wrong_host.key_file,
         certs.ca_file},
        {"expired certificate", certs.expired_cert, certs.expired_key, certs.ca_file},
        {"self-signed certificate", certs.self_signed_cert, certs.self_signed_key,
         ws.env("ONCALL_SANDBOX_CA")},
    };
    for (const auto& c : cases) {
        TestServer server(TestServer::Tls{c.cert, c.key});
        server.on("GET", ".*", [](const httplib::Request&, httplib::Response& res, std::size_t) {
            res.set_content("{}", "application/json");
        });
        server.on("POST", ".*", [](const httplib::Request&, httplib::Response& res, std::size_t) {
            res.set_content("{}", "application/json");
        });
        server.start();
        HostileWorkstation::ConfigOverrides o;
        o.kube_url = server.url();
        o.kube_ca = c.trusted_ca;
        ws.write_config(o);
        for (const std::vector<std::string>& args :
             {std::vector<std::string>{"status", "checkout"},
              std::vector<std::string>{"history", "checkout"},
              std::vector<std::string>{"request-access", "checkout", "--role", "deployer", "--for",
                                       "10m", "--reason",
                                       "hostile-server suite: TLS must fail first"},
              std::vector<std::string>{"rollback", "checkout", "--yes", "--reason",
                                       "hostile-server suite: TLS must fail first"}}) {
            const auto r = ws.oncall(args);
            report(args[0], "TLS: " + c.name, r);
            // rollback refuses before connecting: the grant was issued by another server, and a
            // grant's token only ever goes to the server that issued it.
            check_clear_failure(r, args[0] == "rollback" ? 4 : 3, args[0] + ": " + c.name);
        }
        CHECK(server.request_count() == 0); // the handshake failed: no request, no token sent
    }
}

TEST_CASE("registry: a token challenge pointing at another host gets no configured credential",
          "[hostile]") {
    HostileWorkstation ws;
    Elsewhere token_service;
    // A registry that asks for a bearer token from a realm on another origin.
    TestServer registry;
    const std::string realm = token_service.server.url("/token");
    auto challenge = [realm](const httplib::Request& req, httplib::Response& res, std::size_t) {
        if (req.get_header_value("Authorization") == "Bearer stolen") {
            res.status = 404;
            res.set_content("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}", "application/json");
            return;
        }
        res.status = 401;
        res.set_header(
            "WWW-Authenticate",
            "Bearer realm=\"" + realm +
                "\",service=\"registry.example\",scope=\"repository:shop/checkout:pull\"");
        res.set_content("{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}", "application/json");
    };
    registry.on("GET", "/v2/.*", challenge); // cpp-httplib answers HEAD with the GET handler
    registry.on("GET", "/token", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content("{}", "application/json");
    });
    registry.start();
    const std::string host = "127.0.0.1:" + std::to_string(registry.port());
    HostileWorkstation::ConfigOverrides o;
    o.registry_url = registry.url();
    o.registry_token_env = "ONCALL_TEST_REGISTRY_TOKEN";
    o.checkout_repositories = {host + "/shop/checkout"};
    ws.write_config(o);
    ws.set_env("ONCALL_TEST_REGISTRY_TOKEN", "registry-secret-token");
    ws.grant("checkout");
    ws.reset_proxies();
    const auto before = resource_version(ws.deployment("checkout"));
    const auto r =
        ws.oncall({"redeploy", "checkout", "--image", host + "/shop/checkout:1.9.9", "--yes",
                   "--reason", "hostile-server suite: registry with a foreign token realm"});
    report("redeploy --image", "registry token realm on another host", r);
    INFO(r.err);
    CHECK(r.exit_code != 0);
    CHECK_FALSE(r.timed_out);
    for (const auto& req : token_service.server.requests()) {
        CHECK(req.header("Authorization").find("registry-secret-token") == std::string::npos);
    }
    CHECK(ws.kube_writes().empty());
    CHECK(resource_version(ws.deployment("checkout")) == before);
    CHECK(r.err.find("registry-secret-token") == std::string::npos);
}

namespace {

/// Every path to a leaf (and to each object or array) of a JSON document, as JSON pointers.
void collect_paths(const json& j, const json::json_pointer& at,
                   std::vector<json::json_pointer>& out) {
    if (!at.empty()) {
        out.push_back(at);
    }
    if (j.is_object()) {
        for (const auto& [k, v] : j.items()) {
            collect_paths(v, at / k, out);
        }
    } else if (j.is_array()) {
        for (std::size_t i = 0; i < j.size() && i < 3; ++i) {
            collect_paths(j[i], at / i, out);
        }
    }
}

/// A value of another type than `v` (a string for a number, a number for a string, ...).
json wrong_type(const json& v) {
    if (v.is_string()) {
        return 7;
    }
    if (v.is_number()) {
        return "seven";
    }
    if (v.is_boolean()) {
        return "yes";
    }
    if (v.is_object()) {
        return json::array({1, 2});
    }
    if (v.is_array()) {
        return json::object({{"a", 1}});
    }
    return json::object();
}

} // namespace

TEST_CASE("status: a wrong type in any field of the Deployment is a clear error or ignored, never "
          "a crash",
          "[hostile]") {
    HostileWorkstation ws;
    const json original = ws.deployment("checkout");
    std::vector<json::json_pointer> paths;
    collect_paths(original, json::json_pointer(), paths);
    std::map<int, int> outcomes;
    for (const auto& path : paths) {
        FaultSettings s;
        s.mode = FaultMode::rewrite;
        s.only_path = "/deployments/checkout";
        s.rewrite = [path](const ProxiedRequest&, long, const std::string& body) {
            json j = json::parse(body, nullptr, false);
            if (j.is_discarded() || !j.contains(path)) {
                return body;
            }
            j[path] = wrong_type(j[path]);
            return j.dump();
        };
        ws.reset_proxies();
        ws.kube().set(s);
        const auto r = ws.oncall({"status", "checkout", "-o", "json"});
        INFO(path.to_string() << "\nexit " << r.exit_code << "\n" << r.err);
        CHECK_FALSE(r.timed_out);
        CHECK(r.err.find("Sanitizer") == std::string::npos);
        // 0/5/7: the field is not read (or its meaning changed the verdict); 3: refused as garbage.
        CHECK((r.exit_code == 0 || r.exit_code == 3 || r.exit_code == 5 || r.exit_code == 7));
        if (r.exit_code == 3) {
            CHECK(r.err.find("oncall: error:") != std::string::npos);
            CHECK(r.out.empty());
        }
        ++outcomes[r.exit_code];
    }
    for (const auto& [code, n] : outcomes) {
        fmt::print(
            "CASE | status | wrong type in one of {} Deployment fields | exit {} | {} fields\n",
            paths.size(), code, n);
    }
    CHECK(outcomes[3] > 0);
}

TEST_CASE(
    "numbers out of range in the fields the commands read: refused or handled, never undefined",
    "[hostile]") {
    HostileWorkstation ws;
    const std::vector<std::pair<std::string, json>> cases{
        {"/spec/replicas", 1e300},
        {"/spec/replicas", 9223372036854775807LL},
        {"/spec/replicas", -5},
        {"/status/replicas", 4294967296LL},
        {"/status/observedGeneration", 1e19},
        {"/metadata/generation", -1e30},
        {"/spec/progressDeadlineSeconds", 1e100},
        {"/status/availableReplicas", 2147483648LL},
    };
    for (const auto& [pointer, value] : cases) {
        FaultSettings s;
        s.mode = FaultMode::rewrite;
        s.only_path = "/deployments/checkout";
        s.rewrite = [pointer = json::json_pointer(pointer),
                     value = value](const ProxiedRequest&, long, const std::string& body) {
            json j = json::parse(body, nullptr, false);
            if (j.is_discarded()) {
                return body;
            }
            j[pointer] = value;
            return j.dump();
        };
        for (const std::vector<std::string>& args :
             {std::vector<std::string>{"status", "checkout"},
              std::vector<std::string>{"history", "checkout"}}) {
            ws.reset_proxies();
            ws.kube().set(s);
            const auto r = ws.oncall(args);
            report(args[0], pointer + " = " + value.dump(), r);
            INFO(pointer << " = " << value.dump() << "\n" << r.err);
            CHECK_FALSE(r.timed_out);
            CHECK(r.err.find("Sanitizer") == std::string::npos);
            CHECK(r.err.find("runtime error") == std::string::npos);
            CHECK((r.exit_code == 0 || r.exit_code == 3 || r.exit_code == 7));
        }
    }
}

TEST_CASE("completion's cluster look-ups never block TAB and fall back to the configured services",
          "[hostile]") {
    Elsewhere elsewhere;
    for (const auto& fault : transport_faults(elsewhere.server.url())) {
        HostileWorkstation ws; // a fresh state directory: no cached answer from an earlier case
        ws.kube().set(fault.settings);
        const auto services =
            ws.oncall({"__complete", "--no-descriptions", "--", "status", ""}, 20s);
        report("__complete status", fault.name, services);
        INFO(fault.name << "\n" << services.err);
        CHECK_FALSE(services.timed_out);
        CHECK(services.exit_code == 0);
        CHECK(services.out.find("checkout") != std::string::npos); // from the configuration
        CHECK(services.err.find("Sanitizer") == std::string::npos);
        const auto revisions = ws.oncall(
            {"__complete", "--no-descriptions", "--", "rollback", "checkout", "--to-revision", ""},
            20s);
        report("__complete --to-revision", fault.name, revisions);
        CHECK_FALSE(revisions.timed_out);
        CHECK(revisions.exit_code == 0);
        CHECK(revisions.err.find("Sanitizer") == std::string::npos);
    }
    CHECK(elsewhere.credentials_seen() == 0);
}

TEST_CASE("slow loris: every command gives up at its deadline with a timeout error",
          "[hostile][deadlines]") {
    // Each command waits out its client deadline (and retries reads), so all run at once.
    const std::vector<std::vector<std::string>> commands{
        {"status", "checkout"},
        {"history", "checkout"},
        {"rollback", "checkout", "--yes", "--reason", "hostile-server suite: slow loris on reads"},
        {"redeploy", "checkout", "--yes", "--reason", "hostile-server suite: slow loris on reads"},
        {"request-access", "payments", "--role", "deployer", "--for", "10m", "--reason",
         "hostile-server suite: slow loris on the grant"},
        {"access", "revoke", "checkout"},
        {"__complete", "--no-descriptions", "--", "status", ""},
    };
    std::vector<std::unique_ptr<HostileWorkstation>> stations;
    std::vector<std::future<ProcessResult>> runs;
    for (const auto& args : commands) {
        stations.push_back(std::make_unique<HostileWorkstation>());
        auto& ws = *stations.back();
        if (args[0] == "rollback" || args[0] == "redeploy" || args[0] == "access") {
            ws.grant("checkout");
            ws.kube().clear_requests();
        }
        FaultSettings s = mode(FaultMode::slow_loris);
        if (args[0] != "access") {
            s.only_method = "GET"; // reads misbehave; a write would pass (and must not be sent)
        }
        ws.kube().set(s);
        runs.push_back(
            std::async(std::launch::async, [&ws, args] { return ws.oncall(args, 240s); }));
    }
    for (std::size_t i = 0; i < commands.size(); ++i) {
        const auto r = runs[i].get();
        const auto& args = commands[i];
        report(args[0], "slow loris (a byte every 200 ms)", r);
        if (args[0] == "__complete") {
            CHECK_FALSE(r.timed_out);
            CHECK(r.exit_code == 0);
            CHECK(r.out.find("checkout") != std::string::npos);
            continue;
        }
        check_clear_failure(r, 3, args[0] + ": slow loris");
        CHECK(r.err.find("timed out") != std::string::npos);
        if (args[0] != "access") {
            CHECK(stations[i]->kube_writes().empty());
        }
    }
}

TEST_CASE("triage: a misbehaving source is named in the report and never hides the others",
          "[hostile][deadlines]") {
    if (!std::ifstream(required_env("ONCALL_SOURCE_DIR") + "/apps/oncall/commands/triage.cpp")) {
        FAIL("triage is not in this tree");
    }
    HostileWorkstation ws;
    Elsewhere elsewhere;
    struct Backend {
        std::string source; // name in the report's `sources`
        FaultProxy* proxy;
    };
    const std::vector<Backend> backends{{"prometheus", &ws.prometheus()},
                                        {"alertmanager", &ws.alertmanager()},
                                        {"kubernetes", &ws.kube()}};
    auto faults = transport_faults(elsewhere.server.url());
    faults.push_back(Fault{"slow loris (a byte every 200 ms)", mode(FaultMode::slow_loris)});
    for (const auto& backend : backends) {
        for (const auto& fault : faults) {
            ws.reset_proxies();
            backend.proxy->set(fault.settings);
            const auto r = ws.oncall({"triage", "checkout", "-o", "json", "--timeout", "3s"});
            report("triage (" + backend.source + ")", fault.name, r);
            INFO(backend.source << ": " << fault.name << "\nexit " << r.exit_code << "\n"
                                << r.err.substr(0, 3000));
            CHECK_FALSE(r.timed_out);
            CHECK((r.exit_code == 3 ||
                   r.exit_code == 8)); // partial report, or degraded despite the failure
            CHECK(r.err.find("Sanitizer") == std::string::npos);
            const auto doc = json::parse(r.out, nullptr, false);
            REQUIRE_FALSE(doc.is_discarded()); // the report still comes out, as one JSON document
            bool named = false;
            for (const auto& s : doc.value("sources", json::array())) {
                if (s.value("name", std::string()).find(backend.source) != std::string::npos &&
                    !s.value("ok", true)) {
                    named = true;
                }
            }
            CHECK(named);
        }
    }
    CHECK(elsewhere.server.request_count() == 0);
    CHECK(elsewhere.credentials_seen() == 0);
}

namespace {

// A kubeconfig for the practice cluster at `server`, trusting `ca` (0600: it holds a token).
void write_kubeconfig(const std::string& path, const std::string& server, const std::string& ca,
                      const std::string& token) {
    {
        std::ofstream out(path, std::ios::trunc);
        out << fmt::format(R"(apiVersion: v1
kind: Config
current-context: practice
clusters: [{{name: practice, cluster: {{server: "{}", certificate-authority: "{}"}}}}]
users: [{{name: engineer, user: {{token: "{}"}}}}]
contexts: [{{name: practice, context: {{cluster: practice, user: engineer, namespace: shop}}}}]
)",
                           server, ca, token);
    }
    ::chmod(path.c_str(), 0600);
}

} // namespace

TEST_CASE("a grant's token only goes to the server that minted it, also for kubeconfig contexts",
          "[hostile][grants]") {
    HostileWorkstation ws;
    // A context that reads a kubeconfig: no kubernetes.server in the oncall configuration.
    const std::string kubeconfig = ws.state_dir() + "/kubeconfig";
    const std::string sandbox = ws.env("ONCALL_SANDBOX_URL");
    const std::string ca = ws.env("ONCALL_SANDBOX_CA");
    write_kubeconfig(kubeconfig, sandbox, ca, ws.engineer_token());
    {
        std::ofstream out(ws.config_file(), std::ios::trunc);
        out << fmt::format(R"(current-context: sandbox
contexts:
  sandbox:
    kubernetes: {{ kubeconfig: "{}", namespace: shop }}
    access:
      require-grant: true
      roles: {{ deployer: {{ service-account: oncall-deployer, max: 1h }} }}
)",
                           kubeconfig);
    }
    ws.grant("checkout");
    const auto grant =
        nlohmann::json::parse(read_text(ws.grants_dir() + "/sandbox.checkout.deployer.json"));
    const std::string token = grant.at("token").get<std::string>();
    REQUIRE_FALSE(token.empty());
    const std::vector<std::string> rollback{"rollback",
                                            "checkout",
                                            "--dry-run",
                                            "--yes",
                                            "--no-verify",
                                            "--reason",
                                            "hostile-server suite: grant bound to its server"};

    // The same server written with a trailing slash is still the server that minted the grant.
    write_kubeconfig(kubeconfig, sandbox + "/", ca, ws.engineer_token());
    auto r = ws.oncall(rollback);
    report("rollback", "kubeconfig server with a trailing slash", r);
    INFO(r.err);
    CHECK(r.exit_code == 0);

    // The kubeconfig now points at a logging proxy over plain http (forwarding to the real server):
    // whoever runs it must never see the grant's token.
    FaultProxy::Options options;
    options.upstream = sandbox;
    options.ca_file = ca;
    FaultProxy logger(options);
    write_kubeconfig(kubeconfig, logger.url(), ca, ws.engineer_token());
    r = ws.oncall(rollback);
    report("rollback", "kubeconfig repointed at a logging proxy", r);
    check_clear_failure(r, 4, "rollback through a logging proxy");
    CHECK_THAT(r.err, Catch::Contains("oncall request-access checkout --role deployer"));
    for (const auto& seen : logger.requests()) {
        INFO(seen.method << " " << seen.target);
        CHECK(seen.header("Authorization").find(token) == std::string::npos);
    }
    CHECK(logger.request_count() == 0); // refused before connecting
    CHECK_THAT(r.out + r.err, !Catch::Contains(token));

    // The same URL trusted through another CA is another server as far as the grant goes.
    TempDir other;
    const auto pki = make_test_pki(other.path());
    write_kubeconfig(kubeconfig, sandbox, pki.ca_file, ws.engineer_token());
    r = ws.oncall(rollback);
    report("rollback", "kubeconfig trusting another CA", r);
    check_clear_failure(r, 4, "rollback with another CA");
    CHECK_THAT(r.err, Catch::Contains("CA bundle"));
}

TEST_CASE(
    "history and triage show a hostile change-cause and log lines escaped, piped at any width",
    "[hostile][untrusted]") {
    HostileWorkstation ws;
    // Newlines, an OSC title change ended by BEL, clear screen and cursor home, a carriage return.
    const std::string hostile = "deploy 1.3.0\nrm -rf /\x1b]0;pwned\x07\x1b[2J\x1b[H\rforged";
    FaultSettings s;
    s.mode = FaultMode::rewrite;
    s.rewrite = [hostile](const ProxiedRequest& request, long, const std::string& body) {
        if (request.target.find("/log") != std::string::npos) {
            return "level=error msg=\"boom\x1b]0;pwned\x07\"\n" + body;
        }
        if (request.target.find("/replicasets") == std::string::npos) {
            return body;
        }
        json j = json::parse(body, nullptr, false);
        if (j.is_discarded() || !j.contains("items")) {
            return body;
        }
        for (auto& item : j["items"]) {
            item["metadata"]["annotations"]["kubernetes.io/change-cause"] = hostile;
        }
        return j.dump();
    };
    for (const char* width : {"40", "100", "120", "300"}) {
        ws.reset_proxies();
        ws.kube().set(s);
        ws.set_env("COLUMNS", width);
        const auto h = ws.oncall({"history", "checkout"});
        INFO("COLUMNS=" << width << "\nexit " << h.exit_code << "\nstdout:\n"
                        << h.out << "\nstderr:\n"
                        << h.err);
        CHECK_FALSE(h.timed_out);
        REQUIRE(h.exit_code == 0);
        CHECK(h.out.find('\x1b') == std::string::npos);
        CHECK(h.out.find('\x07') == std::string::npos);
        CHECK(h.out.find('\r') == std::string::npos);
        // One table line per revision: the header, then each revision's row and its artifact line.
        std::size_t rows = 0;
        std::size_t pos = 0;
        while ((pos = h.out.find("\n", pos)) != std::string::npos) {
            ++pos;
            ++rows;
        }
        const auto j =
            json::parse(ws.oncall({"history", "checkout", "-o", "json"}).out, nullptr, false);
        REQUIRE_FALSE(j.is_discarded());
        std::size_t expected = 1;
        for (const auto& r : j["revisions"]) {
            expected += 1 + r["artifacts"].size();
            CHECK(r["change_cause"] == hostile); // JSON keeps the exact text
        }
        CHECK(rows == expected);
        if (std::string(width) == "300") {
            CHECK(h.out.find("deploy 1.3.0⏎rm -rf /^[]0;pwned^G^[[2J^[[H⏎forged") !=
                  std::string::npos);
        }

        const auto t = ws.oncall({"triage", "checkout"});
        INFO("triage:\n" << t.out << "\n" << t.err);
        CHECK_FALSE(t.timed_out);
        CHECK((t.exit_code == 0 || t.exit_code == 3 || t.exit_code == 8));
        CHECK(t.out.find('\x1b') == std::string::npos);
        CHECK(t.out.find('\x07') == std::string::npos);
        if (std::string(width) != "40") { // at 40 columns the deploy line is cut before it
            CHECK(t.out.find("deploy 1.3.0⏎rm") != std::string::npos);
        }
    }
    ws.reset_proxies();
}
