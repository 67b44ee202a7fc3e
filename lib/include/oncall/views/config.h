#pragma once
// The output of `oncall config view | get-contexts | use-context` and `oncall version`. Secrets
// never appear: tokens are "<redacted>", token and password sources are named, not read, and
// credentials in URLs are redacted.

#include "oncall/backends/kubernetes.h"
#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/views/view.h"

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace oncall::views {

/// What a context's kubeconfig resolves to, without running a plugin: the command passes
/// kube::resolve_connection_settings, tests their own.
using KubeResolver = std::function<Result<kube::Connection>(const config::KubernetesConfig&)>;

/// One context: kubernetes settings (and, when they leave the server to a kubeconfig, what it
/// resolves to), the endpoints and the access roles.
nlohmann::json context_json(const config::Context& context, const KubeResolver& resolve);

/// config view -o json: {"path", "current-context", "contexts": {NAME: ...}, "services": [NAME]}.
nlohmann::json config_view_json(const config::Config& config, const KubeResolver& resolve);

/// config view without a configuration file: the implicit context ("path" is null).
nlohmann::json implicit_config_view_json(const config::Context& context,
                                         const KubeResolver& resolve);
/// Its text: where the implicit context comes from, then the JSON.
std::string implicit_config_view_text(const config::Context& context, const KubeResolver& resolve);

/// config view: the file's path, then its text as config::redacted_yaml() gives it.
std::string config_file_text(const std::string& path, const std::string& redacted_yaml);

/// get-contexts: CURRENT (*), NAME, SERVER, NAMESPACE.
std::string contexts_text(const config::Config& config, const std::string& current,
                          const TextOptions& options);
/// get-contexts -o json: {"contexts": [{"name", "current", "server", "namespace"}]}.
nlohmann::json contexts_json(const config::Config& config, const std::string& current);

/// use-context: 'Switched to context "NAME".' as kubectl says it, and {"current-context"}.
std::string switched_context_text(const std::string& name);
nlohmann::json switched_context_json(const std::string& name);

/// version: "oncall VERSION (commit C, libcurl V)", and {"version", "commit", "libcurl"}.
std::string version_text(const std::string& version, const std::string& commit,
                         const std::string& libcurl);
nlohmann::json version_json(const std::string& version, const std::string& commit,
                            const std::string& libcurl);

} // namespace oncall::views
