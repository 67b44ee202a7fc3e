// The HTTP client against real local servers (cpp-httplib on 127.0.0.1): retries, timeouts,
// size caps, TLS, credentials, concurrency and redirects.

#include "fault_proxy.h"
#include "oncall/http/client.h"
#include "oncall/http/json.h"
#include "process.h"
#include "test_server.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

using namespace oncall;
using namespace oncall::http;
using namespace oncall::test;
using namespace std::chrono_literals;

namespace {

// Collects the client's log lines.
struct LogCapture {
    std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
    std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();

    std::function<void(std::string_view)> sink() const {
        return [m = mutex, l = lines](std::string_view line) {
            std::lock_guard lock(*m);
            l->emplace_back(line);
        };
    }
    std::string text() const {
        std::lock_guard lock(*mutex);
        std::string out;
        for (const auto& line : *lines) {
            out += line + "\n";
        }
        return out;
    }
};

ClientOptions fast_options() {
    ClientOptions o;
    o.name = "test server";
    o.connect_timeout = 2s;
    o.total_timeout = 5s;
    o.retry.max_attempts = 3;
    o.retry.base_delay = 10ms;
    o.retry.max_delay = 3s;
    return o;
}

Request get(const std::string& url) {
    Request r;
    r.url = url;
    return r;
}

} // namespace

TEST_CASE("GET returns status, headers and body", "[http][client]") {
    TestServer server;
    server.on("GET", "/hello", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_header("X-Answer", "42");
        res.set_content(R"({"ok":true})", "application/json");
    });
    server.start();
    Client client(fast_options());
    auto r = client.perform(get(server.url("/hello?x=1")));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->is_success());
    CHECK(r->body == R"({"ok":true})");
    CHECK(r->header("x-answer") == std::optional<std::string>("42"));
    CHECK(r->url == server.url("/hello?x=1"));
    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].params.find("x")->second == "1");
    // No compression is asked for unless a caller opts in (decompression bombs).
    CHECK(requests[0].header("Accept-Encoding").empty());
    CHECK(requests[0].header("User-Agent").rfind("oncall/", 0) == 0);
}

TEST_CASE("POST, PUT, PATCH and DELETE send their bodies and methods", "[http][client]") {
    TestServer server;
    auto echo = [](const httplib::Request& req, httplib::Response& res, std::size_t) {
        res.set_content(req.method + ":" + req.body, "text/plain");
    };
    server.on("POST", "/x", echo)
        .on("PUT", "/x", echo)
        .on("PATCH", "/x", echo)
        .on("DELETE", "/x", echo);
    server.start();
    Client client(fast_options());
    for (const auto& [method, name] :
         std::vector<std::pair<Method, std::string>>{{Method::post, "POST"},
                                                     {Method::put, "PUT"},
                                                     {Method::patch, "PATCH"},
                                                     {Method::del, "DELETE"}}) {
        Request r = get(server.url("/x"));
        r.method = method;
        r.body = R"({"a":1})";
        r.headers.push_back({"Content-Type", "application/json"});
        auto res = client.perform(r);
        REQUIRE(res.ok());
        CHECK(res->body == name + R"(:{"a":1})");
    }
}

TEST_CASE("a GET answered 503 is retried and the 200 returned", "[http][client][retry]") {
    TestServer server;
    server.on("GET", "/flaky", [](const httplib::Request&, httplib::Response& res, std::size_t i) {
        if (i == 0) {
            res.status = 503;
            res.set_content("busy", "text/plain");
        } else {
            res.set_content("fine", "text/plain");
        }
    });
    server.start();
    LogCapture log;
    auto options = fast_options();
    options.log = log.sink();
    Client client(options);
    auto r = client.perform(get(server.url("/flaky")));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->body == "fine");
    CHECK(server.request_count() == 2);
    CHECK(log.text().find("HTTP 503; retrying in") != std::string::npos);
}

TEST_CASE("retries stop after max_attempts and return the last response", "[http][client][retry]") {
    TestServer server;
    server.on("GET", "/down", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.status = 502;
        res.set_content("bad gateway", "text/plain");
    });
    server.start();
    Client client(fast_options());
    auto r = client.perform(get(server.url("/down")));
    REQUIRE(r.ok());
    CHECK(r->status == 502);
    CHECK(server.request_count() == 3);
}

TEST_CASE("a POST answered 503 is not retried", "[http][client][retry]") {
    TestServer server;
    server.on("POST", "/write", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.status = 503;
        res.set_content("busy", "text/plain");
    });
    server.start();
    LogCapture log;
    auto options = fast_options();
    options.log = log.sink();
    Client client(options);
    Request r = get(server.url("/write"));
    r.method = Method::post;
    r.body = "x=1";
    auto res = client.perform(r);
    REQUIRE(res.ok());
    CHECK(res->status == 503);
    CHECK(server.request_count() == 1);
    CHECK(log.text().find("not retried (POST is not idempotent)") != std::string::npos);
}

TEST_CASE("non-transient statuses are not retried", "[http][client][retry]") {
    TestServer server;
    server.on("GET", "/(.*)", [](const httplib::Request& req, httplib::Response& res, std::size_t) {
        res.status = std::stoi(req.matches[1]);
    });
    server.start();
    Client client(fast_options());
    for (const int status : {400, 401, 403, 404, 409, 501}) {
        const auto before = server.request_count();
        auto r = client.perform(get(server.url("/" + std::to_string(status))));
        REQUIRE(r.ok());
        CHECK(r->status == status);
        CHECK(server.request_count() == before + 1);
    }
    for (const int status : {408, 429, 500, 504}) {
        const auto before = server.request_count();
        auto r = client.perform(get(server.url("/" + std::to_string(status))));
        REQUIRE(r.ok());
        CHECK(server.request_count() == before + 3);
    }
}

TEST_CASE("Retry-After in seconds is honoured", "[http][client][retry]") {
    TestServer server;
    server.on("GET", "/limited",
              [](const httplib::Request&, httplib::Response& res, std::size_t i) {
                  if (i == 0) {
                      res.status = 429;
                      res.set_header("Retry-After", "1");
                  } else {
                      res.set_content("ok", "text/plain");
                  }
              });
    server.start();
    Client client(fast_options()); // base delay 10 ms: only the header can explain a 1 s gap
    auto r = client.perform(get(server.url("/limited")));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    const auto requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(millis_between(requests[0].started, requests[1].started) >= 1000);
}

TEST_CASE("Retry-After as an HTTP date is honoured", "[http][client][retry]") {
    TestServer server;
    server.on("GET", "/limited",
              [](const httplib::Request&, httplib::Response& res, std::size_t i) {
                  if (i == 0) {
                      // Two whole seconds ahead of the current second: at least one second from
                      // now.
                      const std::time_t when = std::time(nullptr) + 2;
                      char date[64];
                      std::tm tm{};
                      gmtime_r(&when, &tm);
                      std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
                      res.status = 503;
                      res.set_header("Retry-After", date);
                  } else {
                      res.set_content("ok", "text/plain");
                  }
              });
    server.start();
    Client client(fast_options());
    auto r = client.perform(get(server.url("/limited")));
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    const auto requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(millis_between(requests[0].started, requests[1].started) >= 1000);
}

TEST_CASE("a Retry-After beyond max_delay ends the retries instead of coming back early",
          "[http][client][retry]") {
    TestServer server;
    server.on("GET", "/later", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.status = 503;
        res.set_header("Retry-After", "3600");
    });
    server.start();
    LogCapture log;
    auto options = fast_options();
    options.log = log.sink();
    Client client(options);
    auto r = client.perform(get(server.url("/later")));
    REQUIRE(r.ok());
    CHECK(r->status == 503);
    CHECK(server.request_count() == 1);
    CHECK(log.text().find("giving up") != std::string::npos);
}

TEST_CASE("a slow server is a timeout error naming the server and the URL", "[http][client]") {
    TestServer server;
    server.on("GET", "/slow",
              [&server](const httplib::Request&, httplib::Response& res, std::size_t) {
                  server.sleep(10s);
                  res.set_content("late", "text/plain");
              });
    server.start();
    auto options = fast_options();
    options.name = "prometheus";
    options.retry = RetryPolicy::none();
    Client client(options);
    Request req = get(server.url("/slow"));
    req.timeout = 300ms;
    auto r = client.perform(req);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::timeout);
    CHECK(r.error().retryable);
    CHECK(r.error().message.rfind(
              "prometheus at " + server.url("/slow") + ": timed out after 300ms", 0) == 0);
}

TEST_CASE("timeouts of idempotent requests are retried", "[http][client][retry]") {
    TestServer server;
    server.on("GET", "/slow-once",
              [&server](const httplib::Request&, httplib::Response& res, std::size_t i) {
                  if (i == 0) {
                      server.sleep(10s);
                  }
                  res.set_content("ok", "text/plain");
              });
    server.start();
    Client client(fast_options());
    Request req = get(server.url("/slow-once"));
    req.timeout = 1s;
    auto r = client.perform(req);
    REQUIRE(r.ok());
    CHECK(r->body == "ok");
    CHECK(server.request_count() == 2);
}

TEST_CASE("a refused connection is a connect error with the next step", "[http][client]") {
    int port = 0;
    {
        TestServer probe; // find a free port, then close it
        probe.start();
        port = probe.port();
    }
    auto options = fast_options();
    options.retry = RetryPolicy::none();
    Client client(options);
    auto r = client.perform(get("http://127.0.0.1:" + std::to_string(port) + "/"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::connect);
    CHECK(r.error().message.find("check that the server is running") != std::string::npos);
}

TEST_CASE("a body over the size cap is refused", "[http][client]") {
    TestServer server;
    server.on("GET", "/big", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content(std::string(100000, 'x'), "text/plain");
    });
    server.on("GET", "/big-chunked",
              [](const httplib::Request&, httplib::Response& res, std::size_t) {
                  res.set_chunked_content_provider("text/plain",
                                                   [](size_t offset, httplib::DataSink& sink) {
                                                       const std::string block(8192, 'y');
                                                       sink.write(block.data(), block.size());
                                                       if (offset > 200000) {
                                                           sink.done();
                                                       }
                                                       return true;
                                                   });
              });
    server.start();
    auto options = fast_options();
    options.max_body_bytes = 50000;
    Client client(options);
    for (const char* path : {"/big", "/big-chunked"}) {
        auto r = client.perform(get(server.url(path)));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::too_large);
        CHECK(r.error().message.find("larger than the 50000 bytes limit") != std::string::npos);
    }
}

TEST_CASE("garbage bodies are reported clearly by parse_json_body", "[http][client][json]") {
    TestServer upstream;
    upstream.on(
        "GET", "/api/v1/query", [](const httplib::Request&, httplib::Response& res, std::size_t) {
            res.set_content(
                R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}})",
                "application/json");
        });
    upstream.start();
    FaultProxy::Options proxy_options;
    proxy_options.upstream = upstream.url();
    FaultProxy proxy(proxy_options);
    auto options = fast_options();
    options.name = "prometheus";
    options.retry = RetryPolicy::none();
    Client client(options);
    const std::string url = proxy.url("/api/v1/query");

    SECTION("pass-through decodes") {
        auto r = client.perform(get(url));
        REQUIRE(r.ok());
        auto json = parse_json_body(*r, "prometheus");
        REQUIRE(json.ok());
        CHECK((*json)["status"] == "success");
    }
    SECTION("an HTML error page with 200") {
        FaultSettings s;
        s.mode = FaultMode::html_page;
        s.html_status = 200;
        proxy.set(s);
        auto r = client.perform(get(url));
        REQUIRE(r.ok());
        CHECK(r->status == 200);
        auto json = parse_json_body(*r, "prometheus");
        REQUIRE_FALSE(json.ok());
        CHECK(json.error().code == Errc::bad_response);
        CHECK(json.error().message == "prometheus at " + url +
                                          ": answered an HTML page (\"502 Bad Gateway\") instead "
                                          "of JSON; a proxy, login page or load "
                                          "balancer is probably in the way, check the URL");
    }
    SECTION("an HTML error page with 502 is a status error that does not dump the page") {
        FaultSettings s;
        s.mode = FaultMode::html_page;
        proxy.set(s);
        auto r = client.perform(get(url));
        REQUIRE(r.ok());
        CHECK(r->status == 502);
        const Error e = status_error(*r, "prometheus");
        CHECK(e.message == "prometheus at " + url +
                               ": HTTP 502 Bad Gateway (an HTML page, probably from a proxy or "
                               "load balancer); the "
                               "server is failing or overloaded, try again shortly");
    }
    SECTION("a body cut short of its Content-Length is a transport error") {
        FaultSettings s;
        s.mode = FaultMode::truncated_json;
        proxy.set(s);
        auto r = client.perform(get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::bad_response);
        CHECK(r.error().message.find("prometheus at " + url +
                                     ": the response body was cut short") == 0);
    }
    SECTION("a truncated JSON document with a matching length is caught by the decoder") {
        FaultSettings s;
        s.mode = FaultMode::truncated_json;
        s.truncated_length_matches = true;
        proxy.set(s);
        auto r = client.perform(get(url));
        REQUIRE(r.ok());
        auto json = parse_json_body(*r, "prometheus");
        REQUIRE_FALSE(json.ok());
        CHECK(json.error().code == Errc::bad_response);
        CHECK(json.error().message.find("prometheus at " + url +
                                        ": answered JSON that ends too early") == 0);
    }
    SECTION("a reset connection is a retryable connect error") {
        FaultSettings s;
        s.mode = FaultMode::reset;
        proxy.set(s);
        auto r = client.perform(get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::connect);
        CHECK(r.error().retryable);
        CHECK(r.error().message.find("closed or reset") != std::string::npos);
    }
    SECTION("a reset followed by a good answer succeeds on retry") {
        FaultSettings s;
        s.mode = FaultMode::reset;
        s.fault_count = 1;
        proxy.set(s);
        auto retrying = fast_options();
        Client retry_client(retrying);
        auto r = retry_client.perform(get(url));
        REQUIRE(r.ok());
        CHECK(r->status == 200);
        CHECK(proxy.request_count() == 2);
    }
    SECTION("an oversized body without a length stops at the cap") {
        FaultSettings s;
        s.mode = FaultMode::oversized;
        s.oversized_bytes = 8u << 20u;
        proxy.set(s);
        auto capped = options;
        capped.max_body_bytes = 1u << 20u;
        auto r = Client(capped).perform(get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::too_large);
        CHECK(r.error().message.find("larger than the 1 MiB limit") != std::string::npos);
    }
    SECTION("an oversized body with a declared length is refused before reading it") {
        FaultSettings s;
        s.mode = FaultMode::oversized;
        s.oversized_declares_length = true;
        s.oversized_bytes = 8u << 20u;
        proxy.set(s);
        auto capped = options;
        capped.max_body_bytes = 1u << 20u;
        auto r = Client(capped).perform(get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::too_large);
    }
    SECTION("an endless chunked body ends at the cap") {
        FaultSettings s;
        s.mode = FaultMode::endless_chunked;
        proxy.set(s);
        auto capped = options;
        capped.max_body_bytes = 256u << 10u;
        auto r = Client(capped).perform(get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::too_large);
    }
    SECTION("a slow-loris answer ends at the deadline") {
        FaultSettings s;
        s.mode = FaultMode::slow_loris;
        s.trickle_interval = 50ms;
        proxy.set(s);
        Request req = get(url);
        req.timeout = 400ms;
        auto r = client.perform(req);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::timeout);
    }
    SECTION("headers over the limit are refused") {
        FaultSettings s;
        s.mode = FaultMode::huge_headers;
        proxy.set(s);
        auto r = client.perform(get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::too_large);
        CHECK(r.error().message.find("headers") != std::string::npos);
    }
    SECTION("bytes that are not HTTP are a bad response") {
        FaultSettings s;
        s.mode = FaultMode::garbage;
        proxy.set(s);
        auto r = client.perform(get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::bad_response);
    }
}

TEST_CASE("TLS: verification fails without the CA, passes with it or with the insecure switch",
          "[http][client][tls]") {
    TempDir dir;
    const TestPki pki = make_test_pki(dir.path());
    TestServer server(TestServer::Tls{pki.cert_file, pki.key_file});
    server.on("GET", "/secure", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content("secret-free", "text/plain");
    });
    server.start();
    const std::string url = server.url("/secure");
    REQUIRE(url.rfind("https://", 0) == 0);

    SECTION("without the CA file") {
        auto options = fast_options();
        options.name = "kubernetes";
        Client client(options);
        auto r = client.perform(get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::tls);
        CHECK_FALSE(r.error().retryable);
        CHECK(r.error().message.find("kubernetes at " + url + ": TLS failed") == 0);
        CHECK(r.error().message.find("set ca-file") != std::string::npos);
        CHECK(server.request_count() == 0);
    }
    SECTION("with the CA file") {
        auto options = fast_options();
        options.tls.ca_file = pki.ca_file;
        auto r = Client(options).perform(get(url));
        REQUIRE(r.ok());
        CHECK(r->body == "secret-free");
    }
    SECTION("with a CA file that does not exist") {
        auto options = fast_options();
        options.tls.ca_file = dir.path() + "/missing.pem";
        auto r = Client(options).perform(get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::tls);
        CHECK(r.error().message.find("missing.pem") != std::string::npos);
    }
    SECTION("with the insecure switch, and a warning") {
        LogCapture log;
        auto options = fast_options();
        options.name = "kubernetes";
        options.tls.insecure_skip_verify = true;
        options.log = log.sink();
        Client client(options);
        CHECK(log.text().find("warning: TLS verification is OFF for kubernetes") !=
              std::string::npos);
        auto r = client.perform(get(url));
        REQUIRE(r.ok());
        CHECK(r->body == "secret-free");
    }
    SECTION("an expired certificate fails even with the CA") {
        TempDir other;
        const TestPki expired = make_test_pki(other.path(), {"127.0.0.1"}, true);
        TestServer stale(TestServer::Tls{expired.cert_file, expired.key_file});
        stale.on("GET", "/secure",
                 [](const httplib::Request&, httplib::Response& res, std::size_t) {
                     res.set_content("x", "text/plain");
                 });
        stale.start();
        auto options = fast_options();
        options.tls.ca_file = expired.ca_file;
        auto r = Client(options).perform(get(stale.url("/secure")));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::tls);
        CHECK(r.error().message.find("expired") != std::string::npos);
        CHECK(stale.request_count() == 0);
    }
    SECTION("a certificate for another host fails even with the CA") {
        TempDir other;
        const TestPki wrong = make_test_pki(other.path(), {"wrong.example"});
        TestServer impostor(TestServer::Tls{wrong.cert_file, wrong.key_file});
        impostor.on("GET", "/secure",
                    [](const httplib::Request&, httplib::Response& res, std::size_t) {
                        res.set_content("x", "text/plain");
                    });
        impostor.start();
        auto options = fast_options();
        options.tls.ca_file = wrong.ca_file;
        auto r = Client(options).perform(get(impostor.url("/secure")));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::tls);
    }
}

TEST_CASE("a bearer token is sent but never logged nor put in error messages",
          "[http][client][secrets]") {
    const std::string token = "tok-9f8e7d6c5b4a3210-SECRET";
    const std::string request_token = "grant-0a1b2c3d4e5f-SECRET";
    TestServer server;
    server.on("GET", "/auth", [](const httplib::Request& req, httplib::Response& res, std::size_t) {
        res.set_content(req.get_header_value("Authorization"), "text/plain");
    });
    server.on("GET", "/fail", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.status = 503;
    });
    server.on("GET", "/slow",
              [&server](const httplib::Request&, httplib::Response& res, std::size_t) {
                  server.sleep(5s);
                  res.status = 200;
              });
    server.start();
    LogCapture log;
    auto options = fast_options();
    options.bearer_token = token;
    options.log = log.sink();
    Client client(options);

    auto r = client.perform(get(server.url("/auth")));
    REQUIRE(r.ok());
    CHECK(r->body == "Bearer " + token);

    Request per_request = get(server.url("/auth"));
    per_request.bearer_token = request_token;
    r = client.perform(per_request);
    REQUIRE(r.ok());
    CHECK(r->body == "Bearer " + request_token);

    // Credentials in the URL itself, a failing status with retries, a timeout.
    r = client.perform(get("http://user:" + token + "@127.0.0.1:" + std::to_string(server.port()) +
                           "/fail?access_token=" + token));
    REQUIRE(r.ok());
    CHECK(r->url.find(token) == std::string::npos);
    const Error status = status_error(*r, "test server");
    CHECK(status.message.find(token) == std::string::npos);
    Request slow = get(server.url("/slow?token=" + token));
    slow.timeout = 200ms;
    slow.bearer_token = request_token;
    auto failed = client.perform(slow);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().message.find(token) == std::string::npos);
    CHECK(failed.error().message.find(request_token) == std::string::npos);

    const std::string logged = log.text();
    CHECK(logged.find("Authorization: Bearer <redacted>") != std::string::npos);
    CHECK(logged.find("access_token=<redacted>") != std::string::npos);
    CHECK(logged.find(token) == std::string::npos);
    CHECK(logged.find(request_token) == std::string::npos);
    CHECK(logged.find("SECRET") == std::string::npos);
}

TEST_CASE("perform_all runs requests concurrently", "[http][client][concurrency]") {
    constexpr int k_requests = 6;
    TestServer server;
    std::atomic<int> reached{0};
    server.on("GET", "/wait", [&](const httplib::Request&, httplib::Response& res, std::size_t) {
        // Every handler waits until all requests are in flight at once (or gives up after 5 s).
        if (server.barrier(k_requests, 5s)) {
            ++reached;
        }
        res.set_content("ok", "text/plain");
    });
    server.start();
    LogCapture log;
    auto options = fast_options();
    options.log = log.sink();
    Client client(options);
    std::vector<Request> requests(k_requests, get(server.url("/wait")));
    const auto results = client.perform_all(requests, k_requests);
    REQUIRE(results.size() == k_requests);
    for (const auto& r : results) {
        INFO((r.ok() ? std::string() : r.error().message));
        INFO(log.text());
        INFO(server.max_in_flight());
        REQUIRE(r.ok());
        CHECK(r->status == 200);
    }
    CHECK(server.max_in_flight() == k_requests);
    CHECK(reached.load() == k_requests);
    // Every request started before any finished: the intervals overlap.
    const auto recorded = server.requests();
    auto latest_start = recorded.front().started;
    auto earliest_end = recorded.front().finished;
    for (const auto& r : recorded) {
        latest_start = std::max(latest_start, r.started);
        earliest_end = std::min(earliest_end, r.finished);
    }
    CHECK(latest_start <= earliest_end);
}

TEST_CASE("perform_all never has more than max_parallel requests in flight",
          "[http][client][concurrency]") {
    TestServer server;
    server.on("GET", "/wait", [&](const httplib::Request&, httplib::Response& res, std::size_t) {
        server.barrier(
            3, 300ms); // returns early only if a third request is in flight: the bound is broken
        res.set_content("ok", "text/plain");
    });
    server.start();
    Client client(fast_options());
    std::vector<Request> requests(6, get(server.url("/wait")));
    const auto results = client.perform_all(requests, 2);
    for (const auto& r : results) {
        REQUIRE(r.ok());
    }
    CHECK(server.request_count() == 6);
    CHECK(server.max_in_flight() <= 2);
}

TEST_CASE("perform_all returns results in request order with per-request failures and retries",
          "[http][client][concurrency]") {
    TestServer server;
    server.on("GET", "/item/(\\d+)",
              [&server](const httplib::Request& req, httplib::Response& res, std::size_t) {
                  const int n = std::stoi(req.matches[1]);
                  server.sleep(
                      std::chrono::milliseconds(10 * (5 - n % 5))); // finish in reverse order
                  res.set_content("item " + std::to_string(n), "text/plain");
              });
    std::atomic<int> flaky_calls{0};
    server.on("GET", "/flaky", [&](const httplib::Request&, httplib::Response& res, std::size_t) {
        if (flaky_calls++ == 0) {
            res.status = 503;
        } else {
            res.set_content("recovered", "text/plain");
        }
    });
    server.on("GET", "/missing", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.status = 404;
    });
    server.start();
    int closed_port = 0;
    {
        TestServer probe;
        probe.start();
        closed_port = probe.port();
    }
    std::vector<Request> requests;
    for (int i = 0; i < 5; ++i) {
        requests.push_back(get(server.url("/item/" + std::to_string(i))));
    }
    requests.push_back(get(server.url("/flaky")));
    requests.push_back(get("http://127.0.0.1:" + std::to_string(closed_port) + "/nothing"));
    requests.push_back(get(server.url("/missing")));
    Client client(fast_options());
    const auto results = client.perform_all(requests, 4);
    REQUIRE(results.size() == requests.size());
    for (int i = 0; i < 5; ++i) {
        REQUIRE(results[i].ok());
        CHECK(results[i]->body == "item " + std::to_string(i));
    }
    REQUIRE(results[5].ok());
    CHECK(results[5]->body == "recovered");
    REQUIRE_FALSE(results[6].ok());
    CHECK(results[6].error().code == Errc::connect);
    CHECK(results[6].error().message.find("(after 3 attempts)") != std::string::npos);
    REQUIRE(results[7].ok());
    CHECK(results[7]->status == 404);
    CHECK(client.perform_all({}, 4).empty());
}

TEST_CASE("perform_all honours Retry-After per request", "[http][client][retry][concurrency]") {
    TestServer server;
    server.on("GET", "/limited",
              [](const httplib::Request&, httplib::Response& res, std::size_t i) {
                  if (i == 0) {
                      res.status = 429;
                      res.set_header("Retry-After", "1");
                  } else {
                      res.set_content("ok", "text/plain");
                  }
              });
    server.start();
    Client client(fast_options());
    const auto results = client.perform_all({get(server.url("/limited"))}, 4);
    REQUIRE(results[0].ok());
    CHECK(results[0]->status == 200);
    const auto recorded = server.requests();
    REQUIRE(recorded.size() == 2);
    CHECK(millis_between(recorded[0].started, recorded[1].started) >= 1000);
}

TEST_CASE("redirects to another host are not followed and credentials stay home",
          "[http][client][redirect]") {
    TestServer elsewhere;
    elsewhere.on("GET", "/(.*)", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content("elsewhere", "text/plain");
    });
    elsewhere.start();
    // Same loopback address, different host name and port: curl treats it as another host.
    const std::string other = "http://localhost:" + std::to_string(elsewhere.port()) + "/stolen";
    TestServer origin;
    origin.on("GET", "/moved", [&](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_redirect(other);
    });
    origin.start();

    const std::string token = "redirect-token-SECRET-123456";
    auto options = fast_options();
    options.bearer_token = token;

    SECTION("by default the 3xx is returned") {
        auto r = Client(options).perform(get(origin.url("/moved")));
        REQUIRE(r.ok());
        CHECK(r->status == 302);
        CHECK(r->header("Location") == std::optional<std::string>(other));
        CHECK(elsewhere.request_count() == 0);
    }
    SECTION("when following is enabled, the token is not sent to the other host") {
        options.follow_redirects = true;
        auto r = Client(options).perform(get(origin.url("/moved")));
        REQUIRE(r.ok());
        CHECK(r->body == "elsewhere");
        const auto seen = elsewhere.requests();
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].header("Authorization").empty());
        CHECK(origin.requests().at(0).header("Authorization") == "Bearer " + token);
    }
}

TEST_CASE("stream hands the body over as it arrives and stops when asked",
          "[http][client][stream]") {
    TestServer server;
    server.on("GET", "/watch", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_chunked_content_provider("application/json", [](size_t offset,
                                                                httplib::DataSink& sink) {
            const std::string line = R"({"type":"MODIFIED","n":)" + std::to_string(offset) + "}\n";
            sink.write(line.data(), line.size());
            std::this_thread::sleep_for(5ms);
            return true; // endless
        });
    });
    server.on("GET", "/denied", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.status = 403;
        res.set_content(R"({"kind":"Status","reason":"Forbidden"})", "application/json");
    });
    server.start();
    Client client(fast_options());
    std::string received;
    int chunks = 0;
    Request req = get(server.url("/watch"));
    req.timeout = 10s;
    auto r = client.stream(req, [&](std::string_view chunk) {
        received.append(chunk);
        return ++chunks < 5;
    });
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(chunks == 5);
    CHECK(received.rfind(R"({"type":"MODIFIED","n":0})", 0) == 0);

    bool called = false;
    auto denied = client.stream(get(server.url("/denied")), [&](std::string_view) {
        called = true;
        return true;
    });
    REQUIRE(denied.ok());
    CHECK(denied->status == 403);
    CHECK_FALSE(called);
    CHECK(denied->body.find("Forbidden") != std::string::npos);
}

TEST_CASE("a client can be shared between threads", "[http][client][concurrency]") {
    TestServer server;
    server.on("GET", "/n/(\\d+)",
              [](const httplib::Request& req, httplib::Response& res, std::size_t) {
                  res.set_content(req.matches[1], "text/plain");
              });
    server.start();
    Client client(fast_options());
    std::vector<std::thread> threads;
    std::atomic<int> good{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i) {
                const std::string n = std::to_string(t * 100 + i);
                auto r = client.perform(get(server.url("/n/" + n)));
                if (r.ok() && r->body == n) {
                    ++good;
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    CHECK(good.load() == 80);
}

TEST_CASE("a retry budget bounds all attempts of a request", "[http][client][retry]") {
    TestServer server;
    server.on("GET", "/stuck",
              [&server](const httplib::Request&, httplib::Response& res, std::size_t) {
                  server.sleep(10s);
                  res.status = 200;
              });
    server.on("GET", "/later", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.status = 503;
        res.set_header("Retry-After", "1");
    });
    server.start();
    auto options = fast_options();
    options.total_timeout = 5s;
    options.retry.budget = 400ms;
    LogCapture log;
    options.log = log.sink();
    Client client(options);

    // The attempt's 5 s timeout is clipped to the budget, and no retry follows.
    auto r = client.perform(get(server.url("/stuck")));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::timeout);
    CHECK(server.request_count() == 1);
    CHECK(log.text().find("retry budget is spent") != std::string::npos);

    // A Retry-After that would end after the budget is not waited for.
    auto later = client.perform_all({get(server.url("/later"))}, 2);
    REQUIRE(later[0].ok());
    CHECK(later[0]->status == 503);
    CHECK(server.request_count() == 2);
}

TEST_CASE("perform_all of several clients shares one batch, each with its own credentials",
          "[http][client][concurrency]") {
    std::atomic<int> arrived{0};
    auto handler = [&arrived](const httplib::Request& req, httplib::Response& res, std::size_t) {
        ++arrived;
        // Wait (at most 5 s) until both servers are handling a request at once.
        for (int i = 0; i < 5000 && arrived.load() < 2; ++i) {
            std::this_thread::sleep_for(1ms);
        }
        res.set_content(req.get_header_value("Authorization") +
                            (arrived.load() >= 2 ? " together" : " alone"),
                        "text/plain");
    };
    TestServer prometheus;
    prometheus.on("GET", "/q", handler);
    prometheus.start();
    TestServer alertmanager;
    alertmanager.on("GET", "/a", handler);
    alertmanager.start();

    auto prom_options = fast_options();
    prom_options.name = "prometheus";
    prom_options.bearer_token = "prom-token";
    auto am_options = fast_options();
    am_options.name = "alertmanager";
    am_options.bearer_token = "am-token";
    const Client prom(prom_options);
    const Client am(am_options);
    int closed_port = 0;
    {
        TestServer probe;
        probe.start();
        closed_port = probe.port();
    }
    auto no_retry = fast_options();
    no_retry.name = "registry";
    no_retry.retry = RetryPolicy::none();
    const Client registry(no_retry);

    const auto results =
        perform_all({{prom, get(prometheus.url("/q"))},
                     {am, get(alertmanager.url("/a"))},
                     {registry, get("http://127.0.0.1:" + std::to_string(closed_port) + "/v2/")}},
                    8);
    REQUIRE(results.size() == 3);
    REQUIRE(results[0].ok());
    CHECK(results[0]->body == "Bearer prom-token together");
    REQUIRE(results[1].ok());
    CHECK(results[1]->body == "Bearer am-token together");
    REQUIRE_FALSE(results[2].ok());
    CHECK(results[2].error().code == Errc::connect);
    CHECK(results[2].error().message.rfind("registry at http://127.0.0.1:", 0) == 0);
}

TEST_CASE("proxies are taken from the standard environment variables", "[http][client][proxy]") {
    TestServer upstream;
    upstream.on("GET", "/via", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content("through the proxy", "text/plain");
    });
    upstream.start();
    FaultProxy::Options proxy_options; // no upstream: it forwards absolute-form requests
    FaultProxy proxy(proxy_options);

    struct EnvGuard {
        std::vector<std::pair<std::string, std::optional<std::string>>> saved;
        void set(const char* name, const char* value) {
            const char* old = std::getenv(name);
            saved.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
            if (value != nullptr) {
                ::setenv(name, value, 1);
            } else {
                ::unsetenv(name);
            }
        }
        ~EnvGuard() {
            for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
                if (it->second) {
                    ::setenv(it->first.c_str(), it->second->c_str(), 1);
                } else {
                    ::unsetenv(it->first.c_str());
                }
            }
        }
    } env;
    env.set("http_proxy", proxy.url().c_str());
    env.set("no_proxy", nullptr);
    env.set("NO_PROXY", nullptr);

    Client client(fast_options());
    auto r = client.perform(get(upstream.url("/via")));
    REQUIRE(r.ok());
    CHECK(r->body == "through the proxy");
    REQUIRE(proxy.request_count() == 1);
    CHECK(proxy.requests()[0].target == upstream.url("/via"));

    // no_proxy exempts the host.
    env.set("no_proxy", "127.0.0.1");
    r = client.perform(get(upstream.url("/via")));
    REQUIRE(r.ok());
    CHECK(proxy.request_count() == 1);
    CHECK(upstream.request_count() == 2);
}

TEST_CASE(
    "compression: not asked for by default, when accepted, the cap applies to the decoded size",
    "[http][client][hostile]") {
    // 8 MiB of zeros: a few KiB compressed.
    const std::string zeros(8u << 20u, '0');
    const ProcessResult gz = run_process({"gzip", "-c", "-9"}, [&] {
        ProcessOptions o;
        o.stdin_data = zeros;
        return o;
    }());
    REQUIRE(gz.exit_code == 0);
    REQUIRE(gz.out.size() < 64u * 1024u);
    const std::string bomb = gz.out;

    TestServer server;
    server.on("GET", "/bomb",
              [&bomb](const httplib::Request&, httplib::Response& res, std::size_t) {
                  // A hostile server that compresses whether or not it was asked to.
                  res.set_header("Content-Encoding", "gzip");
                  res.set_content(bomb, "application/json");
              });
    server.start();
    auto options = fast_options();
    options.retry = RetryPolicy::none();
    options.max_body_bytes = 1u << 20u;

    SECTION("by default the body is not decoded, so it stays small and decoders reject it") {
        auto r = Client(options).perform(get(server.url("/bomb")));
        REQUIRE(r.ok());
        CHECK(server.requests().at(0).header("Accept-Encoding").empty());
        CHECK(r->body.size() == bomb.size());
        auto json = parse_json_body(*r, "test server");
        REQUIRE_FALSE(json.ok());
        CHECK(json.error().code == Errc::bad_response);
    }
    SECTION("accepted: decoding stops at the cap") {
        options.accept_compressed = true;
        auto r = Client(options).perform(get(server.url("/bomb")));
        REQUIRE_FALSE(r.ok());
        CHECK(server.requests().at(0).header("Accept-Encoding").find("gzip") != std::string::npos);
        CHECK(r.error().code == Errc::too_large);
    }
}

TEST_CASE("URLs that are not http(s) are refused before any traffic", "[http][client]") {
    auto options = fast_options();
    options.retry = RetryPolicy::none();
    Client client(options);
    for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/"}) {
        auto r = client.perform(get(url));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid);
    }
    auto r = client.perform(get("http://[::1"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid);
}

TEST_CASE("header or token line breaks are refused before any traffic", "[http][client][hostile]") {
    TestServer server;
    server.on("GET", "/x", [](const httplib::Request&, httplib::Response& res, std::size_t) {
        res.set_content("x", "text/plain");
    });
    server.start();
    auto options = fast_options();
    options.retry = RetryPolicy::none();
    Client client(options);

    Request injected = get(server.url("/x"));
    injected.headers.push_back({"X-Service", "checkout\r\nAuthorization: Bearer stolen"});
    auto r = client.perform(injected);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid);
    CHECK(r.error().message.find("stolen") == std::string::npos);

    Request bad_token = get(server.url("/x"));
    bad_token.bearer_token = "abc\nX-Evil: 1";
    const auto results = client.perform_all({bad_token, get(server.url("/x"))}, 2);
    REQUIRE_FALSE(results[0].ok());
    CHECK(results[0].error().code == Errc::invalid);
    CHECK(results[0].error().message.find("X-Evil") == std::string::npos);
    REQUIRE(results[1].ok());

    auto streamed = client.stream(injected, [](std::string_view) { return true; });
    REQUIRE_FALSE(streamed.ok());
    CHECK(server.request_count() == 1);
}
