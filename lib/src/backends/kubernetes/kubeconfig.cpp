// Connection settings from an oncall context or a kubeconfig file (parsed here with yaml-cpp).

#include "oncall/backends/kubernetes.h"

#include "backends/kubernetes/files.h"
#include "backends/text.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace oncall::kube {
namespace {

namespace fs = std::filesystem;

Error kubeconfig_error(const std::string& path, const std::string& what) {
    return make_error(Errc::config, fmt::format("kubeconfig {}: {}", path, what));
}


std::string relative_to(const std::string& file, const std::string& base_file) {
    const std::string p = expand_home(file);
    if (p.empty() || fs::path(p).is_absolute()) {
        return p;
    }
    return (fs::path(base_file).parent_path() / p).lexically_normal().string();
}

// Finds the entry `name` in a kubeconfig list (clusters, users, contexts) and returns its `field` map.
Result<YAML::Node> named_entry(const YAML::Node& root, const char* list, const char* field, const std::string& name,
                               const std::string& path) {
    const YAML::Node items = root[list];
    if (items && !items.IsSequence()) {
        return kubeconfig_error(path, fmt::format("'{}' is not a list", list));
    }
    if (items) {
        for (const auto& item : items) {
            if (!item.IsMap()) {
                return kubeconfig_error(path, fmt::format("an entry of '{}' is not a map", list));
            }
            if (item["name"] && item["name"].IsScalar() && item["name"].as<std::string>() == name) {
                const YAML::Node value = item[field];
                if (!value || value.IsNull()) {
                    return YAML::Node(YAML::NodeType::Map);
                }
                if (!value.IsMap()) {
                    return kubeconfig_error(path, fmt::format("{} '{}': '{}' is not a map", list, name, field));
                }
                return value;
            }
        }
    }
    return kubeconfig_error(path, fmt::format("no entry '{}' in '{}'", name, list));
}

std::string scalar(const YAML::Node& map, const char* key) {
    const YAML::Node v = map[key];
    if (v && v.IsScalar()) {
        return v.as<std::string>();
    }
    return {};
}

// $XDG_CACHE_HOME/oncall, else ~/.cache/oncall.
fs::path cache_dir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg != nullptr && *xdg != '\0') {
        return fs::path(xdg) / "oncall";
    }
    const char* home = std::getenv("HOME");
    return fs::path(home != nullptr ? home : "/tmp") / ".cache" / "oncall";
}

// Writes a CA bundle given inline (certificate-authority-data) to a content-addressed file the
// HTTP layer can point at; CA certificates are public, the file is still private to the user.
Result<std::string> materialize_ca(const std::string& pem) {
    const std::string hex = backends::sha256_hex(pem);
    const fs::path dir = cache_dir() / "kube-ca";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return make_error(Errc::io, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    }
    ::chmod(dir.c_str(), 0700);
    const fs::path file = dir / (hex.substr(0, 32) + ".pem");
    if (fs::exists(file, ec)) {
        return file.string();
    }
    if (auto written = write_file_atomic(file.string(), pem, 0600); !written) {
        return written.error();
    }
    return file.string();
}

} // namespace

Result<std::string> read_file(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return make_error(Errc::config, fmt::format("cannot read {} {}", what, path));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

namespace {

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
        s.pop_back();
    }
    return s;
}

} // namespace

Result<Connection> parse_kubeconfig(const std::string& text, const std::string& path,
                                    const std::string& context_name) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        return kubeconfig_error(path, fmt::format("not valid YAML: {}", e.what()));
    }
    if (!root.IsMap()) {
        return kubeconfig_error(path, "not a kubeconfig (expected a map with clusters, users and contexts)");
    }
    std::string ctx_name = context_name;
    if (ctx_name.empty()) {
        ctx_name = scalar(root, "current-context");
        if (ctx_name.empty()) {
            return kubeconfig_error(path, "no current-context; set kube-context in the oncall configuration");
        }
    }
    auto ctx = named_entry(root, "contexts", "context", ctx_name, path);
    if (!ctx) {
        return ctx.error();
    }
    const std::string cluster_name = scalar(*ctx, "cluster");
    const std::string user_name = scalar(*ctx, "user");
    if (cluster_name.empty()) {
        return kubeconfig_error(path, fmt::format("context '{}' names no cluster", ctx_name));
    }
    auto cluster = named_entry(root, "clusters", "cluster", cluster_name, path);
    if (!cluster) {
        return cluster.error();
    }
    Connection c;
    c.origin = fmt::format("kubeconfig {} context {}", path, ctx_name);
    c.server = scalar(*cluster, "server");
    while (!c.server.empty() && c.server.back() == '/') {
        c.server.pop_back();
    }
    if (c.server.empty()) {
        return kubeconfig_error(path, fmt::format("cluster '{}' has no server", cluster_name));
    }
    c.namespace_name = scalar(*ctx, "namespace");
    if (c.namespace_name.empty()) {
        c.namespace_name = "default";
    }
    const std::string insecure = scalar(*cluster, "insecure-skip-tls-verify");
    c.insecure_skip_tls_verify = insecure == "true";
    const std::string ca_data = scalar(*cluster, "certificate-authority-data");
    const std::string ca_path = scalar(*cluster, "certificate-authority");
    if (!ca_data.empty()) {
        auto pem = backends::base64_decode(ca_data);
        if (!pem) {
            return kubeconfig_error(path, fmt::format("cluster '{}': certificate-authority-data is not base64",
                                                      cluster_name));
        }
        auto file = materialize_ca(*pem);
        if (!file) {
            return file.error();
        }
        c.ca_file = *file;
    } else if (!ca_path.empty()) {
        c.ca_file = relative_to(ca_path, path);
    }
    if (!user_name.empty()) {
        auto user = named_entry(root, "users", "user", user_name, path);
        if (!user) {
            return user.error();
        }
        if ((*user)["exec"] || (*user)["auth-provider"]) {
            return kubeconfig_error(
                path, fmt::format("user '{}' authenticates through an {} plugin, which oncall does not run; give "
                                  "the context a token instead (token-env or token-file in the oncall configuration)",
                                  user_name, (*user)["exec"] ? "exec" : "auth-provider"));
        }
        if ((*user)["client-certificate"] || (*user)["client-certificate-data"] || (*user)["client-key"] ||
            (*user)["client-key-data"]) {
            return kubeconfig_error(
                path, fmt::format("user '{}' uses a client certificate, which oncall does not support; give the "
                                  "context a token instead (token-env or token-file in the oncall configuration)",
                                  user_name));
        }
        if ((*user)["username"] || (*user)["password"]) {
            return kubeconfig_error(path, fmt::format("user '{}' uses basic authentication, which oncall does not "
                                                      "support; use a token",
                                                      user_name));
        }
        c.token = scalar(*user, "token");
        const std::string token_file = scalar(*user, "tokenFile");
        if (c.token.empty() && !token_file.empty()) {
            auto t = read_file(relative_to(token_file, path), "token file");
            if (!t) {
                return t.error();
            }
            c.token = trim(*t);
        }
    }
    return c;
}

} // namespace oncall::kube
