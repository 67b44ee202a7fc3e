// config view, get-contexts and version: secrets stay out, a kubeconfig-based context says what it
// resolves to (through the resolver it is given), and the current context is marked.

#include "oncall/views/config.h"

#include <catch2/catch.hpp>

using namespace oncall;

namespace {

config::Config two_contexts() {
    config::Config cfg;
    cfg.path = "/home/oncall/.config/oncall/config.yaml";
    cfg.current_context = "prod";
    config::Context prod;
    prod.name = "prod";
    prod.kubernetes.server = "https://admin:hunter2@kube.example:6443";
    prod.kubernetes.namespace_name = "shop";
    prod.kubernetes.auth.token = "sekret-token";
    prod.prometheus.urls = {"https://user:pa55@mimir.example/prometheus"};
    prod.prometheus.headers = {{"X-Scope-OrgID", "shop"}};
    config::Context eks;
    eks.name = "eks";
    eks.kubernetes.namespace_name = "shop";
    eks.kubernetes.kubeconfigs = {"~/.kube/eks"};
    cfg.contexts = {{"prod", prod}, {"eks", eks}};
    return cfg;
}

} // namespace

TEST_CASE("config view: no secret, and what a kubeconfig context resolves to", "[views][config]") {
    const auto cfg = two_contexts();
    views::KubeResolver resolve = [](const config::KubernetesConfig&) -> Result<kube::Connection> {
        kube::Connection c;
        c.server = "https://ABC.gr7.eu-west-1.eks.amazonaws.com";
        c.kube_context = "arn:aws:eks:eu-west-1:1:cluster/shop";
        c.origin = "kubeconfig ~/.kube/eks";
        c.exec = kube::ExecConfig{};
        c.exec->command = "aws";
        return c;
    };
    const auto j = views::config_view_json(cfg, resolve);
    const std::string text = j.dump();
    CHECK(text.find("hunter2") == std::string::npos);
    CHECK(text.find("sekret-token") == std::string::npos);
    CHECK(text.find("pa55") == std::string::npos);
    CHECK(j.at("contexts").at("prod").at("kubernetes").at("token") == "<redacted>");
    CHECK(j.at("contexts").at("prod").at("prometheus").at("headers").at("X-Scope-OrgID") == "shop");
    CHECK_FALSE(j.at("contexts").at("prod").at("kubernetes").contains("resolved"));
    const auto& resolved = j.at("contexts").at("eks").at("kubernetes").at("resolved");
    CHECK(resolved.at("auth") == "exec aws");
    CHECK(resolved.at("kube-context") == "arn:aws:eks:eu-west-1:1:cluster/shop");

    // A kubeconfig that does not resolve is shown as its error, not a failure of the view.
    views::KubeResolver broken = [](const config::KubernetesConfig&) -> Result<kube::Connection> {
        return make_error(Errc::config, "kubeconfig ~/.kube/eks: no current-context");
    };
    CHECK(views::config_view_json(cfg, broken)
              .at("contexts")
              .at("eks")
              .at("kubernetes")
              .at("resolved")
              .at("error") == "kubeconfig ~/.kube/eks: no current-context");
}

TEST_CASE("get-contexts marks the current context and redacts servers", "[views][config]") {
    const auto cfg = two_contexts();
    views::TextOptions options;
    options.style.width = 100;
    const std::string text = views::contexts_text(cfg, "prod", options);
    CHECK(text.find("hunter2") == std::string::npos);
    CHECK(text.rfind("CURRENT", 0) == 0);
    // Rows in name order: eks, then prod (the current one, marked).
    const auto eks = text.find("\n", 0) + 1;
    const auto prod = text.find("\n", eks) + 1;
    CHECK(text.substr(eks, 1) == " ");
    CHECK(text.substr(prod, 1) == "*");
    CHECK(text.find("prod", prod) != std::string::npos);
    const auto j = views::contexts_json(cfg, "prod");
    REQUIRE(j.at("contexts").size() == 2);
    CHECK(j.at("contexts")[0].at("name") == "eks");
    CHECK(j.at("contexts")[0].at("current") == false);
    CHECK(j.at("contexts")[1].at("current") == true);
    CHECK(views::switched_context_text("eks") == "Switched to context \"eks\".\n");
    CHECK(views::version_json("1.0.0", "abc", "8.0").at("libcurl") == "8.0");
}
