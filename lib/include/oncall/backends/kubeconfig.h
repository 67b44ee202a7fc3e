#pragma once
// Kubeconfig files read the way kubectl reads them: an explicit list of files or $KUBECONFIG (a
// colon-separated list) else ~/.kube/config; files merged with the first file winning for each
// cluster, user and context name and for current-context; relative paths resolved against the
// folder of the file that holds them; every field kubectl accepts for clusters and users.

#include "oncall/core/result.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace oncall::kube {

/// users[].user.exec of a kubeconfig: a credential plugin (client.authentication.k8s.io).
struct ExecConfig {
    std::string api_version; // client.authentication.k8s.io/v1 or v1beta1
    std::string command;     // resolved against the file's folder if it has a '/'
    std::vector<std::string> args;
    std::vector<std::pair<std::string, std::string>> env; // added to oncall's own environment
    std::string install_hint;
    bool provide_cluster_info = false;
    std::string interactive_mode; // Never | IfAvailable | Always
};

/// clusters[].cluster of a kubeconfig.
struct KubeconfigCluster {
    std::string server;
    std::string certificate_authority;      // absolute path, or ""
    std::string certificate_authority_data; // PEM (decoded), or ""
    std::string tls_server_name;
    std::string proxy_url;
    bool insecure_skip_tls_verify = false;
    std::string exec_extension_json; // extensions["client.authentication.k8s.io/exec"], as JSON
    std::string file;                // the kubeconfig file it came from
};

/// users[].user of a kubeconfig.
struct KubeconfigUser {
    std::string token;
    std::string token_file;              // absolute path, or ""
    std::string client_certificate;      // absolute path, or ""
    std::string client_certificate_data; // PEM (decoded)
    std::string client_key;              // absolute path, or ""
    std::string client_key_data;         // PEM (decoded); a secret
    std::string username;                // basic auth (refused)
    std::string password;
    std::optional<ExecConfig> exec;
    std::optional<std::string> auth_provider; // its name, when the user has one (refused)
    std::string file;
};

/// contexts[].context of a kubeconfig.
struct KubeconfigContext {
    std::string cluster;
    std::string user;
    std::string namespace_name;
    std::string file;
};

/// Several kubeconfig files merged as kubectl merges them.
struct Kubeconfig {
    std::vector<std::string> files; // the files that were read, in order
    std::string current_context;    // from the first file that sets it
    std::map<std::string, KubeconfigCluster> clusters;
    std::map<std::string, KubeconfigUser> users;
    std::map<std::string, KubeconfigContext> contexts;
    std::string
        source; // where the list came from: "kubeconfig:", "$KUBECONFIG" or "~/.kube/config"
};

/// Parses one kubeconfig file's text; `path` resolves relative paths and names the file in errors.
Result<Kubeconfig> parse_kubeconfig_file(const std::string& text, const std::string& path);

/// Reads and merges kubeconfig files. With `explicit_paths` (the context's `kubeconfig:`), each
/// must exist; otherwise the list is $KUBECONFIG (missing files skipped, duplicates dropped), else
/// ~/.kube/config (an absent file gives an empty kubeconfig).
Result<Kubeconfig> load_kubeconfig(const std::vector<std::string>& explicit_paths);

/// The kubeconfig file list kubectl would read: $KUBECONFIG split on ':' (empty entries and
/// duplicates dropped), else ~/.kube/config.
std::vector<std::string> default_kubeconfig_paths();

} // namespace oncall::kube
