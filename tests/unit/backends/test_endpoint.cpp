// Endpoint glue: configured endpoint -> http::Client, URL checks and joining.

#include "oncall/backends/endpoint.h"
#include "process.h"
#include "test_server.h"

#include <catch2/catch.hpp>
#include <cstdlib>

using namespace oncall;
using namespace oncall::backends;
using namespace std::chrono_literals;

TEST_CASE("join_url puts exactly one slash between base and path", "[backends][endpoint]") {
    CHECK(join_url("http://h:9090", "/api/v1/query") == "http://h:9090/api/v1/query");
    CHECK(join_url("http://h:9090/", "/api/v1/query") == "http://h:9090/api/v1/query");
    CHECK(join_url("http://h:9090/prom//", "api/v1/query") == "http://h:9090/prom/api/v1/query");
    CHECK(join_url("http://h:9090/prom", "") == "http://h:9090/prom");
    CHECK(join_url("http://h:9090", "/api?x=1") == "http://h:9090/api?x=1");
    // A path that looks like a URL stays a path on the configured host.
    CHECK(join_url("http://h:9090", "http://evil.example/x") ==
          "http://h:9090/http://evil.example/x");
}

TEST_CASE("check_base_url accepts http(s) base URLs only", "[backends][endpoint]") {
    CHECK(check_base_url("http://127.0.0.1:9090", "prometheus").ok());
    CHECK(check_base_url("https://prom.example/prefix/", "prometheus").ok());
    CHECK(check_base_url("https://user:pw@prom.example", "prometheus").ok());
    for (const char* bad : {"127.0.0.1:9090", "ftp://h", "file:///etc/passwd", "http://",
                            "http://:9090", "http://h/ x", "http://h/?a=1", "http://h/#frag", ""}) {
        INFO(bad);
        const auto r = check_base_url(bad, "prometheus");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::config);
        CHECK(r.error().message.rfind("prometheus url '", 0) == 0);
    }
    // Credentials in a rejected URL are not echoed.
    const auto r = check_base_url("ftp://user:hunter22@h", "registry");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("hunter22") == std::string::npos);
}

TEST_CASE("make_endpoint_client refuses incomplete configuration with the key to fix",
          "[backends][endpoint]") {
    config::Endpoint endpoint;
    auto r = make_endpoint_client("prometheus", endpoint, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::config);
    CHECK(r.error().message ==
          "no prometheus URL in this context; add 'prometheus: { url: http://HOST:PORT }' to it");

    endpoint.urls = {"http://127.0.0.1:9093", "localhost:9094"};
    r = make_endpoint_client("alertmanager", endpoint, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("'localhost:9094' must start with http://") != std::string::npos);

    endpoint.urls = {"http://127.0.0.1:9093"};
    endpoint.auth.token_env = "ONCALL_TEST_SURELY_UNSET_TOKEN";
    ::unsetenv("ONCALL_TEST_SURELY_UNSET_TOKEN");
    r = make_endpoint_client("alertmanager", endpoint, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::config);
    CHECK(r.error().message.rfind("alertmanager: token-env", 0) == 0);

    endpoint.auth = {};
    endpoint.ca_file = "/nonexistent/ca.pem";
    r = make_endpoint_client("alertmanager", endpoint, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("alertmanager: cannot read ca-file /nonexistent/ca.pem") !=
          std::string::npos);
    endpoint.ca_file = "/dev/zero"; // a device never stands in for a CA bundle (nor hangs)
    r = make_endpoint_client("alertmanager", endpoint, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("not a regular file") != std::string::npos);
}

TEST_CASE("an endpoint client talks to its server with the configured token and names it in errors",
          "[backends][endpoint]") {
    test::TestServer server;
    server.on("GET", "/prefix/api/v1/status/buildinfo",
              [](const httplib::Request& req, httplib::Response& res, std::size_t) {
                  res.set_content(req.get_header_value("Authorization"), "text/plain");
              });
    server.on("GET", "/prefix/slow",
              [&server](const httplib::Request&, httplib::Response& res, std::size_t) {
                  server.sleep(5s);
                  res.status = 200;
              });
    server.start();
    test::TempDir dir;
    const std::string token_file = dir.write("token", "file-token-123456\n");

    config::Endpoint endpoint;
    endpoint.urls = {server.url("/prefix/"), server.url("/other")};
    endpoint.auth.token_file = token_file;
    endpoint.timeout = 300ms;
    EndpointDefaults defaults;
    defaults.retry = http::RetryPolicy::none();
    auto built = make_endpoint_client("prometheus", endpoint, defaults);
    REQUIRE(built.ok());
    CHECK(built->urls == std::vector<std::string>{server.url("/prefix"), server.url("/other")});
    CHECK(built->client.options().total_timeout == 300ms);
    CHECK(built->client.options().tls.insecure_skip_verify == false);

    http::Request request;
    request.url = built->url("/api/v1/status/buildinfo");
    auto r = built->client.perform(request);
    REQUIRE(r.ok());
    CHECK(r->body == "Bearer file-token-123456");

    request.url = built->url("slow");
    r = built->client.perform(request);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::timeout);
    INFO(r.error().message);
    CHECK(r.error().message.rfind(
              "prometheus at " + server.url("/prefix/slow") + ": timed out after 300ms", 0) == 0);

    // Without an endpoint timeout, the command's default applies.
    endpoint.timeout = 0ms;
    defaults.timeout = 1500ms;
    built = make_endpoint_client("prometheus", endpoint, defaults);
    REQUIRE(built.ok());
    CHECK(built->client.options().total_timeout == 1500ms);
}

TEST_CASE("an endpoint client sends basic-auth and the configured headers",
          "[backends][endpoint]") {
    test::TestServer server;
    server.on("GET", "/api/v1/query",
              [](const httplib::Request& req, httplib::Response& res, std::size_t) {
                  res.set_content(req.get_header_value("Authorization") + "|" +
                                      req.get_header_value("X-Scope-OrgID"),
                                  "text/plain");
              });
    server.start();
    test::TempDir dir;
    config::Endpoint endpoint;
    endpoint.urls = {server.url()};
    endpoint.basic_auth.username = "alice";
    endpoint.basic_auth.password_file = dir.write("password", "secret\n");
    endpoint.headers = {{"X-Scope-OrgID", "team-a"}};
    auto built = make_endpoint_client("prometheus", endpoint, {});
    REQUIRE(built.ok());
    CHECK_THAT(built->client.options().credential_source,
               Catch::Contains("basic-auth user 'alice'") &&
                   Catch::Contains(endpoint.basic_auth.password_file));
    http::Request request;
    request.url = built->url("/api/v1/query");
    auto r = built->client.perform(request);
    REQUIRE(r.ok());
    CHECK(r->body == "Basic YWxpY2U6c2VjcmV0|team-a"); // alice:secret

    endpoint.basic_auth.password_file = dir.path() + "/missing";
    built = make_endpoint_client("prometheus", endpoint, {});
    REQUIRE_FALSE(built.ok());
    CHECK_THAT(built.error().message,
               Catch::StartsWith("prometheus: basic-auth: ") && Catch::Contains("password-file"));

    endpoint.basic_auth = {};
    endpoint.cert_file = dir.path() + "/client.pem";
    endpoint.key_file = dir.path() + "/client.key";
    built = make_endpoint_client("prometheus", endpoint, {});
    REQUIRE_FALSE(built.ok());
    CHECK_THAT(built.error().message,
               Catch::Contains("cannot read cert-file " + endpoint.cert_file));
}

TEST_CASE("a kube-service endpoint goes through the API server's service proxy with the Kubernetes "
          "credentials",
          "[backends][endpoint]") {
    test::TestServer api;
    api.on("POST", "/api/v1/namespaces/monitoring/services/prometheus:web/proxy/api/v1/query",
           [](const httplib::Request& req, httplib::Response& res, std::size_t) {
               res.set_content(req.get_header_value("Authorization") + "|" +
                                   req.get_header_value("X-Scope-OrgID") + "|" + req.body,
                               "text/plain");
           });
    api.start();
    test::TempDir dir;
    config::KubernetesConfig kube;
    kube.server = api.url();
    kube.auth.token_file = dir.write("token", "kube-token-abcdef\n");
    config::Endpoint endpoint;
    endpoint.kube_service = *config::parse_kube_service("monitoring/prometheus:web");
    endpoint.headers = {{"X-Scope-OrgID", "team-b"}};

    // Without the Kubernetes settings there is nothing to go through.
    auto without = make_endpoint_client("prometheus", endpoint, {});
    REQUIRE_FALSE(without.ok());
    CHECK_THAT(without.error().message, Catch::Contains("kube-service monitoring/prometheus:web"));

    auto built = make_endpoint_client("prometheus", endpoint, {}, kube);
    REQUIRE(built.ok());
    CHECK(built->urls == std::vector<std::string>{api.url(
                             "/api/v1/namespaces/monitoring/services/prometheus:web/proxy")});
    CHECK_THAT(built->client.options().credential_source,
               Catch::Contains("kubernetes credentials"));
    http::Request request;
    request.method = http::Method::post;
    request.url = built->url("/api/v1/query");
    request.body = "query=up";
    auto r = built->client.perform(request);
    REQUIRE(r.ok());
    CHECK(r->body == "Bearer kube-token-abcdef|team-b|query=up");

    kube.auth.token_file = dir.path() + "/missing-token";
    built = make_endpoint_client("prometheus", endpoint, {}, kube);
    REQUIRE_FALSE(built.ok());
    CHECK_THAT(built.error().message,
               Catch::StartsWith("prometheus (kube-service monitoring/prometheus:web): "));
}
