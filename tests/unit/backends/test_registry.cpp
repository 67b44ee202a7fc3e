#include "oncall/backends/registry.h"

#include <catch2/catch.hpp>

using namespace oncall;
using registry::parse_image_reference;

namespace {
const std::string k_digest = "sha256:" + std::string(64, 'a');
}

TEST_CASE("image references with host, port, path, tag and digest", "[registry]") {
    auto r = parse_image_reference("127.0.0.1:5001/shop/checkout:1.2.0");
    REQUIRE(r.ok());
    CHECK(r->registry == "127.0.0.1:5001");
    CHECK(r->repository == "shop/checkout");
    CHECK(r->tag == "1.2.0");
    CHECK(r->digest.empty());
    CHECK(r->name() == "127.0.0.1:5001/shop/checkout");

    auto d = parse_image_reference("registry.example/shop/checkout@" + k_digest);
    REQUIRE(d.ok());
    CHECK(d->tag.empty());
    CHECK(d->digest == k_digest);
    CHECK(d->pinned() == "registry.example/shop/checkout@" + k_digest);

    auto both = parse_image_reference("localhost:5000/a/b:v1@" + k_digest);
    REQUIRE(both.ok());
    CHECK(both->registry == "localhost:5000");
    CHECK(both->tag == "v1");
    CHECK(both->to_string() == "localhost:5000/a/b:v1@" + k_digest);
}

TEST_CASE("image references get Docker's defaults", "[registry]") {
    auto r = parse_image_reference("nginx");
    REQUIRE(r.ok());
    CHECK(r->registry == "docker.io");
    CHECK(r->repository == "library/nginx");
    CHECK(r->tag == "latest");
    auto s = parse_image_reference("bitnami/redis:7.2");
    REQUIRE(s.ok());
    CHECK(s->registry == "docker.io");
    CHECK(s->repository == "bitnami/redis");
    auto l = parse_image_reference("localhost/app");
    REQUIRE(l.ok());
    CHECK(l->registry == "localhost");
    CHECK(l->repository == "app");
}

TEST_CASE("odd image references are refused", "[registry]") {
    for (const std::string& bad : std::vector<std::string>{
             "", " nginx", "nginx latest", "Shop/Checkout:1", "reg.example/shop//checkout",
             "reg.example/shop/checkout:", "reg.example/shop/checkout:-x",
             "reg.example/shop/checkout@sha256:abc",
             "reg.example/shop/checkout@md5:" + std::string(32, 'a'),
             "reg.example/shop/checkout@sha256:" + std::string(64, 'A'), "reg.example:99999/a",
             "reg.example:/a", "-reg.example/a", "reg.example/a-", "reg.example/a..b",
             "reg.example/shop/checkout\n", "reg.example/$(id)",
             "reg.example/a:" + std::string(129, 't'), "reg.example/"}) {
        INFO(bad);
        auto r = parse_image_reference(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid);
    }
}

TEST_CASE("repositories normalize for the allow-list", "[registry]") {
    CHECK(registry::normalize_repository("registry.example/shop/checkout").value() ==
          "registry.example/shop/checkout");
    CHECK(registry::normalize_repository("nginx").value() == "docker.io/library/nginx");
    CHECK_FALSE(registry::normalize_repository("registry.example/shop/checkout:1").ok());
    CHECK_FALSE(registry::normalize_repository("registry.example/shop/checkout@" + k_digest).ok());
    CHECK(registry::normalize_repository("127.0.0.1:5001/shop/checkout").value() ==
          "127.0.0.1:5001/shop/checkout");
}

TEST_CASE("WWW-Authenticate challenges parse", "[registry]") {
    auto c = registry::parse_challenge(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull")");
    REQUIRE(c.ok());
    CHECK(c->scheme == "Bearer");
    CHECK(c->params.at("realm") == "https://auth.docker.io/token");
    CHECK(c->params.at("service") == "registry.docker.io");
    CHECK(c->params.at("scope") == "repository:library/nginx:pull");
    auto b = registry::parse_challenge(R"(Basic realm="Registry Realm")");
    REQUIRE(b.ok());
    CHECK(b->scheme == "Basic");
    CHECK(b->params.at("realm") == "Registry Realm");
    auto unquoted = registry::parse_challenge("Bearer realm=http://127.0.0.1:1/t, service=x");
    REQUIRE(unquoted.ok());
    CHECK(unquoted->params.at("service") == "x");
    CHECK_FALSE(registry::parse_challenge("").ok());
    CHECK_FALSE(registry::parse_challenge(R"(Bearer realm="unterminated)").ok());
    CHECK_FALSE(registry::parse_challenge("Bearer =x").ok());
}

TEST_CASE("sha256 digests are recognised exactly", "[registry]") {
    CHECK(registry::is_sha256_digest(k_digest));
    CHECK_FALSE(registry::is_sha256_digest("sha256:" + std::string(63, 'a')));
    CHECK_FALSE(registry::is_sha256_digest("sha512:" + std::string(64, 'a')));
    CHECK_FALSE(registry::is_sha256_digest("sha256:" + std::string(63, 'a') + "g"));
}

TEST_CASE("the manifest Accept list names the index and manifest types", "[registry]") {
    const std::string accept = registry::manifest_accept();
    CHECK(accept.find("application/vnd.oci.image.index.v1+json") != std::string::npos);
    CHECK(accept.find("application/vnd.oci.image.manifest.v1+json") != std::string::npos);
    CHECK(accept.find("application/vnd.docker.distribution.manifest.list.v2+json") !=
          std::string::npos);
    CHECK(accept.find("application/vnd.docker.distribution.manifest.v2+json") != std::string::npos);
}
