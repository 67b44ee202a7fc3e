// The built binary, as a user or a script runs it: help, version, configuration, usage errors.
#include "process.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace oncall::test;

namespace {

const char* k_config = R"(current-context: sandbox
contexts:
  sandbox:
    kubernetes: { server: "https://127.0.0.1:6443", namespace: shop, token: sekret-value-123 }
    prometheus: { url: "http://127.0.0.1:9090" }
  other:
    kubernetes: { server: "https://127.0.0.1:7443", token-env: OTHER_TOKEN }
)";

} // namespace

TEST_CASE("help lists the commands and exits 0", "[cli]") {
    const auto r = run_oncall({"--help"});
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("version"));
    CHECK_THAT(r.out, Catch::Contains("config"));
    CHECK_THAT(r.out, Catch::Contains("--output"));
}

TEST_CASE("version names the version, commit and libcurl", "[cli]") {
    const auto r = run_oncall({"version"});
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("oncall 0."));
    CHECK_THAT(r.out, Catch::Contains("libcurl"));
    const auto j = run_oncall({"-o", "json", "version"});
    REQUIRE(j.exit_code == 0);
    const auto doc = nlohmann::json::parse(j.out);
    CHECK(doc.contains("commit"));
    CHECK(doc["libcurl"].is_string());
}

TEST_CASE("usage errors exit 2 with a hint", "[cli]") {
    auto r = run_oncall({"verison"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("unknown command 'verison'"));
    CHECK_THAT(r.err, Catch::Contains("did you mean 'version'"));
    r = run_oncall({"--bogus", "version"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("unknown flag '--bogus'"));
    r = run_oncall({"-o", "yaml", "version"});
    CHECK(r.exit_code == 2);
    r = run_oncall({});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
}

TEST_CASE("config view redacts secrets in text and JSON", "[cli][config]") {
    TempDir dir;
    const auto path = dir.write("config.yaml", k_config, 0600);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--config", path, "config", "view"},
          std::vector<std::string>{"--config", path, "-o", "json", "config", "view"},
          std::vector<std::string>{"--config", path, "-v", "config", "get-contexts"}}) {
        const auto r = run_oncall(args);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out + r.err, !Catch::Contains("sekret-value-123"));
    }
    const auto text = run_oncall({"--config", path, "config", "view"});
    CHECK_THAT(text.out, Catch::Contains("<redacted>"));
}

TEST_CASE("a token in a world-readable config is refused", "[cli][config]") {
    TempDir dir;
    const auto path = dir.write("config.yaml", k_config, 0644);
    const auto r = run_oncall({"--config", path, "config", "view"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("chmod 600"));
    CHECK_THAT(r.out + r.err, !Catch::Contains("sekret-value-123"));
}

TEST_CASE("contexts: list, switch, unknown", "[cli][config]") {
    TempDir dir;
    const auto path = dir.write("config.yaml", k_config, 0600);
    auto r = run_oncall({"--config", path, "-o", "json", "config", "get-contexts"});
    REQUIRE(r.exit_code == 0);
    auto doc = nlohmann::json::parse(r.out);
    REQUIRE(doc["contexts"].size() == 2);
    r = run_oncall({"--config", path, "config", "use-context", "other"});
    CHECK(r.exit_code == 0);
    r = run_oncall({"--config", path, "-o", "json", "config", "get-contexts"});
    doc = nlohmann::json::parse(r.out);
    for (const auto& c : doc["contexts"]) {
        CHECK(c["current"] == (c["name"] == "other"));
    }
    r = run_oncall({"--config", path, "config", "use-context", "staging"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("staging"));
    r = run_oncall({"--config", path, "--context", "staging", "config", "get-contexts"});
    CHECK(r.exit_code == 2);
    ProcessOptions env;
    env.env["ONCALL_CONTEXT"] = "sandbox";
    r = run_oncall({"--config", path, "config", "get-contexts"}, env);
    CHECK_THAT(r.out, Catch::Contains("*        sandbox"));
}

TEST_CASE("a missing or broken config is a clear usage error", "[cli][config]") {
    TempDir dir;
    auto r = run_oncall({"--config", dir.path() + "/none.yaml", "config", "view"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("none.yaml"));
    const auto broken = dir.write("broken.yaml", "contexts: [\n", 0600);
    r = run_oncall({"--config", broken, "config", "view"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("broken.yaml:"));
}
