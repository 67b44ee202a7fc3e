// Choosing the write credential (enforcement) and validating a whole request.

#include "oncall/backends/kubernetes.h"
#include "oncall/core/exit_code.h"
#include "oncall/ops/access.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <fstream>

using namespace oncall;
using namespace oncall::ops;
using namespace std::chrono_literals;

namespace {

config::Context sandbox_context(bool require_grant = true) {
    config::Context c;
    c.name = "sandbox";
    c.kubernetes.server = "https://127.0.0.1:6443";
    c.kubernetes.namespace_name = "shop";
    c.access.require_grant = require_grant;
    c.access.roles["deployer"] = config::Role{"deployer", "oncall-deployer", 1h};
    c.access.roles["triage"] = config::Role{"triage", "oncall-triage", 8h};
    return c;
}

config::Service service(const std::string& name, const std::string& ns = "shop") {
    config::Service s;
    s.name = name;
    s.namespace_name = ns;
    s.deployment = name;
    return s;
}

// The connection the write would use (system trust roots: no CA file).
kube::Connection connection_to(const std::string& server = "https://127.0.0.1:6443") {
    kube::Connection c;
    c.server = server;
    c.namespace_name = "shop";
    c.origin = "test";
    return c;
}

Grant grant_for(const std::string& svc, std::chrono::milliseconds left,
                const std::string& role = "deployer") {
    Grant g;
    g.context = "sandbox";
    g.server = "https://127.0.0.1:6443";
    g.server_identity = "system-roots";
    g.service = svc;
    g.namespace_name = "shop";
    g.role = role;
    g.service_account = "oncall-" + role;
    g.id = "abcde12345";
    g.secret_name = "oncall-grant-abcde12345";
    g.secret_uid = "uid-1";
    g.requester = "alice";
    g.reason = "checkout errors since revision 3";
    g.issued_at = now() - 1min;
    g.expires_at = now() + left;
    g.token = "grant-token-" + svc;
    return g;
}

} // namespace

TEST_CASE("writes use the active deployer grant of exactly that service", "[access]") {
    test::TempDir tmp;
    const GrantStore store(tmp.path() + "/grants");
    REQUIRE(store.save(grant_for("checkout", 30min)));
    const auto ctx = sandbox_context();

    auto checkout = write_access_for(ctx, service("checkout"), connection_to(), store);
    REQUIRE(checkout);
    REQUIRE(checkout->bearer_token);
    CHECK(*checkout->bearer_token == "grant-token-checkout");
    CHECK_FALSE(checkout->warning);

    SECTION("another service gets no token and the exact request-access line") {
        auto payments = write_access_for(ctx, service("payments"), connection_to(), store);
        REQUIRE_FALSE(payments);
        CHECK(exit_code_for(payments.error()) == ExitCode::access_denied);
        CHECK_THAT(payments.error().message,
                   Catch::Contains("oncall request-access payments --role deployer --for 30m "
                                   "--reason \"...\""));
        CHECK_THAT(payments.error().message, !Catch::Contains("grant-token"));
    }
    SECTION("a triage grant does not allow writes") {
        REQUIRE(store.save(grant_for("search", 30min, "triage")));
        auto search = write_access_for(ctx, service("search"), connection_to(), store);
        REQUIRE_FALSE(search);
        CHECK(exit_code_for(search.error()) == ExitCode::access_denied);
    }
    SECTION("the same service in another namespace is not covered") {
        auto other = write_access_for(ctx, service("checkout", "staging"), connection_to(), store);
        REQUIRE_FALSE(other);
        CHECK_THAT(other.error().message, Catch::Contains("namespace shop"));
    }
    SECTION("a connection now pointing at another server is not covered") {
        // The resolved connection counts, not kubernetes.server (empty for kubeconfig contexts).
        auto from_kubeconfig = ctx;
        from_kubeconfig.kubernetes.server.clear();
        for (const char* other : {"https://10.0.0.1:6443", "http://127.0.0.1:6443",
                                  "https://127.0.0.1:6444", "https://127.0.0.1:6443/proxy"}) {
            auto r =
                write_access_for(from_kubeconfig, service("checkout"), connection_to(other), store);
            INFO(other);
            REQUIRE_FALSE(r);
            CHECK(exit_code_for(r.error()) == ExitCode::access_denied);
            CHECK_THAT(r.error().message, Catch::Contains("oncall request-access checkout"));
            CHECK_THAT(r.error().message, !Catch::Contains("grant-token"));
        }
    }
    SECTION("the same server written differently is still covered") {
        for (const char* same : {"https://127.0.0.1:6443/", "HTTPS://127.0.0.1:6443//"}) {
            auto r = write_access_for(ctx, service("checkout"), connection_to(same), store);
            INFO(same);
            REQUIRE(r);
            CHECK(r->bearer_token);
        }
    }
    SECTION("a connection trusting another CA is not covered") {
        const std::string ca = tmp.path() + "/ca.pem";
        std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\nnot the CA it was issued under\n";
        auto conn = connection_to();
        conn.ca_file = ca;
        auto r = write_access_for(ctx, service("checkout"), conn, store);
        REQUIRE_FALSE(r);
        CHECK(exit_code_for(r.error()) == ExitCode::access_denied);
        CHECK_THAT(r.error().message, Catch::Contains("CA bundle"));
        conn.ca_file.clear();
        conn.insecure_skip_tls_verify = true;
        CHECK_FALSE(write_access_for(ctx, service("checkout"), conn, store));
    }
    SECTION("a grant that does not record its server's identity is refused with the next step") {
        auto old = grant_for("checkout", 30min);
        old.server_identity.clear();
        REQUIRE(store.save(old));
        auto r = write_access_for(ctx, service("checkout"), connection_to(), store);
        REQUIRE_FALSE(r);
        CHECK(exit_code_for(r.error()) == ExitCode::access_denied);
        CHECK_THAT(r.error().message, Catch::Contains("older oncall"));
        CHECK_THAT(r.error().message,
                   Catch::Contains("oncall request-access checkout --role deployer --for 30m"));
    }
}

TEST_CASE("grants compare servers in one normal form", "[access]") {
    CHECK(normalize_server_url("https://API.Example.com/") == "https://api.example.com:443");
    CHECK(normalize_server_url("https://api.example.com:443") == "https://api.example.com:443");
    CHECK(normalize_server_url("http://10.0.0.1") == "http://10.0.0.1:80");
    CHECK(normalize_server_url("https://u:p@10.0.0.1:6443/k8s/clusters/c-1/?x=1") ==
          "https://10.0.0.1:6443/k8s/clusters/c-1");
    CHECK(normalize_server_url("https://[::1]:6443") == "https://[::1]:6443");
    CHECK(normalize_server_url("https://[::1]") == "https://[::1]:443");
    CHECK(normalize_server_url("https://10.0.0.1:6443") !=
          normalize_server_url("http://10.0.0.1:6443"));
}

TEST_CASE("the server identity names the CA bundle in use", "[access]") {
    test::TempDir tmp;
    auto conn = connection_to();
    CHECK(*server_identity(conn) == "system-roots");
    conn.server = "http://127.0.0.1:8080";
    CHECK(*server_identity(conn) == "plain-http");
    conn.server = "https://127.0.0.1:6443";
    conn.ca_file = tmp.path() + "/ca.pem";
    std::ofstream(conn.ca_file) << "one CA";
    const auto first = server_identity(conn);
    REQUIRE(first);
    CHECK_THAT(*first, Catch::StartsWith("ca-sha256:"));
    std::ofstream(conn.ca_file) << "another CA";
    CHECK(*server_identity(conn) != *first);
    conn.ca_file = tmp.path() + "/missing.pem";
    CHECK_FALSE(server_identity(conn));
}

TEST_CASE("expired grants are refused, nearly expired ones warn", "[access]") {
    test::TempDir tmp;
    const GrantStore store(tmp.path() + "/grants");
    const auto ctx = sandbox_context();

    REQUIRE(store.save(grant_for("checkout", -2min)));
    auto expired = write_access_for(ctx, service("checkout"), connection_to(), store);
    REQUIRE_FALSE(expired);
    CHECK(exit_code_for(expired.error()) == ExitCode::access_denied);
    CHECK_THAT(expired.error().message, Catch::Contains("expired"));
    CHECK_THAT(expired.error().message,
               Catch::Contains("oncall request-access checkout --role deployer --for 30m"));

    REQUIRE(store.save(grant_for("checkout", 3min)));
    auto soon = write_access_for(ctx, service("checkout"), connection_to(), store);
    REQUIRE(soon);
    REQUIRE(soon->warning);
    CHECK_THAT(*soon->warning, Catch::Contains("expires in"));
    CHECK_THAT(*soon->warning, !Catch::Contains("grant-token"));
}

TEST_CASE("without require-grant the context's own credentials write", "[access]") {
    test::TempDir tmp;
    const GrantStore store(tmp.path() + "/grants");
    auto r = write_access_for(sandbox_context(false), service("checkout"), connection_to(), store);
    REQUIRE(r);
    CHECK_FALSE(r->bearer_token);
}

TEST_CASE("a server refusal of the grant token is explained with the next command", "[access]") {
    const auto ctx = sandbox_context();
    Error e = make_error(Errc::access_denied, "PATCH deployments/checkout: Unauthorized", 401);
    const Error explained = explain_grant_refusal(e, ctx, "checkout");
    CHECK(exit_code_for(explained) == ExitCode::access_denied);
    CHECK_THAT(explained.message, Catch::Contains("refused the deployer grant for checkout"));
    CHECK_THAT(explained.message, Catch::EndsWith("oncall request-access checkout --role deployer "
                                                  "--for 30m --reason \"...\""));
    const Error other =
        explain_grant_refusal(make_error(Errc::conflict, "changed"), ctx, "checkout");
    CHECK(other.message == "changed");
}

TEST_CASE("a request is validated before anything is sent", "[access]") {
    const auto ctx = sandbox_context();
    auto ok = validate_request(
        ctx.access, {"deployer", "30m", "  checkout 12% errors, rolling back ", "INC-7"});
    REQUIRE(ok);
    CHECK(ok->duration == 30min);
    CHECK(ok->reason == "checkout 12% errors, rolling back");
    CHECK(ok->role.service_account == "oncall-deployer");

    CHECK(exit_code_for(
              validate_request(ctx.access, {"admin", "30m", "checkout errors since rev 3", ""})
                  .error()) == ExitCode::usage);
    CHECK_THAT(validate_request(ctx.access, {"deployer", "2h", "checkout errors since rev 3", ""})
                   .error()
                   .message,
               Catch::Contains("maximum of 1h"));
    CHECK_THAT(validate_request(ctx.access, {"deployer", "30m", "fix", ""}).error().message,
               Catch::Contains("--reason"));
    CHECK_THAT(validate_request(ctx.access, {"deployer", "soon", "checkout errors since rev 3", ""})
                   .error()
                   .message,
               Catch::StartsWith("--for"));
}

TEST_CASE("a break-glass role needs a reason of at least 20 characters (usage error)") {
    config::AccessConfig access;
    config::Role glass;
    glass.name = "breakglass";
    glass.service_account = "oncall-breakglass";
    glass.max = std::chrono::minutes(30);
    glass.break_glass = true;
    access.roles["breakglass"] = glass;
    AccessRequest request{"breakglass", "10m", "checkout is down", ""};
    auto short_reason = validate_request(access, request);
    REQUIRE_FALSE(short_reason);
    CHECK(short_reason.error().code == Errc::usage);
    CHECK_THAT(short_reason.error().message, Catch::Contains("at least 20 characters"));
    request.reason = "checkout down at 3am, no approver answers";
    CHECK(validate_request(access, request));
}
