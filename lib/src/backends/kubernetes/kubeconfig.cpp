// Kubeconfig files as kubectl reads them: one file's YAML parsed into clusters, users and contexts
// (relative paths resolved against its folder, -data fields decoded), several files merged (first
// file wins per name and for current-context), and the list of files from $KUBECONFIG.

#include "oncall/backends/kubeconfig.h"

#include "backends/kubernetes/files.h"
#include "backends/text.h"
#include "config/yaml_guard.h"
#include "oncall/core/local_file.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <yaml-cpp/yaml.h>

namespace oncall::kube {
namespace {

namespace fs = std::filesystem;

Error kubeconfig_error(const std::string& path, const std::string& what) {
    return make_error(Errc::config, fmt::format("kubeconfig {}: {}", path, what));
}

std::string scalar(const YAML::Node& map, const char* key) {
    const YAML::Node v = map[key];
    if (v && v.IsScalar()) {
        return v.as<std::string>();
    }
    return {};
}

bool boolean(const YAML::Node& map, const char* key) {
    const YAML::Node v = map[key];
    if (!v || !v.IsScalar()) {
        return false;
    }
    try {
        return v.as<bool>();
    } catch (const YAML::Exception&) {
        return false;
    }
}

// kubectl resolves a relative reference against the absolute folder of the file that holds it
// (no "~" expansion: the path is taken as written).
std::string resolve_path(const std::string& ref, const std::string& file) {
    if (ref.empty() || fs::path(ref).is_absolute()) {
        return ref;
    }
    std::error_code ec;
    fs::path base = fs::absolute(fs::path(file).parent_path(), ec);
    if (ec) {
        base = fs::path(file).parent_path();
    }
    return (base / ref).lexically_normal().string();
}

Result<std::string> decode_data(const YAML::Node& map, const char* key, const std::string& path,
                                const std::string& owner) {
    const std::string text = scalar(map, key);
    if (text.empty()) {
        return std::string();
    }
    auto decoded = backends::base64_decode(text);
    if (!decoded) {
        return kubeconfig_error(path, fmt::format("{}: {} is not base64", owner, key));
    }
    return std::move(*decoded);
}

// YAML to JSON for an extension object (scalars stay strings unless they read as numbers or bools).
nlohmann::json to_json(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Map: {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& item : node) {
            out[item.first.as<std::string>("")] = to_json(item.second);
        }
        return out;
    }
    case YAML::NodeType::Sequence: {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& item : node) {
            out.push_back(to_json(item));
        }
        return out;
    }
    case YAML::NodeType::Scalar: {
        const std::string& text = node.Scalar();
        if (node.Tag() != "!") { // unquoted: may be a number or a bool
            if (text == "true" || text == "false") {
                return text == "true";
            }
            try {
                std::size_t used = 0;
                const long long n = std::stoll(text, &used);
                if (used == text.size()) {
                    return n;
                }
            } catch (const std::exception&) {
            }
        }
        return text;
    }
    default:
        return nullptr;
    }
}

// Each entry of a named list: {name: ..., <field>: {...}}.
template <class F>
Result<void> each_entry(const YAML::Node& root, const char* list, const char* field,
                        const std::string& path, F on_entry) {
    const YAML::Node items = root[list];
    if (!items || items.IsNull()) {
        return ok_result();
    }
    if (!items.IsSequence()) {
        return kubeconfig_error(path, fmt::format("'{}' is not a list", list));
    }
    for (const auto& item : items) {
        if (!item.IsMap()) {
            return kubeconfig_error(path, fmt::format("an entry of '{}' is not a map", list));
        }
        const std::string name = scalar(item, "name");
        const YAML::Node value = item[field];
        if (value && !value.IsNull() && !value.IsMap()) {
            return kubeconfig_error(path,
                                    fmt::format("{} '{}': '{}' is not a map", list, name, field));
        }
        auto r = on_entry(name, value && value.IsMap() ? value : YAML::Node(YAML::NodeType::Map));
        if (!r) {
            return r;
        }
    }
    return ok_result();
}

Result<ExecConfig> read_exec(const YAML::Node& node, const std::string& path,
                             const std::string& user) {
    ExecConfig e;
    e.api_version = scalar(node, "apiVersion");
    e.command = scalar(node, "command");
    if (e.command.find('/') != std::string::npos) {
        e.command = resolve_path(e.command, path);
    }
    if (const auto args = node["args"]; args && args.IsSequence()) {
        for (const auto& a : args) {
            e.args.push_back(a.IsScalar() ? a.as<std::string>() : std::string());
        }
    }
    if (const auto env = node["env"]; env && env.IsSequence()) {
        for (const auto& v : env) {
            if (!v.IsMap()) {
                return kubeconfig_error(
                    path, fmt::format("user '{}': an entry of exec.env is not a map", user));
            }
            e.env.emplace_back(scalar(v, "name"), scalar(v, "value"));
        }
    }
    e.install_hint = scalar(node, "installHint");
    e.provide_cluster_info = boolean(node, "provideClusterInfo");
    e.interactive_mode = scalar(node, "interactiveMode");
    if (e.interactive_mode.empty() && (e.api_version == "client.authentication.k8s.io/v1beta1" ||
                                       e.api_version == "client.authentication.k8s.io/v1alpha1")) {
        e.interactive_mode = "IfAvailable"; // kubectl's default for the older versions
    }
    return e;
}

fs::path home_dir() {
    const char* home = std::getenv("HOME");
    return fs::path(home != nullptr ? home : "/");
}

void merge_into(Kubeconfig& into, Kubeconfig from) {
    if (into.current_context.empty()) {
        into.current_context = from.current_context;
    }
    for (auto& [name, c] : from.clusters) {
        into.clusters.emplace(name, std::move(c));
    }
    for (auto& [name, u] : from.users) {
        into.users.emplace(name, std::move(u));
    }
    for (auto& [name, c] : from.contexts) {
        into.contexts.emplace(name, std::move(c));
    }
    for (auto& f : from.files) {
        into.files.push_back(std::move(f));
    }
}

} // namespace

Result<std::string> read_file(const std::string& path, const char* what) {
    auto file = read_local_file(path, what, k_max_kubeconfig_bytes);
    if (!file) {
        return std::move(file).error();
    }
    return std::move(file->text);
}

bool kubeconfig_holds_inline_secret(const std::string& text) {
    try {
        const YAML::Node root = YAML::Load(text);
        const YAML::Node users = root.IsMap() ? root["users"] : YAML::Node();
        if (!users || !users.IsSequence()) {
            return false;
        }
        for (const auto& item : users) {
            const YAML::Node user = item.IsMap() ? item["user"] : YAML::Node();
            if (!user || !user.IsMap()) {
                continue;
            }
            for (const char* key : {"token", "password", "client-key-data"}) {
                if (user[key] && user[key].IsScalar() && !user[key].Scalar().empty()) {
                    return true;
                }
            }
        }
    } catch (const YAML::Exception&) {
    }
    return false;
}

Result<Kubeconfig> parse_kubeconfig_file(const std::string& text, const std::string& path) {
    if (auto checked = config::check_yaml_document(text, "kubeconfig " + path); !checked) {
        return std::move(checked).error();
    }
    Kubeconfig out;
    out.files.push_back(path);
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        return kubeconfig_error(path, fmt::format("not valid YAML: {}", e.what()));
    }
    if (root.IsNull()) {
        return out; // an empty file is an empty kubeconfig, as for kubectl
    }
    if (!root.IsMap()) {
        return kubeconfig_error(
            path, "not a kubeconfig (expected a map with clusters, users and contexts)");
    }
    out.current_context = scalar(root, "current-context");
    auto clusters = each_entry(
        root, "clusters", "cluster", path,
        [&](const std::string& name, const YAML::Node& n) -> Result<void> {
            KubeconfigCluster c;
            c.file = path;
            c.server = scalar(n, "server");
            c.certificate_authority = resolve_path(scalar(n, "certificate-authority"), path);
            ONCALL_TRY_ASSIGN(
                c.certificate_authority_data,
                decode_data(n, "certificate-authority-data", path, "cluster '" + name + "'"));
            c.tls_server_name = scalar(n, "tls-server-name");
            c.proxy_url = scalar(n, "proxy-url");
            c.insecure_skip_tls_verify = boolean(n, "insecure-skip-tls-verify");
            if (const auto ext = n["extensions"]; ext && ext.IsSequence()) {
                for (const auto& e : ext) {
                    if (e.IsMap() && scalar(e, "name") == "client.authentication.k8s.io/exec" &&
                        e["extension"]) {
                        c.exec_extension_json = to_json(e["extension"]).dump();
                    }
                }
            }
            out.clusters.emplace(name, std::move(c));
            return ok_result();
        });
    if (!clusters) {
        return clusters.error();
    }
    auto users = each_entry(
        root, "users", "user", path,
        [&](const std::string& name, const YAML::Node& n) -> Result<void> {
            KubeconfigUser u;
            u.file = path;
            const std::string owner = "user '" + name + "'";
            u.token = scalar(n, "token");
            u.token_file = resolve_path(scalar(n, "tokenFile"), path);
            u.client_certificate = resolve_path(scalar(n, "client-certificate"), path);
            u.client_key = resolve_path(scalar(n, "client-key"), path);
            ONCALL_TRY_ASSIGN(u.client_certificate_data,
                              decode_data(n, "client-certificate-data", path, owner));
            ONCALL_TRY_ASSIGN(u.client_key_data, decode_data(n, "client-key-data", path, owner));
            u.username = scalar(n, "username");
            u.password = scalar(n, "password");
            if (const auto exec = n["exec"]; exec && exec.IsMap()) {
                ONCALL_TRY_ASSIGN(u.exec, read_exec(exec, path, name));
            }
            if (const auto provider = n["auth-provider"]; provider && provider.IsMap()) {
                u.auth_provider = scalar(provider, "name");
            }
            out.users.emplace(name, std::move(u));
            return ok_result();
        });
    if (!users) {
        return users.error();
    }
    auto contexts = each_entry(root, "contexts", "context", path,
                               [&](const std::string& name, const YAML::Node& n) -> Result<void> {
                                   KubeconfigContext c;
                                   c.file = path;
                                   c.cluster = scalar(n, "cluster");
                                   c.user = scalar(n, "user");
                                   c.namespace_name = scalar(n, "namespace");
                                   out.contexts.emplace(name, std::move(c));
                                   return ok_result();
                               });
    if (!contexts) {
        return contexts.error();
    }
    return out;
}

std::vector<std::string> default_kubeconfig_paths() {
    std::vector<std::string> out;
    const char* env = std::getenv("KUBECONFIG");
    if (env != nullptr && *env != '\0') {
        std::string_view rest(env);
        while (true) {
            const std::size_t colon = rest.find(':');
            const std::string item(rest.substr(0, colon));
            if (!item.empty() && std::find(out.begin(), out.end(), item) == out.end()) {
                out.push_back(item);
            }
            if (colon == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(colon + 1);
        }
        if (!out.empty()) {
            return out;
        }
    }
    out.push_back((home_dir() / ".kube" / "config").string());
    return out;
}

Result<Kubeconfig> load_kubeconfig(const std::vector<std::string>& explicit_paths) {
    const bool is_explicit = !explicit_paths.empty();
    std::vector<std::string> paths;
    for (const auto& p : explicit_paths) {
        paths.push_back(expand_home(p));
    }
    Kubeconfig merged;
    if (is_explicit) {
        merged.source = "kubeconfig:";
    } else {
        paths = default_kubeconfig_paths();
        const char* env = std::getenv("KUBECONFIG");
        merged.source = env != nullptr && *env != '\0' ? "$KUBECONFIG" : "~/.kube/config";
    }
    for (const auto& path : paths) {
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            if (is_explicit) {
                return make_error(
                    Errc::config,
                    fmt::format("kubeconfig {} does not exist; check kubernetes.kubeconfig "
                                "in the oncall configuration",
                                path));
            }
            continue; // kubectl skips missing files of $KUBECONFIG
        }
        auto file = read_local_file(path, "kubeconfig", k_max_kubeconfig_bytes);
        if (!file) {
            return std::move(file).error();
        }
        // The rule of a token by value in the oncall configuration: only a private file holds one.
        if ((file->mode & 077) != 0 && kubeconfig_holds_inline_secret(file->text)) {
            return make_error(Errc::config,
                              fmt::format("kubeconfig {} holds a credential by value but is "
                                          "readable by others (mode {:04o}); run 'chmod 600 {}'",
                                          path, file->mode, path));
        }
        auto one = parse_kubeconfig_file(file->text, path);
        if (!one) {
            return one.error();
        }
        merge_into(merged, std::move(*one));
    }
    return merged;
}

} // namespace oncall::kube
