// Kubeconfig resolution compared with kubectl's own (`kubectl config view --minify --flatten --raw
// -o json`) over a table of fixtures: merge order across a $KUBECONFIG list, current-context,
// --context / kube-context, the namespace, -data versus file fields, relative paths resolved
// against the folder of the file that names them, duplicates and missing files in the list.

#include "backends/text.h"
#include "oncall/backends/kubernetes.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace oncall;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;

std::string b64(const std::string& text) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < text.size(); i += 3) {
        const unsigned n = (static_cast<unsigned char>(text[i]) << 16u) |
                           (static_cast<unsigned char>(text[i + 1]) << 8u) |
                           static_cast<unsigned char>(text[i + 2]);
        out += {k[(n >> 18u) & 63u], k[(n >> 12u) & 63u], k[(n >> 6u) & 63u], k[n & 63u]};
    }
    if (i + 1 == text.size()) {
        const unsigned n = static_cast<unsigned char>(text[i]) << 16u;
        out += {k[(n >> 18u) & 63u], k[(n >> 12u) & 63u], '=', '='};
    } else if (i + 2 == text.size()) {
        const unsigned n = (static_cast<unsigned char>(text[i]) << 16u) |
                           (static_cast<unsigned char>(text[i + 1]) << 8u);
        out += {k[(n >> 18u) & 63u], k[(n >> 12u) & 63u], k[(n >> 6u) & 63u], '='};
    }
    return out;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string decoded(const json& j, const char* key) {
    if (!j.contains(key)) {
        return {};
    }
    auto d = backends::base64_decode(j.at(key).get<std::string>());
    REQUIRE(d.ok());
    return *d;
}

// One fixture: files written under a fresh folder (relative names), the $KUBECONFIG list (names
// relative to the folder, ':'-joined), and the context asked for ("" = current-context).
struct Fixture {
    const char* name;
    std::vector<std::pair<std::string, std::string>> files;
    std::string kubeconfig;
    std::string context;
};

const std::string k_ca_a = "-----BEGIN CERTIFICATE-----\nCA-A\n-----END CERTIFICATE-----\n";
const std::string k_ca_b = "-----BEGIN CERTIFICATE-----\nCA-B\n-----END CERTIFICATE-----\n";
const std::string k_cert = "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n";
const std::string k_key =
    "-----BEGIN EC PRIVATE KEY-----\nKEY-SECRET\n-----END EC PRIVATE KEY-----\n";

std::vector<Fixture> fixtures() {
    const std::string a = R"(apiVersion: v1
kind: Config
current-context: alpha
clusters:
- name: shared
  cluster: {server: "https://a.example:6443", certificate-authority: certs/ca.pem}
- name: only-a
  cluster: {server: "https://only-a.example", tls-server-name: kube.internal, proxy-url: "socks5://127.0.0.1:1080"}
users:
- name: shared-user
  user: {token: token-from-a}
- name: cert-user
  user: {client-certificate: certs/client.pem, client-key-data: )" +
                          b64(k_key) + R"(}
contexts:
- name: alpha
  context: {cluster: shared, user: shared-user, namespace: shop}
- name: certs
  context: {cluster: only-a, user: cert-user}
)";
    const std::string b = R"(apiVersion: v1
kind: Config
current-context: beta
clusters:
- name: shared
  cluster: {server: "https://b.example:6443", certificate-authority-data: )" +
                          b64(k_ca_b) + R"(}
- name: only-b
  cluster: {server: "https://only-b.example/", insecure-skip-tls-verify: true}
users:
- name: shared-user
  user: {token: token-from-b}
- name: file-user
  user: {tokenFile: secrets/token, client-certificate-data: )" +
                          b64(k_cert) + R"(, client-key: secrets/client.key}
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/get-token
      args: [--cluster, b]
      env: [{name: REGION, value: eu-west-1}]
      interactiveMode: Never
      provideClusterInfo: true
- name: path-exec-user
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws, args: [eks, get-token]}
contexts:
- name: alpha
  context: {cluster: only-b, user: file-user, namespace: other}
- name: beta
  context: {cluster: only-b, user: file-user}
- name: exec
  context: {cluster: shared, user: exec-user, namespace: ops}
- name: path-exec
  context: {cluster: only-b, user: path-exec-user}
)";
    const std::string no_current = R"(apiVersion: v1
kind: Config
clusters: []
users: []
contexts: []
)";
    std::vector<std::pair<std::string, std::string>> files{
        {"a/config", a},
        {"a/certs/ca.pem", k_ca_a},
        {"a/certs/client.pem", k_cert},
        {"b/config", b},
        {"b/secrets/token", "token-from-file\n"},
        {"b/secrets/client.key", k_key},
        {"b/bin/get-token", "#!/bin/sh\nexit 1\n"},
        {"empty/config", no_current}};
    return {
        {"first file wins for clusters, users and current-context", files, "a/config:b/config", ""},
        {"the other order", files, "b/config:a/config", ""},
        {"current-context from the first file that sets it", files,
         "empty/config:b/config:a/config", ""},
        {"--context picks a context; the first file's entry of that name wins", files,
         "b/config:a/config", "alpha"},
        {"a context of the second file using a cluster merged from the first", files,
         "a/config:b/config", "exec"},
        {"client certificate from a file and key data, tls-server-name, proxy-url", files,
         "a/config:b/config", "certs"},
        {"tokenFile, certificate data and key file relative to their own file", files,
         "a/config:b/config", "beta"},
        {"exec plugin with a PATH command, v1beta1", files, "b/config", "path-exec"},
        {"missing files and duplicates in the list are skipped", files,
         "missing/config:a/config:a/config:b/config", "beta"},
    };
}

} // namespace

TEST_CASE("kubeconfig resolution matches kubectl config view --minify --flatten",
          "[kubeconfig][kubectl]") {
    if (test::run_process({"sh", "-c", "command -v kubectl"}).exit_code != 0) {
        FAIL("kubectl is not installed (Debian package kubernetes-client)");
    }
    for (const auto& f : fixtures()) {
        SECTION(f.name) {
            test::TempDir dir;
            for (const auto& [name, content] : f.files) {
                fs::create_directories(fs::path(dir.path() + "/" + name).parent_path());
                dir.write(name, content, name.find("bin/") != std::string::npos ? 0700 : 0600);
            }
            std::string list;
            std::stringstream names(f.kubeconfig);
            for (std::string item; std::getline(names, item, ':');) {
                list += (list.empty() ? "" : ":") + dir.path() + "/" + item;
            }
            test::ProcessOptions options;
            options.env["KUBECONFIG"] = list;
            std::vector<std::string> argv{"kubectl",   "config", "view", "--minify",
                                          "--flatten", "--raw",  "-o",   "json"};
            if (!f.context.empty()) {
                argv.push_back("--context=" + f.context);
            }
            const auto r = test::run_process(argv, options);
            INFO(f.name << "\nkubectl: " << r.err);
            REQUIRE(r.exit_code == 0);
            const json view = json::parse(r.out);

            test::ScopedEnv kubeconfig("KUBECONFIG", list);
            config::KubernetesConfig settings;
            settings.kube_context = f.context;
            auto c = kube::resolve_connection_settings(settings);
            INFO("oncall: " << (c ? std::string() : c.error().message));
            REQUIRE(c.ok());

            const json& ctx = view.at("contexts").at(0);
            const json& cluster = view.at("clusters").at(0).at("cluster");
            const json& user = view.at("users").at(0).at("user");
            CHECK(c->kube_context == ctx.at("name").get<std::string>());
            CHECK(c->kube_context == view.at("current-context").get<std::string>());
            std::string server = cluster.at("server").get<std::string>();
            while (!server.empty() && server.back() == '/') {
                server.pop_back();
            }
            CHECK(c->server == server);
            CHECK(c->namespace_name ==
                  ctx.at("context").value("namespace", std::string("default")));
            // --flatten embeds a CA file's content as certificate-authority-data.
            CHECK(c->ca_bundle().value() == decoded(cluster, "certificate-authority-data"));
            CHECK(c->tls_server_name == cluster.value("tls-server-name", std::string()));
            CHECK(c->proxy_url == cluster.value("proxy-url", std::string()));
            CHECK(c->insecure_skip_tls_verify == cluster.value("insecure-skip-tls-verify", false));
            const std::string cert = c->client_cert_pem.empty() && !c->client_cert_file.empty()
                                         ? slurp(c->client_cert_file)
                                         : c->client_cert_pem;
            const std::string key = c->client_key_pem.empty() && !c->client_key_file.empty()
                                        ? slurp(c->client_key_file)
                                        : c->client_key_pem;
            CHECK(cert == decoded(user, "client-certificate-data"));
            CHECK(key == decoded(user, "client-key-data"));
            // `config view` prints tokenFile and a relative exec command as written; kubectl's
            // client resolves them against the folder of the file holding the user
            // (ResolveLocalPaths in client-go), which in these fixtures is always b/.
            const auto as_kubectl_runs = [&](std::string path) {
                return path.empty() || path.front() == '/' || path.find('/') == std::string::npos
                           ? path
                           : (fs::path(dir.path()) / "b" / path).lexically_normal().string();
            };
            if (user.contains("tokenFile")) {
                std::string token = slurp(as_kubectl_runs(user.at("tokenFile").get<std::string>()));
                while (!token.empty() && token.back() == '\n') {
                    token.pop_back();
                }
                CHECK(c->token == token);
            } else {
                CHECK(c->token == user.value("token", std::string()));
            }
            REQUIRE(c->exec.has_value() == user.contains("exec"));
            if (c->exec) {
                const json& e = user.at("exec");
                CHECK(c->exec->command == as_kubectl_runs(e.at("command").get<std::string>()));
                CHECK(c->exec->api_version == e.at("apiVersion").get<std::string>());
                CHECK(c->exec->args == e.value("args", std::vector<std::string>{}));
                CHECK(c->exec->provide_cluster_info == e.value("provideClusterInfo", false));
                // kubectl prints interactiveMode as it defaulted it (IfAvailable for v1beta1).
                CHECK(c->exec->interactive_mode == e.value("interactiveMode", std::string()));
                std::vector<std::pair<std::string, std::string>> env;
                for (const auto& v : e.value("env", json::array())) {
                    env.emplace_back(v.at("name").get<std::string>(),
                                     v.at("value").get<std::string>());
                }
                CHECK(c->exec->env == env);
            }
        }
    }
}

TEST_CASE("kubeconfig errors where kubectl refuses the same file", "[kubeconfig][kubectl]") {
    const std::vector<std::pair<const char*, std::string>> cases{
        {"certificate-authority and -data both set", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://x", certificate-authority: /etc/hostname, certificate-authority-data: TFMwdA==}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)"},
        {"a certificate without a key", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://x"}}]
users: [{name: u, user: {client-certificate-data: TFMwdA==}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)"},
        {"a v1 exec plugin without interactiveMode", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://x"}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: p}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)"},
        {"a context naming a missing cluster", R"(current-context: x
clusters: []
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)"},
        {"a missing CA file", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://x", certificate-authority: missing-ca.pem}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)"},
    };
    for (const auto& [name, text] : cases) {
        SECTION(name) {
            test::TempDir dir;
            const std::string path = dir.write("config", text);
            test::ProcessOptions options;
            options.env["KUBECONFIG"] = path;
            const auto r = test::run_process(
                {"kubectl", "get", "--raw", "/version", "--request-timeout=1s"}, options);
            INFO(r.err);
            CHECK(r.exit_code != 0);
            CHECK(r.err.find("lookup x") == std::string::npos); // refused before any connection
            test::ScopedEnv kubeconfig("KUBECONFIG", path);
            auto c = kube::resolve_connection_settings(config::KubernetesConfig{});
            REQUIRE_FALSE(c.ok());
            CHECK(c.error().code == Errc::config);
        }
    }
}

TEST_CASE("an auth-provider user is refused with kubelogin's exec form", "[kubeconfig]") {
    test::TempDir dir;
    const std::string path = dir.write("config", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://x"}}]
users: [{name: u, user: {auth-provider: {name: oidc, config: {client-id: k, id-token: SECRET-ID-TOKEN}}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)");
    test::ScopedEnv kubeconfig("KUBECONFIG", path);
    auto c = kube::resolve_connection_settings(config::KubernetesConfig{});
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == Errc::config);
    CHECK(c.error().message.find("auth-provider 'oidc'") != std::string::npos);
    CHECK(c.error().message.find("kubelogin") != std::string::npos);
    CHECK(c.error().message.find("oidc-login, get-token") != std::string::npos);
    CHECK(c.error().message.find("SECRET-ID-TOKEN") == std::string::npos);
}

TEST_CASE("the context's own keys apply on top of the kubeconfig, and its namespace comes first",
          "[kubeconfig]") {
    test::TempDir dir;
    const std::string path = dir.write("config", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://x:6443", certificate-authority-data: TFMwdA==}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: p, interactiveMode: Never}}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: from-kubeconfig}}]
)");
    const std::string ca = dir.write("ca.pem", k_ca_a);
    test::ScopedEnv kubeconfig("KUBECONFIG", std::nullopt);
    test::ScopedEnv token("ONCALL_TEST_OVERRIDE_TOKEN", "override-token");
    config::KubernetesConfig settings;
    settings.kubeconfigs = {path};
    settings.auth.token_env = "ONCALL_TEST_OVERRIDE_TOKEN";
    settings.ca_file = ca;
    settings.tls_server_name = "api.internal";
    auto c = kube::resolve_connection_settings(settings);
    REQUIRE(c.ok());
    CHECK(c->token == "override-token");
    CHECK_FALSE(c->exec.has_value()); // a token of its own wins over the plugin, as in client-go
    CHECK(c->ca_file == ca);
    CHECK(c->ca_pem.empty());
    CHECK(c->tls_server_name == "api.internal");
    CHECK(c->namespace_name == "from-kubeconfig");
    settings.namespace_name = "from-context";
    CHECK(kube::resolve_connection_settings(settings)->namespace_name == "from-context");

    config::Context context;
    context.kubernetes = settings;
    context.kubernetes.namespace_name.clear();
    kube::complete_context(context);
    CHECK(context.kubernetes.namespace_name == "from-kubeconfig");
    config::Config file;
    auto service = config::service_for(file, context, "checkout");
    REQUIRE(service.ok());
    CHECK(service->namespace_name == "from-kubeconfig");
    file.services["checkout"].namespace_name = "from-service";
    CHECK(config::service_for(file, context, "checkout")->namespace_name == "from-service");

    settings.kubeconfigs = {dir.path() + "/missing"};
    auto missing = kube::resolve_connection_settings(settings);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.find("does not exist") != std::string::npos);
}
