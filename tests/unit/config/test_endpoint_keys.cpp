// The endpoint keys of prometheus, alertmanager and registry beyond url/urls: kube-service,
// headers, basic-auth, bearer tokens, ca-file, cert-file + key-file.

#include "oncall/config/config.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <cstdlib>

using namespace oncall;
using namespace oncall::config;

namespace {

Result<Context> context_of(const std::string& prometheus_yaml) {
    const std::string text =
        "current-context: c\ncontexts:\n  c:\n    kubernetes: { server: https://k:6443 }\n"
        "    prometheus: " +
        prometheus_yaml + "\n";
    auto config = parse_config(text, "config.yaml");
    if (!config) {
        return std::move(config).error();
    }
    return select_context(*config, std::nullopt);
}

std::string error_of(const std::string& prometheus_yaml) {
    auto c = context_of(prometheus_yaml);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == Errc::config);
    return c.error().message;
}

} // namespace

TEST_CASE("kube-service, headers, basic-auth and client certificates parse", "[config][endpoint]") {
    auto c = context_of(
        R"({ kube-service: monitoring/prometheus-k8s:web, headers: { X-Scope-OrgID: team-a } })");
    REQUIRE(c.ok());
    const Endpoint& e = c->prometheus;
    CHECK(e.configured());
    CHECK(e.urls.empty());
    CHECK(e.kube_service.namespace_name == "monitoring");
    CHECK(e.kube_service.name == "prometheus-k8s");
    CHECK(e.kube_service.port == "web");
    CHECK(e.kube_service.proxy_path() ==
          "/api/v1/namespaces/monitoring/services/prometheus-k8s:web/proxy");
    CHECK(e.headers ==
          std::vector<std::pair<std::string, std::string>>{{"X-Scope-OrgID", "team-a"}});

    c = context_of(R"({ url: https://mimir.example/prometheus, headers: { X-Scope-OrgID: "1|2" },
                        basic-auth: { username: alice, password-env: MIMIR_PASSWORD },
                        ca-file: /ca.pem, cert-file: /c.pem, key-file: /k.pem })");
    REQUIRE(c.ok());
    CHECK(c->prometheus.basic_auth.username == "alice");
    CHECK(c->prometheus.basic_auth.password_env == "MIMIR_PASSWORD");
    CHECK(c->prometheus.cert_file == "/c.pem");
    CHECK(c->prometheus.key_file == "/k.pem");
    CHECK(credential_source(c->prometheus) ==
          "basic-auth user 'alice' (password from $MIMIR_PASSWORD)");

    c = context_of(R"({ url: http://p:9090, token-file: /run/secrets/prom-token })");
    REQUIRE(c.ok());
    CHECK(credential_source(c->prometheus) ==
          "a bearer token from token-file /run/secrets/prom-token");
    c = context_of(R"({ url: http://p:9090 })");
    REQUIRE(c.ok());
    CHECK(credential_source(c->prometheus).empty());
}

TEST_CASE("kube-service forms and their proxy paths", "[config][endpoint]") {
    auto k = parse_kube_service("monitoring/prometheus:9090");
    REQUIRE(k.ok());
    CHECK(k->proxy_path() == "/api/v1/namespaces/monitoring/services/prometheus:9090/proxy");
    k = parse_kube_service("monitoring/alertmanager");
    REQUIRE(k.ok());
    CHECK(k->port.empty());
    CHECK(k->proxy_path() == "/api/v1/namespaces/monitoring/services/alertmanager/proxy");
    k = parse_kube_service("monitoring/https:thanos-query:10902");
    REQUIRE(k.ok());
    CHECK(k->scheme == "https");
    CHECK(k->text() == "monitoring/https:thanos-query:10902");
    CHECK(k->proxy_path() ==
          "/api/v1/namespaces/monitoring/services/https:thanos-query:10902/proxy");

    for (const char* bad :
         {"prometheus:9090", "monitoring/", "/prometheus", "Monitoring/prometheus",
          "monitoring/prometheus:0", "monitoring/prometheus:70000", "monitoring/prometheus:Web",
          "monitoring/prom/../x:web", "monitoring/prometheus:web:extra", "monitoring/a b:web"}) {
        INFO(bad);
        auto r = parse_kube_service(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("is not NAMESPACE/NAME:PORT") != std::string::npos);
    }
}

TEST_CASE("contradictory or unsafe endpoint keys are refused with the key to fix",
          "[config][endpoint]") {
    CHECK_THAT(error_of("{ url: http://p:9090, kube-service: monitoring/prometheus:web }"),
               Catch::Contains("give url/urls or kube-service, not both"));
    // Through the service proxy the API server's TLS and credentials apply.
    for (const char* key :
         {"token-env: X", "basic-auth: { username: a, password-env: P }", "ca-file: /ca.pem",
          "cert-file: /c.pem", "insecure-skip-tls-verify: true"}) {
        INFO(key);
        CHECK_THAT(
            error_of(std::string("{ kube-service: monitoring/prometheus:web, ") + key + " }"),
            Catch::Contains("not used with kube-service"));
    }
    CHECK_THAT(
        error_of(
            "{ url: http://p:9090, basic-auth: { username: a, password-env: P }, token-env: T }"),
        Catch::Contains("not both"));
    CHECK_THAT(error_of("{ url: http://p:9090, basic-auth: { username: a, password: hunter2 } }"),
               Catch::Contains("password by value is not accepted") && !Catch::Contains("hunter2"));
    CHECK_THAT(error_of("{ url: http://p:9090, basic-auth: { username: a } }"),
               Catch::Contains("exactly one of password-env and password-file"));
    CHECK_THAT(error_of("{ url: http://p:9090, basic-auth: { username: 'a:b', password-env: P } }"),
               Catch::Contains("without ':'"));
    CHECK_THAT(error_of("{ url: http://p:9090, cert-file: /c.pem }"),
               Catch::Contains("cert-file and key-file go together"));
    CHECK_THAT(error_of("{ url: http://p:9090, headers: { Authorization: 'Bearer abc' } }"),
               Catch::Contains("Authorization header cannot be set here") &&
                   Catch::Contains("basic-auth"));
    CHECK_THAT(error_of("{ url: http://p:9090, headers: { 'X Bad': v } }"),
               Catch::Contains("not a valid header name"));
    CHECK_THAT(error_of("{ url: http://p:9090, headers: { Host: evil } }"),
               Catch::Contains("set by oncall itself"));
    CHECK_THAT(error_of("{ url: http://p:9090, headers: [X-Scope-OrgID] }"),
               Catch::Contains("expected a map"));
}

TEST_CASE("basic-auth passwords resolve like tokens, with errors naming the password keys",
          "[config][endpoint]") {
    test::TempDir dir;
    BasicAuthConfig b;
    b.username = "alice";
    b.password_file = dir.write("password", "s3cret-pass\n");
    auto p = resolve_password(b);
    REQUIRE(p.ok());
    CHECK(*p == "s3cret-pass");

    b.password_file.clear();
    b.password_env = "ONCALL_TEST_UNSET_PASSWORD";
    ::unsetenv("ONCALL_TEST_UNSET_PASSWORD");
    p = resolve_password(b);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message ==
          "basic-auth: password-env names $ONCALL_TEST_UNSET_PASSWORD, which is not set");
    ::setenv("ONCALL_TEST_UNSET_PASSWORD", "from-env", 1);
    p = resolve_password(b);
    REQUIRE(p.ok());
    CHECK(*p == "from-env");
    ::unsetenv("ONCALL_TEST_UNSET_PASSWORD");
}

TEST_CASE("a registry is reached by its URL, not through the service proxy", "[config][endpoint]") {
    const std::string text =
        "current-context: c\ncontexts:\n  c:\n    kubernetes: { server: https://k:6443 }\n"
        "    registry: { kube-service: registry/registry:5000 }\n";
    auto config = parse_config(text, "config.yaml");
    REQUIRE_FALSE(config.ok());
    CHECK_THAT(config.error().message,
               Catch::Contains("registry.kube-service") && Catch::Contains("give its url"));
}

TEST_CASE("examples/config.yaml parses without warnings, its endpoint keys included",
          "[config][endpoint]") {
    auto c = load_config(std::string(ONCALL_FIXTURES_DIR) + "/../../examples/config.yaml");
    REQUIRE(c.ok());
    CHECK(c->warnings.empty());
    CHECK(c->contexts.at("prod").prometheus.kube_service.name == "prometheus-k8s");
    CHECK(c->contexts.at("hosted").prometheus.basic_auth.password_env == "MIMIR_PASSWORD");
    CHECK(c->contexts.at("hosted").alertmanager.key_file == "~/.config/oncall/oncall.key");
}
