// Registry credentials as docker and podman store them, and the registry client's Basic and Bearer
// challenges with them, against local servers and credential helper scripts.

#include "backends/text.h"
#include "oncall/backends/registry.h"
#include "process.h"
#include "test_server.h"

#include <catch2/catch.hpp>
#include <cstdlib>

using namespace oncall;
using namespace oncall::registry;
using namespace std::chrono_literals;

namespace {

// Puts a directory first on PATH for the test's lifetime.
class PathPrefix {
public:
    explicit PathPrefix(const std::string& dir)
        : m_old(std::getenv("PATH") ? std::getenv("PATH") : "") {
        ::setenv("PATH", (dir + ":" + m_old).c_str(), 1);
    }
    ~PathPrefix() { ::setenv("PATH", m_old.c_str(), 1); }
    PathPrefix(const PathPrefix&) = delete;
    PathPrefix& operator=(const PathPrefix&) = delete;

private:
    std::string m_old;
};

std::string auth_of(const std::string& user, const std::string& password) {
    return backends::base64_encode(user + ":" + password);
}

CredentialStores stores_in(const test::TempDir& dir) {
    CredentialStores s;
    s.docker_config = dir.path() + "/docker/config.json";
    s.containers_auth = dir.path() + "/containers/auth.json";
    s.helper_timeout = 2s;
    return s;
}

} // namespace

TEST_CASE(
    "auths entries: user:password, identity tokens, URL keys and podman's per-repository keys",
    "[registry][credentials]") {
    test::TempDir dir;
    const auto stores = stores_in(dir);
    dir.write("docker/config.json", R"({"auths": {
        "registry.example:5000": {"auth": ")" +
                                        auth_of("alice", "pw:with:colons") + R"("},
        "https://index.docker.io/v1/": {"auth": ")" +
                                        auth_of("hubuser", "hubpass") + R"("},
        "https://ghcr.example/v2/": {"identitytoken": "refresh-xyz"},
        "empty.example": {}
    }})");
    dir.write("containers/auth.json", R"({"auths": {
        "quay.example": {"auth": ")" + auth_of("team", "general") +
                                          R"("},
        "quay.example/shop": {"auth": ")" +
                                          auth_of("shop", "narrower") + R"("},
        "quay.example/shop/checkout": {"auth": ")" +
                                          auth_of("checkout", "narrowest") + R"("},
        "empty.example": {"auth": ")" + auth_of("podman", "fallback") +
                                          R"("}
    }})");

    auto r = find_registry_credential("registry.example:5000", "shop/checkout", stores);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    REQUIRE(r->credential);
    CHECK(r->credential->username == "alice");
    CHECK(r->credential->password == "pw:with:colons");
    CHECK(r->credential->source == stores.docker_config + " (auths.\"registry.example:5000\")");

    r = find_registry_credential("docker.io", "library/nginx", stores);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    REQUIRE(r->credential);
    CHECK(r->credential->username == "hubuser");

    r = find_registry_credential("ghcr.example", "team/app", stores);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    REQUIRE(r->credential);
    CHECK(r->credential->identity_token == "refresh-xyz");
    CHECK(r->credential->password.empty());

    // The most specific podman key wins; an empty docker entry falls through to podman's file.
    r = find_registry_credential("quay.example", "shop/checkout", stores);
    REQUIRE(r->credential);
    CHECK(r->credential->username == "checkout");
    r = find_registry_credential("quay.example", "shop/cart", stores);
    CHECK(r->credential->username == "shop");
    r = find_registry_credential("quay.example", "shopping/cart", stores);
    CHECK(r->credential->username == "team");
    r = find_registry_credential("empty.example", "x", stores);
    CHECK(r->credential->username == "podman");
    CHECK(r->credential->source == stores.containers_auth + " (auths.\"empty.example\")");

    // Nothing anywhere: every place looked at is listed.
    r = find_registry_credential("other.example", "x", stores);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    CHECK_FALSE(r->credential);
    REQUIRE(r->searched.size() == 2);
    CHECK(r->searched[0] == stores.docker_config + " (no entry for other.example)");
    CHECK(r->searched[1] == stores.containers_auth + " (no entry for other.example)");

    // Broken files are errors naming the file.
    dir.write("docker/config.json", "{not json");
    r = find_registry_credential("registry.example:5000", "x", stores);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::config);
    CHECK_THAT(r.error().message, Catch::Contains(stores.docker_config));
    dir.write("docker/config.json", R"({"auths": {"h": {"auth": "bm9jb2xvbg=="}}})"); // "nocolon"
    r = find_registry_credential("h", "x", stores);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("not base64 of user:password"));
}

TEST_CASE("credential helpers: credHelpers before auths, credsStore last, and their failures",
          "[registry][credentials]") {
    test::TempDir dir;
    const auto stores = stores_in(dir);
    test::TempDir bin;
    PathPrefix path(bin.path());
    // A helper that records what it was asked and answers for one host only.
    bin.write("docker-credential-fake", R"(#!/bin/sh
[ "$1" = get ] || exit 3
read -r server
echo "$server" >> ")" + bin.path() + R"(/asked"
case "$server" in
  helper.example) echo '{"ServerURL":"helper.example","Username":"robot","Secret":"helper-secret"}' ;;
  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"id-token"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
)",
              0755);
    bin.write("docker-credential-broken",
              "#!/bin/sh\necho 'gpg: decryption failed: No secret key' >&2\nexit 1\n", 0755);
    bin.write("docker-credential-garbage", "#!/bin/sh\necho '<html>'\n", 0755);
    bin.write("docker-credential-hang", "#!/bin/sh\nexec sleep 30\n", 0755);
    bin.write("docker-credential-flood", "#!/bin/sh\nexec yes x\n", 0755);
    dir.write("docker/config.json", R"({
        "auths": {"helper.example": {"auth": ")" +
                                        auth_of("stale", "stale") + R"("},
                  "inline.example": {"auth": ")" +
                                        auth_of("inline", "inline-pw") + R"("}},
        "credHelpers": {"helper.example": "fake", "broken.example": "broken", "garbage.example": "garbage",
                        "hang.example": "hang", "flood.example": "flood", "missing.example": "not-installed",
                        "evil.example": "../../bin/sh"},
        "credsStore": "fake"
    })");

    auto r = find_registry_credential("helper.example", "x", stores);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    REQUIRE(r->credential);
    CHECK(r->credential->username == "robot");
    CHECK(r->credential->password == "helper-secret");
    CHECK(r->credential->source ==
          "docker-credential-fake (credHelpers in " + stores.docker_config + ")");

    r = find_registry_credential("inline.example", "x", stores); // auths before credsStore
    CHECK(r->credential->username == "inline");
    r = find_registry_credential("token.example", "x", stores); // credsStore
    REQUIRE(r->credential);
    CHECK(r->credential->identity_token == "id-token");
    CHECK(r->credential->source ==
          "docker-credential-fake (credsStore in " + stores.docker_config + ")");
    r = find_registry_credential("nothing.example", "x",
                                 stores); // the helper's "not found" is a miss
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    CHECK_FALSE(r->credential);
    CHECK_THAT(r->searched.front(), Catch::Contains("docker-credential-fake (credsStore"));

    const auto failure = [&](const std::string& host) {
        auto f = find_registry_credential(host, "x", stores);
        REQUIRE_FALSE(f.ok());
        CHECK(f.error().code == Errc::access_denied);
        return f.error().message;
    };
    CHECK_THAT(failure("broken.example"), Catch::Contains("docker-credential-broken") &&
                                              Catch::Contains("exit 1") &&
                                              Catch::Contains("decryption failed"));
    CHECK_THAT(failure("garbage.example"), Catch::Contains("answered something other than"));
    const auto started = std::chrono::steady_clock::now();
    CHECK_THAT(failure("hang.example"), Catch::Contains("did not finish within 2000 ms"));
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK_THAT(failure("flood.example"), Catch::Contains("printed more than 65536 bytes"));
    CHECK_THAT(failure("missing.example"), Catch::Contains("docker-credential-not-installed") &&
                                               Catch::Contains("is not on PATH"));
    auto evil = find_registry_credential("evil.example", "x", stores);
    REQUIRE_FALSE(evil.ok());
    CHECK_THAT(evil.error().message, Catch::Contains("is not a credential helper name"));
}

namespace {

// A registry that wants Basic credentials (as distribution with htpasswd, ECR and Harbor do).
struct BasicRegistry {
    test::TestServer server;
    std::string manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";
    BasicRegistry() {
        server.on(
            "GET", R"(/v2/shop/checkout/manifests/([^/]+))",
            [this](const httplib::Request& req, httplib::Response& res, std::size_t) {
                if (req.get_header_value("Authorization") !=
                    "Basic " + auth_of("robot", "helper-secret")) {
                    res.status = 401;
                    res.set_header("WWW-Authenticate", "Basic realm=\"Registry Realm\"");
                    res.set_content(R"({"errors":[{"code":"UNAUTHORIZED"}]})", "application/json");
                    return;
                }
                res.set_header("Docker-Content-Digest", "sha256:" + backends::sha256_hex(manifest));
                res.set_content(manifest, "application/vnd.oci.image.manifest.v1+json");
            });
        server.start();
    }
    std::string host() const { return server.url().substr(7); }
};

} // namespace

TEST_CASE("a Basic challenge is answered with the stored credential, none is exit 4 naming where "
          "we looked",
          "[registry][credentials]") {
    BasicRegistry reg;
    test::TempDir dir;
    auto stores = stores_in(dir);
    config::Endpoint endpoint;
    endpoint.urls = {reg.server.url()};
    auto ref = parse_image_reference(reg.host() + "/shop/checkout:1.0");
    REQUIRE(ref.ok());

    // No credentials at all.
    auto r = RegistryClient(endpoint, {}, 5s, stores).resolve(*ref);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::access_denied);
    CHECK_THAT(r.error().message,
               Catch::Contains("registry " + reg.host() + " asks for credentials (Basic)") &&
                   Catch::Contains(stores.docker_config) &&
                   Catch::Contains(stores.containers_auth) &&
                   Catch::Contains("docker login " + reg.host()));

    // From the docker config.
    dir.write("docker/config.json", R"({"auths": {")" + reg.host() + R"(": {"auth": ")" +
                                        auth_of("robot", "helper-secret") + R"("}}})");
    r = RegistryClient(endpoint, {}, 5s, stores).resolve(*ref);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    CHECK(r->reference.digest == "sha256:" + backends::sha256_hex(reg.manifest));

    // Wrong password: refused, naming where it came from and never the password.
    dir.write("docker/config.json", R"({"auths": {")" + reg.host() + R"(": {"auth": ")" +
                                        auth_of("robot", "wrong-pw-123") + R"("}}})");
    r = RegistryClient(endpoint, {}, 5s, stores).resolve(*ref);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::access_denied);
    CHECK_THAT(r.error().message,
               Catch::Contains("refused the credentials from " + stores.docker_config) &&
                   !Catch::Contains("wrong-pw-123"));

    // The context's own basic-auth wins over the stores.
    endpoint.basic_auth.username = "robot";
    endpoint.basic_auth.password_file = dir.write("pw", "helper-secret\n");
    r = RegistryClient(endpoint, {}, 5s, stores).resolve(*ref);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
}

TEST_CASE("bearer realms get the credential only over https or on the registry's own host",
          "[registry][credentials]") {
    // The token service checks Basic credentials; the registry checks its token.
    test::TestServer tokens;
    tokens.on("GET", "/token",
              [](const httplib::Request& req, httplib::Response& res, std::size_t) {
                  if (req.get_header_value("Authorization") != "Basic " + auth_of("alice", "pw")) {
                      res.status = 401;
                      return;
                  }
                  res.set_content(R"({"token":"granted"})", "application/json");
              });
    tokens.start();
    const std::string manifest = R"({"schemaVersion":2})";
    std::string realm;
    test::TestServer reg;
    reg.on("GET", R"(/v2/shop/checkout/manifests/([^/]+))",
           [&](const httplib::Request& req, httplib::Response& res, std::size_t) {
               if (req.get_header_value("Authorization") != "Bearer granted") {
                   res.status = 401;
                   res.set_header("WWW-Authenticate",
                                  "Bearer realm=\"" + realm + "\",service=\"reg\"");
                   return;
               }
               res.set_header("Docker-Content-Digest", "sha256:" + backends::sha256_hex(manifest));
               res.set_content(manifest, "application/vnd.oci.image.manifest.v1+json");
           });
    reg.on("GET", "/token", [](const httplib::Request& req, httplib::Response& res, std::size_t) {
        if (req.get_header_value("Authorization") != "Basic " + auth_of("alice", "pw")) {
            res.status = 401;
            return;
        }
        res.set_content(R"({"access_token":"granted"})", "application/json");
    });
    reg.start();
    test::TempDir dir;
    const auto stores = stores_in(dir);
    const std::string host = reg.url().substr(7);
    dir.write("docker/config.json",
              R"({"auths": {")" + host + R"(": {"auth": ")" + auth_of("alice", "pw") + R"("}}})");
    config::Endpoint endpoint;
    endpoint.urls = {reg.url()};
    auto ref = parse_image_reference(host + "/shop/checkout:1.0");
    REQUIRE(ref.ok());

    // Same host over http: the credential goes along.
    realm = reg.url("/token");
    auto r = RegistryClient(endpoint, {}, 5s, stores).resolve(*ref);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());

    // Another host over plain http: asked anonymously, refused, nothing leaked.
    realm = "http://localhost:" + std::to_string(tokens.port()) + "/token";
    r = RegistryClient(endpoint, {}, 5s, stores).resolve(*ref);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::access_denied);
    CHECK_THAT(r.error().message, Catch::Contains("only over https or on the registry's own host"));
    REQUIRE(tokens.request_count() == 1);
    CHECK(tokens.requests()[0].header("Authorization").empty());
}
