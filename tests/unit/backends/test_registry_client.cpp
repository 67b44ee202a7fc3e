// The OCI distribution protocol as the registry client speaks it, against a local server that
// answers the way distribution's token-auth registries do: 401 with a Bearer challenge, a token
// from the realm for the scope, HEAD without Docker-Content-Digest (so the manifest is fetched and
// hashed), and digests that do not match the bytes.

#include "backends/text.h"
#include "oncall/backends/registry.h"
#include "oncall/core/exit_code.h"
#include "test_server.h"

#include <catch2/catch.hpp>

using namespace oncall;

namespace {

const std::string k_manifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]})";
const std::string k_type = "application/vnd.oci.image.manifest.v1+json";

struct FakeRegistry {
    test::TestServer server;
    std::string digest = "sha256:" + backends::sha256_hex(k_manifest);

    FakeRegistry() {
        auto manifest = [this](const httplib::Request& req, httplib::Response& res, std::size_t) {
            if (req.get_header_value("Authorization") != "Bearer tok-123") {
                res.status = 401;
                res.set_header(
                    "WWW-Authenticate",
                    "Bearer realm=\"" + server.url("/token") +
                        "\",service=\"test-registry\",scope=\"repository:shop/checkout:pull\"");
                res.set_content(
                    R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
                    "application/json");
                return;
            }
            const std::string tag = req.matches[1];
            if (tag == "missing") {
                res.status = 404;
                res.set_content(
                    R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})",
                    "application/json");
                return;
            }
            res.status = 200;
            if (req.method == "GET") {
                res.set_header("Docker-Content-Digest",
                               tag == "tampered" ? "sha256:" + std::string(64, '0') : digest);
            }
            res.set_content(k_manifest,
                            k_type.c_str()); // a HEAD answer drops the body, keeps the headers
        };
        // cpp-httplib answers HEAD with the GET handler.
        server.on("GET", R"(/v2/shop/checkout/manifests/([^/]+))", manifest);
        server.on(
            "GET", "/token", [](const httplib::Request& req, httplib::Response& res, std::size_t) {
                if (req.get_param_value("service") != "test-registry" ||
                    req.get_param_value("scope") != "repository:shop/checkout:pull") {
                    res.status = 400;
                    return;
                }
                res.set_content(R"({"token":"tok-123","expires_in":300})", "application/json");
            });
        server.start();
    }

    registry::RegistryClient client() const {
        config::Endpoint endpoint;
        endpoint.urls = {server.url()};
        return registry::RegistryClient(endpoint);
    }
    registry::ImageReference ref(const std::string& tag) const {
        return registry::parse_image_reference("127.0.0.1:" + std::to_string(server.port()) +
                                               "/shop/checkout:" + tag)
            .value();
    }
};

} // namespace

TEST_CASE(
    "a tag resolves through the bearer challenge, hashing the manifest when HEAD has no digest",
    "[registry]") {
    FakeRegistry registry;
    auto resolved = registry.client().resolve(registry.ref("1.3.0"));
    INFO((resolved ? "" : resolved.error().message));
    REQUIRE(resolved.ok());
    CHECK(resolved->reference.digest == registry.digest);
    CHECK(resolved->media_type == k_type);
    const auto requests = registry.server.requests();
    // HEAD (401) -> token -> HEAD (200, no digest) -> GET (hashed).
    REQUIRE(requests.size() == 4);
    CHECK(requests[0].method == "HEAD");
    CHECK_THAT(requests[0].header("Accept"),
               Catch::Contains("application/vnd.oci.image.index.v1+json"));
    CHECK_THAT(requests[0].header("Accept"),
               Catch::Contains("application/vnd.docker.distribution.manifest.list.v2+json"));
    CHECK(requests[1].path == "/token");
    CHECK(requests[2].header("Authorization") == "Bearer tok-123");
    CHECK(requests[3].method == "GET");
}

TEST_CASE("a digest that does not match the manifest's bytes is refused", "[registry]") {
    FakeRegistry registry;
    auto resolved = registry.client().resolve(registry.ref("tampered"));
    REQUIRE_FALSE(resolved.ok());
    CHECK(resolved.error().code == Errc::bad_response);
    CHECK_THAT(resolved.error().message, Catch::Contains("hash to " + registry.digest));
}

TEST_CASE("an unknown tag and an unreachable registry are errors before any write", "[registry]") {
    FakeRegistry registry;
    auto missing = registry.client().resolve(registry.ref("missing"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == Errc::invalid);
    CHECK_THAT(missing.error().message, Catch::Contains("does not exist"));

    config::Endpoint dead;
    dead.urls = {"http://127.0.0.1:9"};
    auto down = registry::RegistryClient(dead).resolve(
        registry::parse_image_reference("127.0.0.1:9/shop/checkout:1.3.0").value());
    REQUIRE_FALSE(down.ok());
    CHECK(exit_code_for(down.error()) == ExitCode::partial);
}
