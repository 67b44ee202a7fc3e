// The configuration as an attacker writes it: aliases that explode, keys given twice, secrets in
// URLs, token files others can read.

#include "config/yaml_guard.h"
#include "oncall/config/config.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <fmt/format.h>

using namespace oncall;
using namespace oncall::config;

namespace {

// Nine levels of ten aliases each: a billion nodes once expanded.
std::string alias_bomb() {
    std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char level = 'b'; level <= 'i'; ++level) {
        const char prev = static_cast<char>(level - 1);
        text +=
            fmt::format("{0}: &{0} [*{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}]\n",
                        level, prev);
    }
    return text;
}

} // namespace

TEST_CASE("aliases that expand past the bound are refused with their line", "[config][yaml]") {
    const auto started = std::chrono::steady_clock::now();
    auto r = check_yaml_document(alias_bomb(), "bomb.yaml");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::config);
    CHECK_THAT(r.error().message,
               Catch::StartsWith("bomb.yaml:") && Catch::Contains("aliases expand"));
    auto parsed = parse_config(alias_bomb() + "current-context: a\n", "bomb.yaml");
    REQUIRE_FALSE(parsed);
    CHECK_THAT(parsed.error().message, Catch::Contains("aliases expand"));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
}

TEST_CASE("a few ordinary anchors and aliases are fine", "[config][yaml]") {
    const std::string text = R"(current-context: a
contexts:
  a:
    kubernetes: &kube { server: "https://127.0.0.1:6443", namespace: shop }
  b:
    kubernetes: *kube
)";
    REQUIRE(check_yaml_document(text, "ok.yaml"));
    auto config = parse_config(text, "ok.yaml");
    REQUIRE(config);
    CHECK(config->contexts.at("b").kubernetes.server == "https://127.0.0.1:6443");
}

TEST_CASE("a key given twice in one map is refused with the second one's line", "[config][yaml]") {
    auto r =
        parse_config("current-context: a\ncontexts:\n  a: {kubernetes: {server: 'https://h:1'}}\n"
                     "  a: {kubernetes: {server: 'https://evil:1'}}\n",
                     "dup.yaml");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message,
               Catch::StartsWith("dup.yaml:4:") && Catch::Contains("'a' appears twice"));
    r = parse_config("current-context: a\ncurrent-context: b\n", "top.yaml");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::StartsWith("top.yaml:2:"));
    // The same key in different maps, and equal values, are fine.
    CHECK(check_yaml_document("a: {x: 1}\nb: {x: 1}\nc: [x, x]\n", "ok.yaml"));
}

TEST_CASE("config view drops credentials written into URLs", "[config][redact]") {
    CHECK(redact_value("https://user:pass-1@h.example:9090/p?token=t-2&q=up") ==
          "https://<redacted>@h.example:9090/p?token=<redacted>&q=up");
    CHECK(redact_value("not a url: user:pass@x") == "not a url: user:pass@x");
    test::TempDir dir;
    const auto path = dir.write("config.yaml", R"(current-context: a
contexts:
  a:
    kubernetes: { server: "https://admin:kube-pass@10.0.0.1:6443" }
    alertmanager: { urls: ["http://u:am-pass@am:9093", "http://am2:9093/?api_key=k-3"] }
)");
    const auto yaml = redacted_yaml(path);
    REQUIRE(yaml);
    for (const char* secret : {"kube-pass", "am-pass", "k-3"}) {
        CHECK_THAT(*yaml, !Catch::Contains(secret));
    }
    CHECK_THAT(*yaml, Catch::Contains("http://am2:9093/?api_key=<redacted>"));
}

TEST_CASE("a token file must be private, bounded and a regular file", "[config]") {
    test::TempDir dir;
    TokenSource file;
    file.token_file = dir.write("open", "tok\n", 0644);
    auto r = resolve_token(file);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("chmod 600 " + file.token_file));
    CHECK_THAT(r.error().message, !Catch::Contains("tok\n"));
    file.token_file = "/dev/zero";
    r = resolve_token(file);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("not a regular file"));
    file.token_file = dir.write("big", std::string(70000, 'x'), 0600);
    CHECK_FALSE(resolve_token(file));
}
