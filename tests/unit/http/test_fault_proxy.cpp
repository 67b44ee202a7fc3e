// The fault-injecting proxy used by the hostile-server and benchmark suites: it must forward
// faithfully when told to pass, and misbehave exactly as configured otherwise.

#include "fault_proxy.h"
#include "oncall/http/client.h"
#include "process.h"
#include "test_server.h"

#include <catch2/catch.hpp>

using namespace oncall;
using namespace oncall::test;
using namespace std::chrono_literals;

namespace {

http::Client plain_client() {
    http::ClientOptions o;
    o.retry = http::RetryPolicy::none();
    o.total_timeout = 5s;
    return http::Client(o);
}

http::Request request(http::Method method, std::string url, std::string body = {}) {
    http::Request r;
    r.method = method;
    r.url = std::move(url);
    r.body = std::move(body);
    return r;
}

} // namespace

TEST_CASE("fault proxy: pass mode forwards methods, headers, bodies and statuses",
          "[http][fault_proxy]") {
    TestServer upstream;
    upstream.on("GET", "/api/(.*)",
                [](const httplib::Request& req, httplib::Response& res, std::size_t) {
                    res.status = req.matches[1] == "missing" ? 404 : 200;
                    res.set_header("Docker-Content-Digest", "sha256:abc");
                    res.set_content("path=" + req.path + " q=" + req.get_param_value("q") +
                                        " auth=" + req.get_header_value("Authorization"),
                                    "text/plain");
                });
    upstream.on("POST", "/api/echo",
                [](const httplib::Request& req, httplib::Response& res, std::size_t) {
                    res.status = 201;
                    res.set_content(req.body, req.get_header_value("Content-Type"));
                });
    upstream.start();
    FaultProxy::Options options;
    options.upstream = upstream.url();
    FaultProxy proxy(options);
    auto client = plain_client();

    auto get = request(http::Method::get, proxy.url("/api/x?q=a%20b"));
    get.headers.push_back({"Authorization", "Bearer abc"});
    auto r = client.perform(get);
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->body == "path=/api/x q=a b auth=Bearer abc");
    CHECK(r->header("Docker-Content-Digest") == std::optional<std::string>("sha256:abc"));

    auto post = request(http::Method::post, proxy.url("/api/echo"), R"({"k":"v"})");
    post.headers.push_back({"Content-Type", "application/json"});
    r = client.perform(post);
    REQUIRE(r.ok());
    CHECK(r->status == 201);
    CHECK(r->body == R"({"k":"v"})");

    r = client.perform(request(http::Method::get, proxy.url("/api/missing")));
    REQUIRE(r.ok());
    CHECK(r->status == 404);

    r = client.perform(request(http::Method::head, proxy.url("/api/x")));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->header("Docker-Content-Digest") == std::optional<std::string>("sha256:abc"));
    CHECK(r->body.empty());

    const auto seen = proxy.requests();
    REQUIRE(seen.size() == 4);
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].target == "/api/x?q=a%20b");
    CHECK(seen[0].header("authorization") == "Bearer abc");
    CHECK(seen[1].body == R"({"k":"v"})");
    CHECK(seen[3].method == "HEAD");
    CHECK(seen[0].applied == FaultMode::pass);
    CHECK(seen[0].started <= seen[1].started);
    CHECK(upstream.request_count() == 4);
}

TEST_CASE("fault proxy: https upstream with a CA", "[http][fault_proxy][tls]") {
    TempDir dir;
    const TestPki pki = make_test_pki(dir.path());
    TestServer upstream(TestServer::Tls{pki.cert_file, pki.key_file});
    upstream.on("GET", "/ok", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content("over tls", "text/plain");
    });
    upstream.start();
    FaultProxy::Options options;
    options.upstream = upstream.url();
    options.ca_file = pki.ca_file;
    FaultProxy proxy(options);
    auto r = plain_client().perform(request(http::Method::get, proxy.url("/ok")));
    REQUIRE(r.ok());
    CHECK(r->body == "over tls");

    FaultProxy::Options unverified;
    unverified.upstream = upstream.url();
    FaultProxy no_ca(unverified);
    r = plain_client().perform(request(http::Method::get, no_ca.url("/ok")));
    REQUIRE(r.ok());
    CHECK(r->status == 502);
    CHECK(r->body.find("upstream failed") != std::string::npos);
}

TEST_CASE("fault proxy: status faults, fault budget and runtime control", "[http][fault_proxy]") {
    TestServer upstream;
    upstream.on("GET", "/ok", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content("fine", "text/plain");
    });
    upstream.start();
    FaultProxy::Options options;
    options.upstream = upstream.url();
    FaultProxy proxy(options);
    auto client = plain_client();

    FaultSettings s;
    s.mode = FaultMode::status;
    s.status = 503;
    s.retry_after = "7";
    s.fault_count = 2;
    proxy.set(s);
    for (int i = 0; i < 2; ++i) {
        auto r = client.perform(request(http::Method::get, proxy.url("/ok")));
        REQUIRE(r.ok());
        CHECK(r->status == 503);
        CHECK(r->header("Retry-After") == std::optional<std::string>("7"));
    }
    auto r = client.perform(request(http::Method::get, proxy.url("/ok")));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(upstream.request_count() == 1);
    const auto seen = proxy.requests();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].applied == FaultMode::status);
    CHECK(seen[2].applied == FaultMode::pass);

    // Runtime control over HTTP, as the standalone program is driven by harness scripts.
    r = client.perform(request(
        http::Method::get,
        proxy.url("/__fault-proxy/set?mode=redirect&redirect=http%3A%2F%2Flocalhost%3A1%2Fx")));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(proxy.settings().mode == FaultMode::redirect);
    r = client.perform(request(http::Method::get, proxy.url("/ok")));
    REQUIRE(r.ok());
    CHECK(r->status == 302);
    CHECK(r->header("Location") == std::optional<std::string>("http://localhost:1/x"));
    r = client.perform(request(http::Method::get, proxy.url("/__fault-proxy/set?mode=nonsense")));
    REQUIRE(r.ok());
    CHECK(r->status == 400);
    CHECK(r->body == "bad value 'nonsense' for mode\n");
    CHECK(proxy.request_count() == 4); // control requests are not recorded

    // Faults aimed at one path leave the others alone.
    FaultSettings targeted;
    targeted.mode = FaultMode::status;
    targeted.status = 500;
    targeted.path_prefix = "/api/v1/query_range";
    proxy.set(targeted);
    r = client.perform(request(http::Method::get, proxy.url("/ok")));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    r = client.perform(request(http::Method::get, proxy.url("/api/v1/query_range?query=up")));
    REQUIRE(r.ok());
    CHECK(r->status == 500);
}

TEST_CASE("fault proxy: settings parse and reject bad values", "[http][fault_proxy]") {
    FaultSettings s;
    CHECK(apply_fault_setting(s, "mode", "endless-chunked").empty());
    CHECK(s.mode == FaultMode::endless_chunked);
    CHECK(apply_fault_setting(s, "delay-ms", "150").empty());
    CHECK(s.delay == 150ms);
    CHECK(apply_fault_setting(s, "oversized-declares-length", "true").empty());
    CHECK(s.oversized_declares_length);
    CHECK(apply_fault_setting(s, "status", "99") == "bad value '99' for status");
    CHECK(apply_fault_setting(s, "delay-ms", "-1") == "bad value '-1' for delay-ms");
    CHECK(apply_fault_setting(s, "colour", "red") == "unknown setting 'colour'");
    for (const char* name :
         {"pass", "status", "reset", "html_page", "truncated_json", "oversized", "slow_loris",
          "endless_chunked", "redirect", "huge_headers", "garbage"}) {
        const auto mode = parse_fault_mode(name);
        REQUIRE(mode.has_value());
        CHECK(std::string(fault_mode_name(*mode)) == name);
    }
}

TEST_CASE("fault proxy: an added delay is applied to every request", "[http][fault_proxy]") {
    TestServer upstream;
    upstream.on("GET", "/ok", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content("fine", "text/plain");
    });
    upstream.start();
    FaultProxy::Options options;
    options.upstream = upstream.url();
    FaultProxy proxy(options);
    FaultSettings s;
    s.delay = 200ms;
    proxy.set(s);
    auto r = plain_client().perform(request(http::Method::get, proxy.url("/ok")));
    REQUIRE(r.ok());
    // The upstream saw the request only after the delay the proxy was told to add.
    const auto at_proxy = proxy.requests().at(0).started;
    const auto at_upstream = upstream.requests().at(0).started;
    CHECK(millis_between(at_proxy, at_upstream) >= 200);
}

TEST_CASE("fault proxy: body, rewrite and bomb modes, limited to matching requests",
          "[http][fault_proxy]") {
    TestServer upstream;
    upstream.on("GET", "/api/(.*)",
                [](const httplib::Request& req, httplib::Response& res, std::size_t) {
                    res.set_content("{\"path\":\"" + req.path + "\",\"n\":1}", "application/json");
                });
    upstream.start();
    FaultProxy::Options options;
    options.upstream = upstream.url();
    FaultProxy proxy(options);
    auto client = plain_client();

    FaultSettings s;
    s.mode = FaultMode::body;
    s.body_status = 409;
    s.body = "{\"kind\":\"Status\"}";
    s.only_path = "/api/deployments";
    proxy.set(s);
    auto hit = client.perform(request(http::Method::get, proxy.url("/api/deployments/checkout")));
    REQUIRE(hit.ok());
    CHECK(hit->status == 409);
    CHECK(hit->body == "{\"kind\":\"Status\"}");
    auto other = client.perform(request(http::Method::get, proxy.url("/api/pods")));
    REQUIRE(other.ok());
    CHECK(other->body == "{\"path\":\"/api/pods\",\"n\":1}");
    s.only_path.clear();
    s.only_method = "POST";
    proxy.set(s);
    CHECK(client.perform(request(http::Method::get, proxy.url("/api/deployments/x")))->status ==
          200);

    s = FaultSettings{};
    s.mode = FaultMode::rewrite;
    s.rewrite = [](const ProxiedRequest& r, long status, const std::string& body) {
        return r.target + " " + std::to_string(status) + " " + body;
    };
    proxy.set(s);
    auto rewritten = client.perform(request(http::Method::get, proxy.url("/api/a")));
    REQUIRE(rewritten.ok());
    CHECK(rewritten->body == "/api/a 200 {\"path\":\"/api/a\",\"n\":1}");

    s = FaultSettings{};
    s.mode = FaultMode::json_bomb;
    s.json_bomb_depth = 1000;
    proxy.set(s);
    auto bomb = client.perform(request(http::Method::get, proxy.url("/api/a")));
    REQUIRE(bomb.ok());
    CHECK(bomb->body == std::string(1000, '[') + std::string(1000, ']'));

    // A gzip bomb inflating to 64 MiB: the client's body cap applies to the inflated bytes.
    s = FaultSettings{};
    s.mode = FaultMode::gzip_bomb;
    s.gzip_bomb_bytes = 64u << 20u;
    proxy.set(s);
    http::ClientOptions capped;
    capped.retry = http::RetryPolicy::none();
    capped.max_body_bytes = 1u << 20u;
    capped.accept_compressed = true;
    auto gz = http::Client(capped).perform(request(http::Method::get, proxy.url("/api/a")));
    REQUIRE_FALSE(gz.ok());
    CHECK(gz.error().code == Errc::too_large);
}
