// The client's configured headers and Basic credentials, the credential source of 401/403 answers,
// and retries of writes that the server refused before running them (429/503 with Retry-After).

#include "oncall/http/client.h"
#include "test_server.h"

#include <catch2/catch.hpp>
#include <mutex>

using namespace oncall;
using namespace oncall::http;
using namespace oncall::test;
using namespace std::chrono_literals;

namespace {

struct Lines {
    std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
    std::shared_ptr<std::string> text = std::make_shared<std::string>();
    std::function<void(std::string_view)> sink() const {
        return [m = mutex, t = text](std::string_view line) {
            std::lock_guard lock(*m);
            t->append(line).push_back('\n');
        };
    }
    std::string all() const {
        std::lock_guard lock(*mutex);
        return *text;
    }
};

ClientOptions options_for_tests() {
    ClientOptions o;
    o.name = "prometheus";
    o.total_timeout = 5s;
    o.retry.max_attempts = 3;
    o.retry.base_delay = 10ms;
    o.retry.max_delay = 3s;
    return o;
}

} // namespace

TEST_CASE("configured headers go with every request unless the request sets its own",
          "[http][client][headers]") {
    TestServer server;
    server.on("GET", "/q", [](const httplib::Request& req, httplib::Response& res, std::size_t) {
        res.set_content(req.get_header_value("X-Scope-OrgID") + "|" +
                            req.get_header_value("X-Other"),
                        "text/plain");
    });
    server.start();
    Lines log;
    auto o = options_for_tests();
    o.headers = {{"X-Scope-OrgID", "tenant-a"}, {"X-Other", "o"}};
    o.log = log.sink();
    const Client client(o);
    Request r;
    r.url = server.url("/q");
    auto res = client.perform(r);
    REQUIRE(res.ok());
    CHECK(res->body == "tenant-a|o");
    r.headers.push_back({"x-scope-orgid", "tenant-b"});
    auto batch = client.perform_all({r, r});
    REQUIRE(batch[0].ok());
    CHECK(batch[0]->body == "tenant-b|o");
    CHECK(log.all().find("> X-Scope-OrgID: tenant-a") != std::string::npos);

    o.headers = {{"X-Bad", "a\r\nInjected: yes"}};
    auto refused = Client(o).perform(r);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::invalid);
    CHECK(server.request_count() == 3);
}

TEST_CASE("basic-auth is sent, never logged nor quoted, and a 401 names where it came from",
          "[http][client][secrets]") {
    const std::string password = "pa55-w0rd-never-shown";
    TestServer server;
    server.on("GET", "/api", [&](const httplib::Request& req, httplib::Response& res, std::size_t) {
        // "alice:pa55-w0rd-never-shown" in base64.
        if (req.get_header_value("Authorization") != "Basic YWxpY2U6cGE1NS13MHJkLW5ldmVyLXNob3du") {
            res.status = 401;
            res.set_header("WWW-Authenticate", "Basic realm=\"prometheus\"");
            res.set_content("Unauthorized\n", "text/plain");
            return;
        }
        res.set_content("ok", "text/plain");
    });
    server.start();
    Lines log;
    auto o = options_for_tests();
    o.basic_auth = ClientOptions::BasicAuth{"alice", password};
    o.credential_source = "basic-auth user 'alice' (password from $PROM_PASSWORD)";
    o.bearer_token = "ignored-bearer-token";
    o.log = log.sink();
    Request r;
    r.url = server.url("/api");
    auto res = Client(o).perform(r);
    REQUIRE(res.ok());
    CHECK(res->status == 200);

    o.basic_auth->password = "wrong-password-1234";
    res = Client(o).perform(r);
    REQUIRE(res.ok());
    REQUIRE(res->status == 401);
    CHECK(res->credential_source == o.credential_source);
    const Error e = status_error(*res, "prometheus");
    CHECK(e.code == Errc::access_denied);
    CHECK_THAT(e.message,
               Catch::Contains("HTTP 401") &&
                   Catch::Contains("sent basic-auth user 'alice' (password from $PROM_PASSWORD)"));

    // A request with its own credential does not get the Basic one.
    r.bearer_token = "per-request";
    res = Client(o).perform(r);
    REQUIRE(res.ok());
    CHECK(res->status == 401);
    CHECK(server.requests().back().header("Authorization") == "Bearer per-request");

    const std::string logged = log.all();
    CHECK(logged.find("Authorization: Basic <redacted> (user 'alice')") != std::string::npos);
    CHECK(logged.find(password) == std::string::npos);
    CHECK(logged.find("wrong-password-1234") == std::string::npos);
    CHECK(logged.find("YWxpY2") == std::string::npos);

    // Nothing configured: the advice says so.
    Response bare;
    bare.status = 403;
    bare.url = "http://p:9090/api/v1/query";
    CHECK_THAT(status_error(bare, "prometheus").message,
               Catch::Contains("no credentials are configured for it"));
}

TEST_CASE("a PATCH or POST refused with 429/503 and Retry-After is retried, without Retry-After it "
          "is not",
          "[http][client][retry]") {
    TestServer server;
    server.on("PATCH", "/apis/x",
              [](const httplib::Request&, httplib::Response& res, std::size_t i) {
                  if (i == 0) {
                      res.status = 429;
                      res.set_header("Retry-After", "1");
                      res.set_content(R"({"kind":"Status","reason":"TooManyRequests"})",
                                      "application/json");
                      return;
                  }
                  res.set_content("patched", "text/plain");
              });
    server.on("POST", "/apis/y",
              [](const httplib::Request&, httplib::Response& res, std::size_t i) {
                  if (i == 2) {
                      res.status = 503;
                      res.set_header("Retry-After", "0");
                      return;
                  }
                  res.set_content("created", "text/plain");
              });
    server.on("POST", "/apis/z", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.status = 429; // no Retry-After: the server may have run it
    });
    server.start();
    Lines log;
    auto o = options_for_tests();
    o.log = log.sink();
    const Client client(o);
    Request patch;
    patch.method = Method::patch;
    patch.url = server.url("/apis/x");
    patch.body = "[]";
    const auto started = std::chrono::steady_clock::now();
    auto res = client.perform(patch);
    REQUIRE(res.ok());
    CHECK(res->status == 200);
    CHECK(res->body == "patched");
    CHECK(std::chrono::steady_clock::now() - started >= 900ms); // waited as asked
    CHECK(log.all().find("HTTP 429, Retry-After 1; retrying") != std::string::npos);

    Request post;
    post.method = Method::post;
    post.url = server.url("/apis/y");
    res = client.perform(post);
    REQUIRE(res.ok());
    CHECK(res->body == "created");
    CHECK(server.request_count() == 4);

    post.url = server.url("/apis/z");
    res = client.perform(post);
    REQUIRE(res.ok());
    CHECK(res->status == 429);
    CHECK(server.request_count() == 5);
    CHECK(log.all().find("not retried (POST is not idempotent)") != std::string::npos);
}

TEST_CASE("a Retry-After that would overrun the command's deadline is not waited for",
          "[http][client][retry]") {
    TestServer server;
    server.on("PATCH", "/apis/x", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.status = 429;
        res.set_header("Retry-After", "2");
    });
    server.start();
    auto o = options_for_tests();
    o.retry.budget = 1s;
    Request patch;
    patch.method = Method::patch;
    patch.url = server.url("/apis/x");
    const auto started = std::chrono::steady_clock::now();
    auto res = Client(o).perform(patch);
    REQUIRE(res.ok());
    CHECK(res->status == 429);
    CHECK(server.request_count() == 1);
    CHECK(std::chrono::steady_clock::now() - started < 1s);
}
