#pragma once
// One engineer's machine for the deploy suite: the sandbox's configuration and credentials, a
// private state directory (grants, audit log), and helpers to look at the cluster directly.

#include "oncall/http/client.h"
#include "process.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace oncall::test {

class Workstation {
public:
    Workstation() : m_env(sandbox_env()) { m_env["XDG_STATE_HOME"] = m_state.path(); }

    ProcessResult oncall(const std::vector<std::string>& args,
                         const std::string& stdin_data = {}) const {
        ProcessOptions options;
        options.env = m_env;
        options.unset_env = {"ONCALL_CONTEXT", "NO_COLOR"};
        options.stdin_data = stdin_data;
        options.timeout = std::chrono::seconds(150);
        return run_oncall(args, options);
    }

    ProcessResult kubectl(const std::vector<std::string>& args) const {
        ProcessOptions options;
        options.env = m_env;
        std::vector<std::string> argv{"kubectl", "-n", "shop"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_process(argv, options);
    }

    ProcessResult shell(const std::string& script, const std::vector<std::string>& args) const {
        ProcessOptions options;
        options.env = m_env;
        options.env["PATH"] =
            parent_dir(required_env("ONCALL_BIN")) + ":" + std::string(std::getenv("PATH"));
        options.unset_env = {"ONCALL_CONTEXT"};
        options.timeout = std::chrono::seconds(150);
        std::vector<std::string> argv{"bash", script};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_process(argv, options);
    }

    /// Runs oncall on a pseudo-terminal (util-linux `script`), typing `typed` at it.
    ProcessResult oncall_on_tty(const std::vector<std::string>& args,
                                const std::string& typed) const {
        std::string command = "'" + required_env("ONCALL_BIN") + "'";
        for (const auto& a : args) {
            command += " '" + a + "'";
        }
        ProcessOptions options;
        options.env = m_env;
        options.unset_env = {"ONCALL_CONTEXT"};
        options.stdin_data = typed;
        options.timeout = std::chrono::seconds(150);
        return run_process({"script", "-qec", command, "/dev/null"}, options);
    }

    /// Asks for a deployer grant for `service` (required for writes).
    void grant(const std::string& service) const {
        auto r = oncall({"request-access", service, "--role", "deployer", "--for", "30m",
                         "--reason", "integration test of rollback and redeploy", "-q"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    }

    std::string env(const std::string& key) const { return m_env.at(key); }
    void set_env(const std::string& key, const std::string& value) { m_env[key] = value; }
    std::string audit_file() const { return m_state.path() + "/oncall/audit.jsonl"; }
    std::vector<nlohmann::json> audit_lines() const {
        std::vector<nlohmann::json> out;
        std::istringstream in(read_text(audit_file()));
        std::string line;
        while (std::getline(in, line)) {
            if (!line.empty()) {
                out.push_back(nlohmann::json::parse(line));
            }
        }
        return out;
    }
    std::string grant_token(const std::string& service) const {
        return nlohmann::json::parse(read_text(m_state.path() + "/oncall/grants/sandbox." +
                                               service + ".deployer.json"))
            .at("token");
    }
    std::string engineer_token() const {
        return trimmed(read_text(m_env.at("ONCALL_K8S_TOKEN_FILE")));
    }
    const TempDir& state() const { return m_state; }

    /// GET/POST on the sandbox's API server with the engineer's token.
    http::Response api(http::Method method, const std::string& path,
                       const std::string& body = {}) const {
        http::ClientOptions options;
        options.tls.ca_file = m_env.at("ONCALL_SANDBOX_CA");
        options.retry = http::RetryPolicy::none();
        http::Client client(options);
        http::Request request;
        request.method = method;
        request.url = m_env.at("ONCALL_SANDBOX_URL") + path;
        request.bearer_token = engineer_token();
        request.body = body;
        if (!body.empty()) {
            request.headers.push_back({"Content-Type", "application/json"});
        }
        auto response = client.perform(request);
        REQUIRE(response);
        return *response;
    }

    /// The Deployment as the API server has it now.
    nlohmann::json deployment(const std::string& name) const {
        const auto r = api(http::Method::get, "/apis/apps/v1/namespaces/shop/deployments/" + name);
        REQUIRE(r.status == 200);
        return nlohmann::json::parse(r.body);
    }
    std::string resource_version(const std::string& name) const {
        return deployment(name).at("metadata").at("resourceVersion");
    }
    /// Generation, spec, labels and annotations: what a write would change (status may move on its
    /// own).
    std::string spec_fingerprint(const std::string& name) const {
        const auto d = deployment(name);
        const auto& md = d.at("metadata");
        return nlohmann::json{md.value("generation", 0), d.at("spec"),
                              md.value("labels", nlohmann::json::object()),
                              md.value("annotations", nlohmann::json::object())}
            .dump();
    }
    std::string image(const std::string& name) const {
        return deployment(name)
            .at("spec")
            .at("template")
            .at("spec")
            .at("containers")
            .at(0)
            .at("image");
    }

    /// Images the pods of a Deployment run (by their container status), sorted.
    std::vector<std::string> pod_images(const std::string& app) const {
        const auto r = api(http::Method::get, "/api/v1/namespaces/shop/pods");
        REQUIRE(r.status == 200);
        std::vector<std::string> out;
        const auto pods = nlohmann::json::parse(r.body);
        for (const auto& p : pods.at("items")) {
            if (p["metadata"]["name"].get<std::string>().rfind(app + "-", 0) != 0) {
                continue;
            }
            for (const auto& c : p["spec"]["containers"]) {
                out.push_back(c["image"]);
            }
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    /// An instant PromQL query's first value (nullopt when empty).
    std::optional<double> promql(const std::string& query) const {
        http::Client client{http::ClientOptions{}};
        http::Request request;
        request.method = http::Method::post;
        request.url = m_env.at("PROMETHEUS_URL") + "/api/v1/query";
        request.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
        request.body = "query=" + http::url_encode(query);
        auto response = client.perform(request);
        REQUIRE(response);
        REQUIRE(response->status == 200);
        const auto body = nlohmann::json::parse(response->body);
        const auto& result = body.at("data").at("result");
        if (result.empty()) {
            return std::nullopt;
        }
        return std::stod(result.at(0).at("value").at(1).get<std::string>());
    }

    /// The manifest digest the registry reports for a tag (HEAD with the manifest Accept list).
    std::string registry_digest(const std::string& repository, const std::string& tag) const {
        http::Client client{http::ClientOptions{}};
        http::Request request;
        request.method = http::Method::head;
        request.url = m_env.at("REGISTRY_URL") + "/v2/" + repository + "/manifests/" + tag;
        request.headers.push_back({"Accept",
                                   "application/vnd.oci.image.manifest.v1+json, "
                                   "application/vnd.oci.image.index.v1+json, "
                                   "application/vnd.docker.distribution.manifest.v2+json"});
        auto response = client.perform(request);
        REQUIRE(response);
        REQUIRE(response->status == 200);
        return response->header("Docker-Content-Digest").value_or("");
    }

    std::string registry_host() const {
        const std::string url = m_env.at("REGISTRY_URL");
        return url.substr(url.find("://") + 3);
    }

private:
    static std::string parent_dir(const std::string& path) {
        return path.substr(0, path.rfind('/'));
    }

    TempDir m_state;
    std::map<std::string, std::string> m_env;
};

} // namespace oncall::test
