#include "oncall/config/config.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace oncall;
using namespace oncall::config;

namespace {

const char* k_sample = R"(# team config
current-context: sandbox   # keep me
contexts:
  sandbox:
    kubernetes:
      server: https://127.0.0.1:6443
      namespace: shop
      token-env: ONCALL_TEST_TOKEN
      ca-file: /tmp/ca.pem
    prometheus:   { url: http://127.0.0.1:9090 }
    alertmanager: { urls: [http://127.0.0.1:9093, http://127.0.0.1:9094] }
    registry:     { url: http://127.0.0.1:5000 }
    silences: { max: 2h }
    access:
      require-grant: true
      roles:
        deployer: { service-account: oncall-deployer, max: 1h }
        triage:   { service-account: oncall-triage,   max: 8h }
  prod:
    kubernetes: { server: https://10.1.2.3:6443, token-file: ~/prod.token }
services:
  checkout:
    slo: { error-ratio: 0.01, latency-p99: 0.5 }
    repositories: [registry.example/shop/checkout]
    signals:
      error-ratio: 'sum(rate(x[5m]))'
)";

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

TEST_CASE("the sample configuration parses with every key", "[config]") {
    const auto c = parse_config(k_sample, "config.yaml");
    REQUIRE(c.ok());
    CHECK(c->current_context == "sandbox");
    CHECK(c->warnings.empty());
    const auto& s = c->contexts.at("sandbox");
    CHECK(s.kubernetes.server == "https://127.0.0.1:6443");
    CHECK(s.kubernetes.namespace_name == "shop");
    CHECK(s.kubernetes.auth.token_env == "ONCALL_TEST_TOKEN");
    CHECK(s.alertmanager.urls.size() == 2);
    CHECK(s.access.roles.at("deployer").max == std::chrono::hours(1));
    CHECK(s.access.roles.at("triage").service_account == "oncall-triage");
    CHECK(s.silences.max == std::chrono::hours(2));
    CHECK(c->contexts.at("prod").silences.max == std::chrono::hours(4)); // the default
    const auto& checkout = c->services.at("checkout");
    CHECK(checkout.slo.error_ratio == Approx(0.01));
    CHECK(checkout.repositories.at(0) == "registry.example/shop/checkout");
    CHECK(checkout.signals.at("error-ratio") == "sum(rate(x[5m]))");
}

TEST_CASE("silences.max must be a positive duration", "[config]") {
    for (const char* bad : {"{ max: 0s }", "{ max: soon }", "{ max: 500ms }", "[4h]"}) {
        const std::string text =
            std::string("contexts:\n  a:\n    kubernetes: { server: https://k:6443 }\n"
                        "    silences: ") +
            bad + "\n";
        const auto c = parse_config(text, "config.yaml");
        INFO(bad);
        REQUIRE_FALSE(c.ok());
        CHECK_THAT(c.error().message, Catch::Contains("silences"));
    }
}

TEST_CASE("services get defaults from the context and their name", "[config]") {
    const auto c = parse_config(k_sample, "config.yaml").value();
    const auto ctx = c.contexts.at("sandbox");
    const auto s = service_for(c, ctx, "payments").value();
    CHECK(s.namespace_name == "shop");
    CHECK(s.deployment == "payments");
    CHECK(s.selector == "service=\"payments\"");
    CHECK(s.alerts.at(0) == "service=\"payments\"");
    CHECK_FALSE(s.configured);
    CHECK(service_for(c, ctx, "checkout").value().configured);
}

TEST_CASE("service names that try to inject are refused", "[config]") {
    const auto c = parse_config(k_sample, "config.yaml").value();
    const auto ctx = c.contexts.at("sandbox");
    // std::string elements: a c_str() of a temporary here would dangle once the list is built.
    for (const std::string& bad : std::vector<std::string>{
             "checkout\"} or vector(1) or {x=\"", "../etc/passwd", "Checkout", "a b", "",
             "-checkout", "checkout/log", "x%2F..", std::string(64, 'a')}) {
        INFO(bad);
        const auto r = service_for(c, ctx, bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid);
    }
}

TEST_CASE("malformed YAML names the file and line", "[config]") {
    const auto r = parse_config("contexts:\n  a: [1, 2\n", "/etc/oncall.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::config);
    CHECK_THAT(r.error().message, Catch::StartsWith("/etc/oncall.yaml:"));
}

TEST_CASE("wrong types name the file, line and key", "[config]") {
    const auto r = parse_config("contexts:\n  a:\n    prometheus:\n      url: [1]\n", "c.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("c.yaml:4"));
    CHECK_THAT(r.error().message, Catch::Contains("contexts.a.prometheus.url"));
    const auto slo =
        parse_config("services:\n  checkout:\n    slo: { error-ratio: lots }\n", "c.yaml");
    REQUIRE_FALSE(slo.ok());
    CHECK_THAT(slo.error().message, Catch::Contains("services.checkout.slo.error-ratio"));
    const auto dur = parse_config(
        "contexts:\n  a:\n    access:\n      roles:\n        d: { service-account: x, max: 0m }\n",
        "c.yaml");
    REQUIRE_FALSE(dur.ok());
    CHECK_THAT(dur.error().message, Catch::Contains("roles.d.max"));
}

TEST_CASE("bad URLs are configuration errors", "[config]") {
    for (const char* url : {"ftp://x", "127.0.0.1:9090", "http://", "http:// spaced"}) {
        INFO(url);
        const auto r = parse_config(
            std::string("contexts:\n  a:\n    prometheus: { url: '") + url + "' }\n", "c.yaml");
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error().message, Catch::Contains("contexts.a.prometheus.url"));
    }
}

TEST_CASE("unknown keys warn but do not fail", "[config]") {
    const auto r = parse_config(
        "contexts:\n  a:\n    prometheus: { url: 'http://x:1', colour: red }\nextra: 1\n",
        "c.yaml");
    REQUIRE(r.ok());
    REQUIRE(r->warnings.size() == 2);
    CHECK_THAT(r->warnings[0] + r->warnings[1], Catch::Contains("contexts.a.prometheus.colour"));
    CHECK_THAT(r->warnings[0] + r->warnings[1], Catch::Contains("c.yaml:4: unknown key 'extra'"));
}

TEST_CASE("context selection: flag, then environment, then file", "[config]") {
    const auto c = parse_config(k_sample, "config.yaml").value();
    ::unsetenv("ONCALL_CONTEXT");
    CHECK(select_context(c, std::nullopt).value().name == "sandbox");
    ::setenv("ONCALL_CONTEXT", "prod", 1);
    CHECK(select_context(c, std::nullopt).value().name == "prod");
    CHECK(select_context(c, std::string("sandbox")).value().name == "sandbox");
    ::unsetenv("ONCALL_CONTEXT");
    const auto missing = select_context(c, std::string("staging"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == Errc::config);
    CHECK_THAT(missing.error().message, Catch::Contains("unknown context 'staging'"));
    CHECK_THAT(missing.error().message, Catch::Contains("prod, sandbox"));
}

TEST_CASE("config path: flag, then $ONCALL_CONFIG, then XDG", "[config]") {
    ::setenv("ONCALL_CONFIG", "/env/config.yaml", 1);
    CHECK(resolve_config_path(std::string("/flag.yaml")) == "/flag.yaml");
    CHECK(resolve_config_path(std::nullopt) == "/env/config.yaml");
    ::unsetenv("ONCALL_CONFIG");
    ::setenv("XDG_CONFIG_HOME", "/xdg", 1);
    CHECK(resolve_config_path(std::nullopt) == "/xdg/oncall/config.yaml");
    ::unsetenv("XDG_CONFIG_HOME");
}

TEST_CASE("a token by value needs a private file", "[config]") {
    test::TempDir dir;
    const std::string text =
        "contexts:\n  a:\n    kubernetes: { server: 'https://h:1', token: hunter2 }\n";
    const auto open_file = dir.write("open.yaml", text, 0644);
    const auto r = load_config(open_file);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("chmod 600"));
    CHECK_THAT(r.error().message, !Catch::Contains("hunter2"));
    const auto private_file = dir.write("private.yaml", text, 0600);
    REQUIRE(load_config(private_file).ok());
    const auto yaml = redacted_yaml(private_file).value();
    CHECK_THAT(yaml, Catch::Contains("<redacted>"));
    CHECK_THAT(yaml, !Catch::Contains("hunter2"));
}

TEST_CASE("token sources resolve from the environment and files", "[config]") {
    test::TempDir dir;
    TokenSource env;
    env.token_env = "ONCALL_TEST_TOKEN_X";
    ::unsetenv("ONCALL_TEST_TOKEN_X");
    CHECK_FALSE(resolve_token(env).ok());
    ::setenv("ONCALL_TEST_TOKEN_X", "abc", 1);
    CHECK(resolve_token(env).value() == "abc");
    TokenSource file;
    file.token_file = dir.write("t", "def\n");
    CHECK(resolve_token(file).value() == "def");
    file.token_file = dir.path() + "/missing";
    CHECK_FALSE(resolve_token(file).ok());
}

TEST_CASE(
    "use-context keeps the mode, a symlinked config stays a link, temp names are not followed",
    "[config][use-context]") {
    test::TempDir dir;
    const auto real = dir.write("real.yaml", k_sample, 0640);
    const auto link = dir.path() + "/config.yaml";
    REQUIRE(::symlink("real.yaml", link.c_str()) == 0);
    // A symlink planted at the fixed temp name an older version used, pointing at a victim.
    const auto victim = dir.write("victim", "untouched\n", 0600);
    REQUIRE(::symlink(victim.c_str(), (link + ".tmp-oncall").c_str()) == 0);
    REQUIRE(::symlink(victim.c_str(), (real + ".tmp-oncall").c_str()) == 0);
    const mode_t old_umask = ::umask(0);
    const auto r = set_current_context(link, "prod");
    ::umask(old_umask);
    REQUIRE(r.ok());
    struct stat st {};
    REQUIRE(::lstat(link.c_str(), &st) == 0);
    CHECK(S_ISLNK(st.st_mode));
    REQUIRE(::stat(real.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    CHECK(load_config(real).value().current_context == "prod");
    CHECK(load_config(link).value().current_context == "prod");
    CHECK(read_all(victim) == "untouched\n");
    // Nothing is left behind but the files of the test.
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        (void)e;
        ++entries;
    }
    CHECK(entries == 5);
}

TEST_CASE("use-context writes a private config private from the start", "[config][use-context]") {
    test::TempDir dir;
    const auto path = dir.write("config.yaml", k_sample, 0600);
    const mode_t old_umask = ::umask(0);
    REQUIRE(set_current_context(path, "prod").ok());
    ::umask(old_umask);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("use-context of a name with ' #' switches to exactly that context",
          "[config][use-context]") {
    test::TempDir dir;
    const auto path =
        dir.write("config.yaml",
                  "current-context: sandbox\n"
                  "contexts:\n"
                  "  sandbox:\n    kubernetes: { server: 'https://a:1' }\n"
                  "  \"sandbox #staging\":\n    kubernetes: { server: 'https://b:1' }\n",
                  0600);
    REQUIRE(load_config(path).value().contexts.count("sandbox #staging") == 1);
    REQUIRE(set_current_context(path, "sandbox #staging").ok());
    CHECK(load_config(path).value().current_context == "sandbox #staging");
    REQUIRE(set_current_context(path, "sandbox").ok());
    CHECK(load_config(path).value().current_context == "sandbox");
}

TEST_CASE("use-context edits only the current-context line", "[config]") {
    test::TempDir dir;
    const auto path = dir.write("config.yaml", k_sample, 0640);
    REQUIRE(set_current_context(path, "prod").ok());
    const auto after = read_all(path);
    std::string expected = k_sample;
    expected.replace(expected.find("current-context: sandbox"), 24, "current-context: prod");
    CHECK(after == expected);
    CHECK(load_config(path).value().current_context == "prod");
}

TEST_CASE("roles may need approval or be break-glass, notifications and the approval timeout",
          "[config]") {
    const std::string text = R"(contexts:
  a:
    kubernetes: { server: 'https://127.0.0.1:6443', token-env: T }
    access:
      approval-timeout: 5m
      roles:
        deployer:   { service-account: oncall-deployer, max: 1h, approval: required }
        triage:     { service-account: oncall-triage, max: 8h }
        breakglass: { service-account: oncall-breakglass, max: 30m, break-glass: true }
      notify: { webhook-url-env: ONCALL_NOTIFY_WEBHOOK }
)";
    const auto c = parse_config(text, "c.yaml");
    REQUIRE(c);
    CHECK(c->warnings.empty());
    const auto& access = c->contexts.at("a").access;
    CHECK(access.approval_timeout == std::chrono::minutes(5));
    CHECK(access.roles.at("deployer").approval_required);
    CHECK_FALSE(access.roles.at("deployer").break_glass);
    CHECK_FALSE(access.roles.at("triage").approval_required);
    CHECK(access.roles.at("breakglass").break_glass);
    CHECK(access.notify.webhook_url_env == "ONCALL_NOTIFY_WEBHOOK");
    CHECK(access.notify.configured());

    const auto both = parse_config("contexts:\n  a:\n    access:\n      roles:\n        d: { "
                                   "service-account: x, approval: required, break-glass: true }\n",
                                   "c.yaml");
    REQUIRE_FALSE(both);
    CHECK_THAT(both.error().message, Catch::Contains("not both"));
    const auto bad = parse_config("contexts:\n  a:\n    access:\n      roles:\n        d: { "
                                  "service-account: x, approval: maybe }\n",
                                  "c.yaml");
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains("required"));
    const auto two = parse_config("contexts:\n  a:\n    access:\n      notify: { webhook-url-env: "
                                  "A, webhook-url-file: /b }\n",
                                  "c.yaml");
    REQUIRE_FALSE(two);
    CHECK(parse_config("contexts:\n  a:\n    access: { require-grant: true }\n", "c.yaml")
              ->contexts.at("a")
              .access.approval_timeout == std::chrono::minutes(15));
}

TEST_CASE("implicit configuration: one context from the kubeconfig, endpoints from the environment",
          "[config][implicit]") {
    test::ScopedEnv context("ONCALL_CONTEXT", std::nullopt);
    test::ScopedEnv prometheus("ONCALL_PROMETHEUS_URL", "http://prom-a:9090, https://prom-b:9090,");
    test::ScopedEnv alertmanager("ONCALL_ALERTMANAGER_URL", std::nullopt);
    auto c = config::implicit_config(std::nullopt);
    REQUIRE(c.ok());
    CHECK(c->path.empty());
    REQUIRE(c->contexts.size() == 1);
    const auto& ctx = c->contexts.begin()->second;
    CHECK(ctx.implicit);
    CHECK(ctx.name.empty()); // filled from the kubeconfig's current-context later
    CHECK(ctx.prometheus.urls ==
          std::vector<std::string>{"http://prom-a:9090", "https://prom-b:9090"});
    CHECK_FALSE(ctx.alertmanager.configured());
    CHECK(ctx.kubernetes.server.empty());
    CHECK(ctx.kubernetes.namespace_name.empty());
    auto selected = config::select_context(*c, std::nullopt);
    REQUIRE(selected.ok());
    CHECK(selected->implicit);

    auto named = config::implicit_config(std::string("kind-dev"));
    REQUIRE(named.ok());
    CHECK(named->contexts.count("kind-dev") == 1);
    CHECK(named->contexts.at("kind-dev").kubernetes.kube_context == "kind-dev");
    CHECK(config::select_context(*named, std::string("kind-dev")).ok());

    test::ScopedEnv bad("ONCALL_ALERTMANAGER_URL", "am.example:9093");
    auto refused = config::implicit_config(std::nullopt);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == Errc::config);
    CHECK(refused.error().message.find("$ONCALL_ALERTMANAGER_URL") != std::string::npos);
}

TEST_CASE("kubernetes keys: kubeconfig as a path or a list, client certificate, server name, proxy",
          "[config]") {
    auto c = config::parse_config(R"(current-context: a
contexts:
  a:
    kubernetes:
      kubeconfig: [~/.kube/config, /etc/kube/extra]
      kube-context: prod
      cert-file: /c.pem
      key-file: /c.key
      tls-server-name: api.internal
      proxy-url: socks5://127.0.0.1:1080
  b:
    kubernetes: {kubeconfig: /one}
)",
                                  "config.yaml");
    REQUIRE(c.ok());
    const auto& a = c->contexts.at("a").kubernetes;
    CHECK(a.kubeconfigs == std::vector<std::string>{"~/.kube/config", "/etc/kube/extra"});
    CHECK(a.kube_context == "prod");
    CHECK(a.cert_file == "/c.pem");
    CHECK(a.key_file == "/c.key");
    CHECK(a.tls_server_name == "api.internal");
    CHECK(a.proxy_url == "socks5://127.0.0.1:1080");
    CHECK(c->warnings.empty());
    CHECK(c->contexts.at("b").kubernetes.kubeconfigs == std::vector<std::string>{"/one"});
    CHECK_FALSE(
        config::parse_config("contexts:\n  a:\n    kubernetes: {cert-file: /c.pem}\n", "f").ok());
    CHECK_FALSE(
        config::parse_config("contexts:\n  a:\n    kubernetes: {proxy-url: ftp://x}\n", "f").ok());
    CHECK_FALSE(config::parse_config(
                    "contexts:\n  a:\n    kubernetes: {server: 'https://x', kubeconfig: /k}\n", "f")
                    .ok());
}
