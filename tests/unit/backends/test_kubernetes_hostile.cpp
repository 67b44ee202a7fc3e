// The Kubernetes client against a hostile API server (a local test server): nesting bombs, ERROR
// events with fields of the wrong type, and watch lines that never end. Each must be a clear
// Errc::bad_response (or the error the Status describes), never a crash or unbounded memory.

#include "oncall/backends/kubernetes.h"
#include "test_server.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <string>

using namespace oncall;
using oncall::test::TestServer;

namespace {

kube::KubeClient client_for(const TestServer& server) {
    kube::Connection c;
    c.server = server.url();
    c.namespace_name = "shop";
    c.token = "engineer-token";
    return kube::KubeClient(c, {}, std::chrono::seconds(10));
}

std::string nesting_bomb(std::size_t depth) {
    return "{\"apiVersion\":\"apps/"
           "v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"checkout\"},\"spec\":{"
           "\"template\":{\"spec\":{\"x\":" +
           std::string(depth, '[') + std::string(depth, ']') + "}}}}";
}

} // namespace

TEST_CASE("a Deployment nested 100000 levels deep is refused, not a stack overflow",
          "[kubernetes][hostile]") {
    TestServer server;
    server.on("GET", "/apis/apps/v1/namespaces/shop/deployments/checkout",
              [](const httplib::Request&, httplib::Response& res, std::size_t) {
                  res.set_content(nesting_bomb(100000), "application/json");
              });
    server.start();
    const auto r = client_for(server).get_deployment("shop", "checkout");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::bad_response);
    CHECK_THAT(r.error().message, Catch::Contains("nested deeper than"));
}

TEST_CASE("watch: an ERROR event whose code is a string is an error, not an exception",
          "[kubernetes][hostile]") {
    TestServer server;
    server.on("GET", "/apis/apps/v1/namespaces/shop/deployments",
              [](const httplib::Request&, httplib::Response& res, std::size_t) {
                  res.set_content(
                      "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":\"410\","
                      "\"reason\":\"Expired\",\"message\":\"too old resource version\"}}\n",
                      "application/json");
              });
    server.start();
    int events = 0;
    const auto r =
        client_for(server).watch("/apis/apps/v1/namespaces/shop/deployments", {},
                                 [&](const kube::WatchEvent&) { return ++events, true; });
    REQUIRE_FALSE(r.ok());
    CHECK(events == 0);
    CHECK_FALSE(r.error().message.empty());
}

TEST_CASE("watch: a nesting bomb in an event is refused", "[kubernetes][hostile]") {
    TestServer server;
    server.on("GET", "/apis/apps/v1/namespaces/shop/deployments",
              [](const httplib::Request&, httplib::Response& res, std::size_t) {
                  res.set_content("{\"type\":\"MODIFIED\",\"object\":" + nesting_bomb(100000) +
                                      "}\n",
                                  "application/json");
              });
    server.start();
    int events = 0;
    const auto r =
        client_for(server).watch("/apis/apps/v1/namespaces/shop/deployments", {},
                                 [&](const kube::WatchEvent&) { return ++events, true; });
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::bad_response);
    CHECK(events == 0);
}

TEST_CASE("watch: a line longer than the event cap ends the watch", "[kubernetes][hostile]") {
    std::atomic<std::size_t> sent{0}; // declared first: outlives the server's threads
    TestServer server;
    server.on("GET", "/apis/apps/v1/namespaces/shop/deployments",
              [&sent](const httplib::Request&, httplib::Response& res, std::size_t) {
                  // An endless chunked body with no newline: one event that never ends.
                  res.set_chunked_content_provider(
                      "application/json", [&sent](std::size_t, httplib::DataSink& sink) {
                          static const std::string chunk(1 << 20, ' ');
                          sent += chunk.size();
                          return sent < (64u << 20u) && sink.write(chunk.data(), chunk.size());
                      });
              });
    server.start();
    kube::WatchOptions options;
    options.timeout = std::chrono::seconds(60);
    const auto r = client_for(server).watch("/apis/apps/v1/namespaces/shop/deployments", options,
                                            [](const kube::WatchEvent&) { return true; });
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::bad_response);
    CHECK_THAT(r.error().message, Catch::Contains("longer than"));
    CHECK(sent < (64u << 20u)); // the client stopped reading well before the server gave up
}

TEST_CASE("decode_watch_event: types and ERROR statuses", "[kubernetes][hostile]") {
    const auto added = kube::decode_watch_event(
        R"({"type":"ADDED","object":{"kind":"Deployment"}})", "WATCH x", "u");
    REQUIRE(added.ok());
    CHECK(added->type == "ADDED");
    CHECK(added->object["kind"] == "Deployment");
    const auto gone = kube::decode_watch_event(
        R"({"type":"ERROR","object":{"kind":"Status","status":"Failure","reason":"Expired","code":410}})",
        "WATCH x", "u");
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.error().http_status == 410);
    for (const char* bad :
         {"[]", "{}", R"({"type":7})", "nope", R"({"type":"ERROR","object":{"code":1e300}})",
          R"({"type":"ERROR","object":[1,2]})"}) {
        INFO(bad);
        CHECK_FALSE(kube::decode_watch_event(bad, "WATCH x", "u").ok());
    }
}

TEST_CASE("DELETE answered by a proxy's HTML page with 200 is not taken for a deletion",
          "[kubernetes][hostile]") {
    TestServer server;
    server.on("DELETE", "/api/v1/namespaces/shop/secrets/(.*)",
              [](const httplib::Request& req, httplib::Response& res, std::size_t) {
                  if (req.matches[1] == "gone") {
                      res.set_content(R"({"kind":"Status","apiVersion":"v1","status":"Success"})",
                                      "application/json");
                  } else {
                      res.set_content("<html><head><title>Login</title></head></html>",
                                      "text/html");
                  }
              });
    server.start();
    const auto client = client_for(server);
    CHECK(client.del("/api/v1/namespaces/shop/secrets/gone").ok());
    const auto r = client.del("/api/v1/namespaces/shop/secrets/oncall-grant-x");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::bad_response);
}
