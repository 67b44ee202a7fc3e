// Registry credentials where docker and podman keep them: config.json / auth.json entries and
// credential helpers (docker-credential-<name> get).

#include "backends/registry/helper_process.h"
#include "backends/text.h"
#include "oncall/backends/registry.h"
#include "oncall/http/client.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace oncall::registry {
namespace {

using nlohmann::json;

constexpr std::size_t k_max_store_bytes = 4u << 20u;

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

// Host and (for podman's scheme-less keys) repository path of a store key.
// "https://index.docker.io/v1/" is a URL whose path is not a repository; "quay.io/team/app" names
// one repository.
struct StoreKey {
    std::string host;
    std::string path;
};

StoreKey parse_key(std::string_view key) {
    bool had_scheme = false;
    for (const std::string_view scheme : {"https://", "http://"}) {
        if (key.substr(0, scheme.size()) == scheme) {
            key.remove_prefix(scheme.size());
            had_scheme = true;
        }
    }
    const auto slash = key.find('/');
    StoreKey out;
    out.host = std::string(key.substr(0, slash));
    if (!had_scheme && slash != std::string_view::npos) {
        out.path = std::string(key.substr(slash + 1));
        while (!out.path.empty() && out.path.back() == '/') {
            out.path.pop_back();
        }
    }
    std::transform(out.host.begin(), out.host.end(), out.host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// Host names a store may use for `host` (Docker Hub has three).
std::vector<std::string> host_aliases(const std::string& host) {
    if (host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io") {
        return {"docker.io", "index.docker.io", "registry-1.docker.io"};
    }
    return {host};
}

// What a helper is given on stdin for `host` (docker keeps Docker Hub under its v1 URL).
std::string helper_server(const std::string& host) {
    if (host_aliases(host).size() > 1) {
        return "https://index.docker.io/v1/";
    }
    return host;
}

// The best key of `map` for host/repository: a repository entry (longest prefix first), then the
// host itself. Returns nullptr when none matches.
const json* best_entry(const json& map, const std::string& host, const std::string& repository,
                       std::string* matched_key) {
    if (!map.is_object()) {
        return nullptr;
    }
    const auto aliases = host_aliases(host);
    const json* best = nullptr;
    std::size_t best_score = 0;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const StoreKey key = parse_key(it.key());
        if (std::find(aliases.begin(), aliases.end(), key.host) == aliases.end()) {
            continue;
        }
        std::size_t score = 1;
        if (!key.path.empty()) {
            if (!(repository == key.path ||
                  (repository.size() > key.path.size() &&
                   repository.compare(0, key.path.size(), key.path) == 0 &&
                   repository[key.path.size()] == '/'))) {
                continue;
            }
            score = 2 + key.path.size();
        }
        if (score > best_score) {
            best = &it.value();
            best_score = score;
            if (matched_key != nullptr) {
                *matched_key = it.key();
            }
        }
    }
    return best;
}

bool valid_helper_name(const std::string& name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
    });
}

// Runs docker-credential-<name> get; nullopt when the helper has nothing for the server.
Result<std::optional<RegistryCredential>>
from_helper(const std::string& name, const std::string& host, const std::string& how,
            const std::string& file, const CredentialStores& stores) {
    const std::string program = "docker-credential-" + name;
    const std::string where = fmt::format("{} ({} in {})", program, how, file);
    if (!valid_helper_name(name)) {
        return make_error(Errc::config, fmt::format("{}: '{}' is not a credential helper name",
                                                    file, name.substr(0, 64)));
    }
    auto run = detail::run_helper({program, "get"}, helper_server(host), stores.helper_timeout,
                                  stores.helper_max_output);
    if (!run) {
        Error e = std::move(run).error();
        if (e.code == Errc::not_found) {
            e.message =
                fmt::format("credential helper {} is not on PATH; install it or remove it from {}",
                            where, file);
        } else {
            e.message = fmt::format("credential helper {}: {}", where, e.message);
        }
        e.code = Errc::access_denied;
        return e;
    }
    if (run->exit_code != 0) {
        // The protocol's "not found" answer is a miss, not a failure.
        std::string said = run->out + run->err;
        std::transform(said.begin(), said.end(), said.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (said.find("credentials not found") != std::string::npos) {
            return std::optional<RegistryCredential>{};
        }
        return make_error(
            Errc::access_denied,
            fmt::format("credential helper {} failed for {} (exit {}): {}", where, host,
                        run->exit_code,
                        http::body_excerpt(run->err.empty() ? run->out : run->err, 200)));
    }
    const json doc = json::parse(run->out, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("Secret") ||
        !doc["Secret"].is_string() || (doc.contains("Username") && !doc["Username"].is_string())) {
        return make_error(Errc::access_denied,
                          fmt::format("credential helper {} answered something other than "
                                      "{{\"Username\": ..., \"Secret\": ...}} for {}",
                                      where, host));
    }
    RegistryCredential c;
    const std::string user = doc.value("Username", "");
    if (user == "<token>") {
        c.identity_token = doc["Secret"].get<std::string>();
    } else {
        c.username = user;
        c.password = doc["Secret"].get<std::string>();
    }
    c.source = where;
    if (c.identity_token.empty() && c.password.empty()) {
        return std::optional<RegistryCredential>{};
    }
    return std::optional<RegistryCredential>{std::move(c)};
}

// An auths entry: auth (base64 user:password), identitytoken, or username + password.
Result<std::optional<RegistryCredential>> from_entry(const json& entry, const std::string& key,
                                                     const std::string& file) {
    RegistryCredential c;
    c.source = fmt::format("{} (auths.\"{}\")", file, key);
    if (!entry.is_object()) {
        return make_error(Errc::config,
                          fmt::format("{}: auths.\"{}\" is not an object", file, key));
    }
    if (const auto it = entry.find("auth");
        it != entry.end() && it->is_string() && !it->get<std::string>().empty()) {
        auto decoded = backends::base64_decode(it->get<std::string>());
        const auto colon = decoded ? decoded->find(':') : std::string::npos;
        if (!decoded || colon == std::string::npos) {
            return make_error(Errc::config,
                              fmt::format("{}: auths.\"{}\".auth is not base64 of user:password; "
                                          "log in again (docker login / podman login)",
                                          file, key));
        }
        c.username = decoded->substr(0, colon);
        c.password = decoded->substr(colon + 1);
    } else if (entry.contains("username") && entry.contains("password") &&
               entry["username"].is_string() && entry["password"].is_string()) {
        c.username = entry["username"].get<std::string>();
        c.password = entry["password"].get<std::string>();
    }
    if (const auto it = entry.find("identitytoken"); it != entry.end() && it->is_string()) {
        c.identity_token = it->get<std::string>();
    }
    if (c.password.empty() && c.identity_token.empty()) {
        return std::optional<RegistryCredential>{};
    }
    return std::optional<RegistryCredential>{std::move(c)};
}

// One store file: credHelpers, then auths, then credsStore. Adds what it looked at to `searched`.
Result<std::optional<RegistryCredential>>
from_file(const std::string& file, const std::string& host, const std::string& repository,
          const CredentialStores& stores, std::vector<std::string>& searched) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        searched.push_back(
            fmt::format("{} ({})", file, errno == ENOENT ? "no such file" : std::strerror(errno)));
        return std::optional<RegistryCredential>{};
    }
    std::string text;
    text.resize(k_max_store_bytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > k_max_store_bytes) {
        return make_error(Errc::config,
                          fmt::format("{} is larger than 4 MiB; is it a credentials file?", file));
    }
    const json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return make_error(Errc::config,
                          fmt::format("{} is not a JSON object; fix or remove it", file));
    }
    // References into `doc` (not copies): best_entry returns a pointer into the map it is given.
    static const json k_empty = json::object();
    const auto member = [&](const char* name) -> const json& {
        const auto it = doc.find(name);
        return it == doc.end() ? k_empty : *it;
    };
    std::string key;
    if (const json* helper = best_entry(member("credHelpers"), host, repository, &key)) {
        if (!helper->is_string()) {
            return make_error(Errc::config,
                              fmt::format("{}: credHelpers.\"{}\" is not a string", file, key));
        }
        auto found = from_helper(helper->get<std::string>(), host, "credHelpers", file, stores);
        if (!found || *found) {
            return found;
        }
        searched.push_back(fmt::format("docker-credential-{} (credHelpers in {}): nothing for {}",
                                       helper->get<std::string>(), file, host));
        return found;
    }
    if (const json* entry = best_entry(member("auths"), host, repository, &key)) {
        auto found = from_entry(*entry, key, file);
        if (!found || *found) {
            return found;
        }
    }
    if (const auto store = doc.find("credsStore");
        store != doc.end() && store->is_string() && !store->get<std::string>().empty()) {
        auto found = from_helper(store->get<std::string>(), host, "credsStore", file, stores);
        if (!found || *found) {
            return found;
        }
        searched.push_back(fmt::format("docker-credential-{} (credsStore in {}): nothing for {}",
                                       store->get<std::string>(), file, host));
        return found;
    }
    searched.push_back(fmt::format("{} (no entry for {})", file, host));
    return std::optional<RegistryCredential>{};
}

} // namespace

CredentialStores CredentialStores::from_environment() {
    CredentialStores s;
    if (const auto dir = env_or_empty("DOCKER_CONFIG"); !dir.empty()) {
        s.docker_config = dir + "/config.json";
    } else if (const auto home = env_or_empty("HOME"); !home.empty()) {
        s.docker_config = home + "/.docker/config.json";
    }
    if (const auto file = env_or_empty("REGISTRY_AUTH_FILE"); !file.empty()) {
        s.containers_auth = file;
    } else if (const auto runtime = env_or_empty("XDG_RUNTIME_DIR"); !runtime.empty()) {
        s.containers_auth = runtime + "/containers/auth.json";
    }
    return s;
}

Result<CredentialLookup> find_registry_credential(const std::string& host,
                                                  const std::string& repository,
                                                  const CredentialStores& stores) {
    CredentialLookup out;
    std::string lower_host = host;
    std::transform(lower_host.begin(), lower_host.end(), lower_host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& file : {stores.docker_config, stores.containers_auth}) {
        if (file.empty()) {
            continue;
        }
        auto found = from_file(file, lower_host, repository, stores, out.searched);
        if (!found) {
            return std::move(found).error();
        }
        if (*found) {
            out.credential = std::move(**found);
            return out;
        }
    }
    if (stores.containers_auth.empty()) {
        out.searched.emplace_back(
            "no containers auth file ($REGISTRY_AUTH_FILE and $XDG_RUNTIME_DIR are unset)");
    }
    return out;
}

} // namespace oncall::registry
