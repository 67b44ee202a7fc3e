#pragma once
// The YAML configuration of DESIGN.md: contexts (where the backends are and how to authenticate),
// services (what to look at and the SLO), and the search order and precedence that pick them.

#include "oncall/core/result.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oncall::config {

/// Where a credential comes from; at most one of the three is set.
struct TokenSource {
    std::string token;      // by value (allowed only in a 0600 file)
    std::string token_env;  // name of an environment variable
    std::string token_file; // path of a file holding the token
    bool empty() const { return token.empty() && token_env.empty() && token_file.empty(); }
};

/// A context's `kubernetes:`. Without `server`, the kubeconfig is read (`kubeconfig` files, else
/// $KUBECONFIG, else ~/.kube/config) and the other keys apply on top of it.
struct KubernetesConfig {
    std::string server;
    std::string namespace_name; // "" = the kubeconfig context's, else "default"
    TokenSource auth;
    std::vector<std::string> kubeconfigs; // `kubeconfig:` (a path or a list)
    std::string kube_context;
    std::string ca_file;
    std::string cert_file; // client certificate (PEM) for mutual TLS
    std::string key_file;  // its key
    std::string tls_server_name;
    std::string proxy_url;
    bool insecure_skip_tls_verify = false;
};

/// HTTP Basic credentials of an endpoint: a user name and where its password comes from (one of
/// password-env and password-file).
struct BasicAuthConfig {
    std::string username;
    std::string password_env;
    std::string password_file;
    bool configured() const { return !username.empty(); }
};

/// A Service reached through the Kubernetes API server's service proxy
/// (/api/v1/namespaces/NAMESPACE/services/[SCHEME:]NAME[:PORT]/proxy/).
struct KubeService {
    std::string namespace_name;
    std::string name;
    std::string port;   // a port name or number; "" for the Service's only port
    std::string scheme; // "https" when written "NAMESPACE/https:NAME:PORT", else ""
    bool configured() const { return !name.empty(); }
    /// NAMESPACE/[SCHEME:]NAME[:PORT], as written in the configuration.
    std::string text() const;
    /// The proxy path without a trailing slash: /api/v1/namespaces/NS/services/NAME:PORT/proxy.
    std::string proxy_path() const;
};

/// Parses `NAMESPACE/NAME:PORT` (also `NAMESPACE/NAME` and `NAMESPACE/https:NAME:PORT`); the names
/// must be DNS-1123 labels and the port a number (1-65535) or a port name (Errc::config otherwise).
Result<KubeService> parse_kube_service(const std::string& text);

/// An HTTP backend (Prometheus, Alertmanager, registry). Several URLs form an HA set; instead of
/// URLs, a kube-service is reached through the API server with the context's Kubernetes
/// credentials.
struct Endpoint {
    std::vector<std::string> urls;
    KubeService kube_service;
    std::vector<std::pair<std::string, std::string>> headers; // sent with every request
    TokenSource auth;                                         // Bearer
    BasicAuthConfig basic_auth;
    std::string ca_file;
    std::string cert_file; // client certificate (mutual TLS), with key_file
    std::string key_file;
    bool insecure_skip_tls_verify = false;
    std::chrono::milliseconds timeout{0}; // 0: the command's default deadline
    bool configured() const { return !urls.empty() || kube_service.configured(); }
};

struct Role {
    std::string name;
    std::string service_account;
    std::chrono::seconds max{3600};
    bool approval_required = false; // approval: required (a second person approves)
    bool break_glass = false;       // break-glass: true (self-service, loud)
};

/// Where access notifications go (a webhook URL from an environment variable or a file).
struct NotifyConfig {
    std::string webhook_url_env;
    std::string webhook_url_file;
    bool configured() const { return !webhook_url_env.empty() || !webhook_url_file.empty(); }
};

struct AccessConfig {
    bool require_grant = true;
    std::map<std::string, Role> roles;
    std::chrono::seconds approval_timeout{15 * 60};
    NotifyConfig notify;
};

/// contexts.<name>.silences: the longest silence `oncall silence` may create.
struct SilencesConfig {
    std::chrono::seconds max{4 * 3600};
};

struct Context {
    std::string name;
    /// Made from the kubeconfig because no configuration file exists (see implicit_config).
    bool implicit = false;
    KubernetesConfig kubernetes;
    Endpoint prometheus;
    Endpoint alertmanager;
    Endpoint registry;
    AccessConfig access;
    SilencesConfig silences;
    /// How often Prometheus scrapes this context's services when /api/v1/targets cannot say (0:
    /// unknown).
    std::chrono::milliseconds scrape_interval{0};
};

struct Slo {
    std::optional<double> error_ratio;
    std::optional<double> latency_p99; // seconds
};

/// A service after defaults are applied (see service_for).
struct Service {
    std::string name;
    std::string namespace_name;
    std::string deployment;
    std::string selector;            // PromQL label matchers, e.g. service="checkout"
    std::vector<std::string> alerts; // Alertmanager matchers
    Slo slo;
    std::vector<std::string> repositories;
    std::map<std::string, std::string> signals; // name -> PromQL template override
    std::chrono::milliseconds scrape_interval{
        0};                  // `scrape-interval:`; 0: the context's, else unknown
    bool configured = false; // listed in the file (vs. defaults only)
};

struct Config {
    std::string path;            // file it came from ("" when none)
    std::string current_context; // as written in the file
    std::map<std::string, Context> contexts;
    std::map<std::string, Service> services; // as written (not defaulted)
    std::vector<std::string> warnings;       // unknown keys and the like, "file:line: ..."
    bool file_is_private = false;            // mode allows only the owner
};

/// Config file location: flag, else $ONCALL_CONFIG, else $XDG_CONFIG_HOME/oncall/config.yaml,
/// else ~/.config/oncall/config.yaml.
std::string resolve_config_path(const std::optional<std::string>& flag);

/// Parses YAML text; `origin` names the file in error messages ("config.yaml:12: key 'x': ...").
Result<Config> parse_config(const std::string& text, const std::string& origin);

/// Reads and parses the file; refuses a secret by value unless the file is mode 0600 (or stricter).
Result<Config> load_config(const std::string& path);

/// The configuration used when no file exists: one implicit context named after the kubeconfig
/// context (`context_flag` or $ONCALL_CONTEXT, else the kubeconfig's current-context, "" when
/// unknown), with Prometheus and Alertmanager from $ONCALL_PROMETHEUS_URL and
/// $ONCALL_ALERTMANAGER_URL (comma-separated for an HA set) when set.
Result<Config> implicit_config(const std::optional<std::string>& context_flag);

/// The context to use: flag, else $ONCALL_CONTEXT, else current-context; unknown names are
/// Errc::config errors listing the known ones.
Result<Context> select_context(const Config& config, const std::optional<std::string>& flag);

/// A service with defaults applied: namespace from the context, deployment = name,
/// selector and alerts = service="<name>". The name must be a DNS-1123 label (else Errc::invalid).
Result<Service> service_for(const Config& config, const Context& context, const std::string& name);

/// True when `name` is a valid Kubernetes DNS-1123 label (the only form a service name may take).
bool is_dns1123_label(const std::string& name);

/// Resolves a token source to its value (env var or file); empty source gives "".
Result<std::string> resolve_token(const TokenSource& source);

/// Resolves a basic-auth password (password-env or password-file) under the same rules as a token.
Result<std::string> resolve_password(const BasicAuthConfig& basic_auth);

/// Where an endpoint's credential comes from, for messages, never the secret itself:
/// "basic-auth user 'u' (password from $P)", "a bearer token from file F", or "" when it has none.
std::string credential_source(const Endpoint& endpoint);

/// Rewrites current-context in place, keeping every other line, comment and format as it was.
Result<void> set_current_context(const std::string& path, const std::string& name);

/// A configuration value fit to show: a URL loses its userinfo and token-like query parameters
/// (the redaction of -v output); anything else is returned as it is.
std::string redact_value(const std::string& value);

/// The file's YAML with every secret value replaced by "<redacted>" (comments dropped).
Result<std::string> redacted_yaml(const std::string& path);

/// Value of an environment variable, "" when unset.
std::string env_or_empty(const char* name);

/// Directory for state (grants, audit, caches): $XDG_STATE_HOME/oncall or ~/.local/state/oncall.
std::string state_dir();

} // namespace oncall::config
