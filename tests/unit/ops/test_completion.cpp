#include "oncall/ops/completion.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

using namespace oncall;
using namespace oncall::cli;

namespace {

const char* k_config = R"(current-context: local
contexts:
  local:
    kubernetes: { server: "http://127.0.0.1:1", namespace: shop }
    access:
      roles:
        deployer: { service-account: oncall-deployer, max: 1h }
  prod:
    kubernetes: { server: "https://prod.example:6443", namespace: web }
services:
  checkout: {}
  payments: { namespace: money, deployment: payments-api }
)";

std::vector<std::string> values(const std::vector<Candidate>& cs) {
    std::vector<std::string> out;
    for (const auto& c : cs) {
        out.push_back(c.value);
    }
    return out;
}

CompletionContext line(std::vector<std::string> words) {
    CommandSpec root;
    root.name = "oncall";
    OptionSpec context;
    context.names = {"--context"};
    context.takes_value = true;
    context.kind = ValueKind::context;
    OptionSpec config;
    config.names = {"--config"};
    config.takes_value = true;
    config.kind = ValueKind::file;
    root.options = {context, config};
    CommandSpec rollback;
    rollback.name = "rollback";
    rollback.inherits_options = true;
    PositionalSpec service;
    service.name = "SERVICE";
    service.kind = ValueKind::service;
    rollback.positionals = {service};
    root.subcommands = {rollback};
    return analyze(root, std::move(words));
}

} // namespace

TEST_CASE("completion sources: the line's --config and --context win", "[ops][completion]") {
    const auto s =
        ops::sources_from_line(line({"--config", "/etc/x.yaml", "--context=prod", "rollback", ""}));
    CHECK(s.config_path == "/etc/x.yaml");
    CHECK(s.context == "prod");
    const auto none = ops::sources_from_line(line({"rollback", ""}));
    CHECK_FALSE(none.config_path);
    CHECK_FALSE(none.context);
}

TEST_CASE("completion sources: $ONCALL_COMPLETION_TIMEOUT sets the deadline when valid",
          "[ops][completion]") {
    const auto ctx = line({"rollback", ""});
    ::setenv("ONCALL_COMPLETION_TIMEOUT", "4s", 1);
    auto s = ops::sources_from_line(ctx);
    CHECK(s.deadline == std::chrono::seconds(4));
    CHECK(s.request_timeout == std::chrono::seconds(3));
    ::setenv("ONCALL_COMPLETION_TIMEOUT", "soon", 1);
    s = ops::sources_from_line(ctx);
    CHECK(s.deadline == std::chrono::milliseconds(900));
    ::unsetenv("ONCALL_COMPLETION_TIMEOUT");
    CHECK(ops::sources_from_line(ctx).deadline == std::chrono::milliseconds(900));
}

TEST_CASE("completion look-up: contexts, roles and configured services come from the file",
          "[ops][completion]") {
    test::TempDir dir;
    ops::CompletionSources sources;
    sources.config_path = dir.write("config.yaml", k_config);
    sources.cache_path = dir.path() + "/cache.json";
    const ops::CompletionLookup lookup(sources);
    REQUIRE(lookup.configuration());
    const auto ctx = line({"rollback", ""});

    const auto contexts = lookup.local(ValueKind::context, ctx);
    CHECK(values(contexts) == std::vector<std::string>{"local", "prod"});
    CHECK_THAT(contexts[0].description, Catch::StartsWith("current: http://127.0.0.1:1"));
    CHECK(values(lookup.local(ValueKind::role, ctx)) == std::vector<std::string>{"deployer"});
    const auto services = lookup.local(ValueKind::service, ctx);
    REQUIRE(values(services) == std::vector<std::string>{"checkout", "payments"});
    CHECK(services[0].description == "configured service in shop");
    CHECK(services[1].description == "configured service in money");
    CHECK(lookup.local(ValueKind::revision, ctx).empty());
}

TEST_CASE("completion look-up: cache keys name the cluster, namespace and Deployment",
          "[ops][completion]") {
    test::TempDir dir;
    ops::CompletionSources sources;
    sources.config_path = dir.write("config.yaml", k_config);
    sources.cache_path = dir.path() + "/cache.json";
    const ops::CompletionLookup lookup(sources);
    CHECK(lookup.cluster_key(ValueKind::service, line({"rollback", ""})) ==
          "deployments http://127.0.0.1:1 shop");
    CHECK(lookup.cluster_key(ValueKind::revision, line({"rollback", "payments", ""})) ==
          "revisions http://127.0.0.1:1 money payments-api");
    CHECK_FALSE(lookup.cluster_key(ValueKind::revision, line({"rollback", ""}))); // no service yet
    CHECK_FALSE(lookup.cluster_key(ValueKind::revision, line({"rollback", "Bad_Name", ""})));
    CHECK_FALSE(lookup.cluster_key(ValueKind::context, line({""})));

    sources.context = "prod";
    const ops::CompletionLookup prod(sources);
    CHECK(prod.cluster_key(ValueKind::service, line({"rollback", ""})) ==
          "deployments https://prod.example:6443 web");
}

TEST_CASE("completion look-up: no configuration means no candidates, not an error",
          "[ops][completion]") {
    test::TempDir dir;
    ops::CompletionSources sources;
    sources.config_path = dir.path() + "/missing.yaml";
    sources.cache_path = dir.path() + "/cache.json";
    const ops::CompletionLookup lookup(sources);
    CHECK_FALSE(lookup.configuration());
    CHECK(lookup.local(ValueKind::service, line({"rollback", ""})).empty());
    CHECK_FALSE(lookup.cluster_key(ValueKind::service, line({"rollback", ""})));
    CHECK_FALSE(lookup.fetch(ValueKind::service, line({"rollback", ""})));
}

TEST_CASE(
    "completion look-up: no configuration file uses the kubeconfig, and never starts a plugin that "
    "needs the terminal",
    "[ops][completion][exec]") {
    test::TempDir dir;
    const std::string marker = dir.path() + "/plugin-ran";
    const std::string plugin =
        dir.write("plugin", "#!/bin/sh\ntouch " + marker + "\nexit 1\n", 0700);
    const auto kubeconfig = [&](const std::string& mode) {
        return dir.write(
            "kubeconfig-" + mode,
            "current-context: x\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
            "contexts: [{name: x, context: {cluster: c, user: u, namespace: web}}]\n"
            "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, "
            "command: " +
                plugin + ", interactiveMode: " + mode + "}}}]\n");
    };
    test::ScopedEnv config_home("XDG_CONFIG_HOME", dir.path() + "/no-config");
    test::ScopedEnv cache_home("XDG_CACHE_HOME", dir.path() + "/cache");
    test::ScopedEnv config("ONCALL_CONFIG", std::nullopt);
    test::ScopedEnv context("ONCALL_CONTEXT", std::nullopt);
    ops::CompletionSources sources;
    sources.cache_path = dir.path() + "/cache.json";
    {
        test::ScopedEnv env("KUBECONFIG", kubeconfig("Always"));
        const ops::CompletionLookup lookup(sources);
        REQUIRE(lookup.configuration());
        CHECK(lookup.cluster_key(ValueKind::service, line({"rollback", ""})) ==
              "deployments https://127.0.0.1:1 web");
        auto r = lookup.fetch(ValueKind::service, line({"rollback", ""}));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("not started during completion") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(marker));
    }
    {
        test::ScopedEnv env("KUBECONFIG", kubeconfig("Never"));
        const ops::CompletionLookup lookup(sources);
        auto r = lookup.fetch(ValueKind::service, line({"rollback", ""}));
        REQUIRE_FALSE(r.ok());
        CHECK(std::filesystem::exists(marker)); // a plugin without the terminal may run
    }
}
