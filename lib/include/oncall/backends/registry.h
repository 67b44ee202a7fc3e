#pragma once
// OCI distribution client: image references parsed and validated, tags resolved to manifest digests
// (HEAD on the manifest with the index and manifest media types, the Basic and Bearer challenges
// with credentials from docker's and podman's stores, the digest checked against the bytes when the
// server does not send it).

#include "oncall/config/config.h"
#include "oncall/core/result.h"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oncall::registry {

/// A parsed image reference: host[:port]/path[:tag][@sha256:hex].
struct ImageReference {
    std::string registry;   // "docker.io", "registry.example", "127.0.0.1:5000"
    std::string repository; // "shop/checkout" ("library/nginx" for a bare Docker Hub name)
    std::string tag;        // "" when absent
    std::string digest;     // "sha256:<64 hex>" or ""

    /// registry/repository (what the `repositories` allow-list holds).
    std::string name() const;
    /// The full reference as given back: name[:tag][@digest].
    std::string to_string() const;
    /// name@digest (requires a digest).
    std::string pinned() const;
};

/// Parses and validates a reference. Defaults as Docker does: registry docker.io (with "library/"
/// for single-component names), tag "latest" when neither tag nor digest is given. Whitespace,
/// upper-case repositories, bad tags, non-sha256 or malformed digests are Errc::invalid.
Result<ImageReference> parse_image_reference(std::string_view text);

/// The repository an image reference names, without tag or digest: registry/repository when the
/// reference parses ("nginx:1.2" -> "docker.io/library/nginx"), else the text before its tag or
/// digest.
std::string repository_of(std::string_view image);

/// Normalizes a repository name ("registry.example/shop/checkout", "nginx") to registry/repository
/// form.
Result<std::string> normalize_repository(std::string_view text);

/// The Accept list of manifest media types: OCI index and manifest, Docker manifest list and v2.
const char* manifest_accept() noexcept;

/// A parsed `WWW-Authenticate: Bearer realm="..",service="..",scope=".."` challenge.
struct Challenge {
    std::string scheme; // "Bearer", "Basic" (as sent)
    std::map<std::string, std::string> params;
};

/// Parses a WWW-Authenticate header value; Errc::bad_response when it is not of the form scheme
/// k="v",....
Result<Challenge> parse_challenge(std::string_view header);

/// True for "sha256:" followed by 64 lower-case hex digits.
bool is_sha256_digest(std::string_view digest);

/// A credential for one registry, and where it came from (for messages; never the secret).
struct RegistryCredential {
    std::string username;
    std::string password;
    std::string identity_token; // an OAuth2 refresh token (docker login to a token service)
    std::string
        source; // "/home/u/.docker/config.json (auths)", "docker-credential-pass (credHelpers)"
};

/// Where credentials are looked for; from_environment() fills it as docker and podman would.
struct CredentialStores {
    std::string docker_config;   // $DOCKER_CONFIG/config.json, else ~/.docker/config.json
    std::string containers_auth; // $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json
                                 // ("" if neither)
    std::chrono::milliseconds helper_timeout{std::chrono::seconds(10)};
    std::size_t helper_max_output = 64u * 1024u;

    static CredentialStores from_environment();
};

/// What a credential search found, and every place it looked.
struct CredentialLookup {
    std::optional<RegistryCredential> credential;
    std::vector<std::string> searched; // "~/.docker/config.json: no entry for HOST", ...
};

/// Finds the credential for registry `host` (and `repository`, for podman's per-repository
/// entries) as docker and podman do: the docker config first, then the containers auth file; in
/// each, credHelpers.<host>, else auths.<host> (auth = base64 user:password, or identitytoken),
/// else credsStore. A helper is `docker-credential-<name> get` with the server on stdin, bounded in
/// time and output; a helper that is missing, fails (other than "not found"), hangs or prints
/// garbage is an Errc::access_denied error naming it. A file that is not JSON is an Errc::config
/// error naming it.
Result<CredentialLookup> find_registry_credential(const std::string& host,
                                                  const std::string& repository,
                                                  const CredentialStores& stores);

/// The result of resolving a reference.
struct Resolved {
    ImageReference reference; // with digest filled in
    std::string media_type;   // the manifest's media type, when the server said
};

/// Talks to OCI registries. The configured endpoint (context `registry`) is used for references
/// whose host matches it; other hosts are contacted over https.
class RegistryClient {
public:
    explicit RegistryClient(config::Endpoint endpoint,
                            std::function<void(std::string_view)> log = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(10),
                            CredentialStores stores = CredentialStores::from_environment());

    /// Resolves a reference (tag or digest) to its manifest digest; a tag that does not exist, an
    /// unreachable registry or a digest that does not match the bytes is an error.
    Result<Resolved> resolve(const ImageReference& reference) const;

    /// Base URL used for the reference's registry (scheme://host[:port]).
    std::string base_url_for(const ImageReference& reference) const;

private:
    config::Endpoint m_endpoint;
    std::function<void(std::string_view)> m_log;
    std::chrono::milliseconds m_timeout;
    CredentialStores m_stores;
};

} // namespace oncall::registry
