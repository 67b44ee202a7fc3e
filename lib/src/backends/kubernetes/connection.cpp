// Connection settings of an oncall context: its own server and token source, or a kubeconfig file.

#include "oncall/backends/kubernetes.h"

#include "backends/kubernetes/files.h"
#include "oncall/core/local_file.h"

#include <fmt/format.h>

namespace oncall::kube {

Result<Connection> resolve_connection(const config::KubernetesConfig& settings) {
    Connection c;
    if (!settings.kubeconfig.empty()) {
        const std::string path = expand_home(settings.kubeconfig);
        auto file = read_local_file(path, "kubeconfig", k_max_kubeconfig_bytes);
        if (!file) {
            return file.error();
        }
        const std::string* text = &file->text;
        // The rule of a token by value in the oncall configuration: only a private file holds one.
        if ((file->mode & 077) != 0 && kubeconfig_holds_inline_secret(*text)) {
            return make_error(Errc::config,
                              fmt::format("kubeconfig {} holds a credential by value but is "
                                          "readable by others (mode {:04o}); run 'chmod 600 {}'",
                                          path, file->mode, path));
        }
        auto parsed = parse_kubeconfig(*text, path, settings.kube_context);
        if (!parsed) {
            return parsed.error();
        }
        c = std::move(*parsed);
    } else {
        if (settings.server.empty()) {
            return make_error(Errc::config, "the context has no kubernetes server (set kubernetes.server or "
                                            "kubernetes.kubeconfig)");
        }
        c.server = settings.server;
        while (!c.server.empty() && c.server.back() == '/') {
            c.server.pop_back();
        }
        c.namespace_name = settings.namespace_name;
        c.origin = fmt::format("server {}", c.server);
    }
    if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0) {
        return make_error(Errc::config, fmt::format("kubernetes server '{}' is not an http(s) URL", c.server));
    }
    if (!settings.auth.empty()) {
        auto token = config::resolve_token(settings.auth);
        if (!token) {
            return token.error();
        }
        c.token = *token;
    }
    if (!settings.ca_file.empty()) {
        c.ca_file = expand_home(settings.ca_file);
    }
    if (settings.insecure_skip_tls_verify) {
        c.insecure_skip_tls_verify = true;
    }
    return c;
}

} // namespace oncall::kube
