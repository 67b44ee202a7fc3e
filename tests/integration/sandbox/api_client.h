#pragma once
// A small HTTPS client for the practice cluster's API server, reading its address, CA and the
// engineer's token from the sandbox env file; and kubectl run against the cluster's kubeconfig.

#include "process.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace sandbox_test {

/// An answer of the API server: status code, parsed JSON body (null when not JSON) and raw body.
struct ApiResponse {
    int status = 0;
    nlohmann::json body;
    std::string raw;
};

/// The practice cluster under test.
class Cluster {
public:
    Cluster() {
        const auto env = oncall::test::sandbox_env();
        m_url = env.at("ONCALL_SANDBOX_URL");
        m_ca = env.at("ONCALL_SANDBOX_CA");
        m_kubeconfig = env.at("KUBECONFIG");
        std::ifstream in(env.at("ONCALL_K8S_TOKEN_FILE"));
        std::getline(in, m_engineer_token);
    }

    const std::string& engineer_token() const { return m_engineer_token; }
    const std::string& url() const { return m_url; }

    /// Sends one request; `token` "" sends no Authorization header.
    ApiResponse request(const std::string& method, const std::string& path,
                        const std::string& token, const std::string& body = "",
                        const std::string& content_type = "application/json") const {
        httplib::Client client(m_url);
        client.set_ca_cert_path(m_ca.c_str());
        client.enable_server_certificate_verification(true);
        client.set_read_timeout(30, 0);
        httplib::Headers headers;
        if (!token.empty())
            headers.emplace("Authorization", "Bearer " + token);
        httplib::Result res{nullptr, httplib::Error::Unknown};
        if (method == "GET") {
            res = client.Get(path.c_str(), headers);
        } else if (method == "POST") {
            res = client.Post(path.c_str(), headers, body, content_type.c_str());
        } else if (method == "PUT") {
            res = client.Put(path.c_str(), headers, body, content_type.c_str());
        } else if (method == "PATCH") {
            res = client.Patch(path.c_str(), headers, body, content_type.c_str());
        } else if (method == "DELETE") {
            res = body.empty() ? client.Delete(path.c_str(), headers)
                               : client.Delete(path.c_str(), headers, body, content_type.c_str());
        }
        REQUIRE(res);
        ApiResponse out;
        out.status = res->status;
        out.raw = res->body;
        out.body = nlohmann::json::parse(res->body, nullptr, false);
        if (out.body.is_discarded())
            out.body = nullptr;
        return out;
    }

    /// GET as the engineer, requiring 200.
    nlohmann::json get(const std::string& path) const {
        auto r = request("GET", path, m_engineer_token);
        INFO(path << " -> " << r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    }

    /// Mints a service-account token (TokenRequest) as the engineer, optionally bound to a Secret.
    std::string mint_token(const std::string& service_account, long long seconds = 600,
                           const nlohmann::json& bound = nullptr) const {
        nlohmann::json body = {{"apiVersion", "authentication.k8s.io/v1"},
                               {"kind", "TokenRequest"},
                               {"spec", {{"expirationSeconds", seconds}}}};
        if (!bound.is_null())
            body["spec"]["boundObjectRef"] = bound;
        auto r =
            request("POST", "/api/v1/namespaces/shop/serviceaccounts/" + service_account + "/token",
                    m_engineer_token, body.dump());
        INFO(r.raw);
        REQUIRE(r.status == 201);
        return r.body["status"]["token"].get<std::string>();
    }

    /// Who the API server says a token belongs to (SelfSubjectReview).
    std::string whoami(const std::string& token) const {
        auto r = request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", token,
                         R"({"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"})");
        INFO(r.raw);
        REQUIRE(r.status == 201);
        return r.body["status"]["userInfo"]["username"].get<std::string>();
    }

    /// Runs kubectl against the cluster (its own discovery cache directory).
    oncall::test::ProcessResult kubectl(std::vector<std::string> args,
                                        const std::string& token = "") const {
        // The launcher's kubeconfig reads the engineer's tokenFile, which wins over --token;
        // another identity gets a kubeconfig of its own.
        std::string kubeconfig = m_kubeconfig;
        if (!token.empty()) {
            kubeconfig = m_cache.write(
                "kubeconfig-" + std::to_string(std::hash<std::string>{}(token)),
                "apiVersion: v1\nkind: Config\nclusters:\n- name: sandbox\n  cluster:\n"
                "    server: " +
                    m_url + "\n    certificate-authority: " + m_ca +
                    "\nusers:\n- name: other\n  user:\n    token: " + token +
                    "\ncontexts:\n- name: sandbox\n  context: {cluster: sandbox, user: other, "
                    "namespace: shop}\n"
                    "current-context: sandbox\n");
        }
        std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubeconfig, "--cache-dir",
                                         m_cache.path() + "/cache"};
        argv.insert(argv.end(), args.begin(), args.end());
        oncall::test::ProcessOptions options;
        options.timeout = std::chrono::seconds(90);
        options.env["HOME"] = m_cache.path();
        return oncall::test::run_process(argv, options);
    }

private:
    std::string m_url;
    std::string m_ca;
    std::string m_kubeconfig;
    std::string m_engineer_token;
    oncall::test::TempDir m_cache;
};

/// Waits (up to `limit`) until `done` holds; returns whether it did. Not a timing assertion: the
/// limit only bounds how long a broken sandbox can hang the test.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return done();
}

/// Percent-encodes a query parameter value.
inline std::string query_escape(const std::string& value) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : value) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

/// Whether kubectl can be run here (scripts/deps installs Debian's kubernetes-client otherwise).
inline void require_kubectl() {
    const auto r = oncall::test::run_process({"kubectl", "version", "--client"});
    INFO("kubectl is not installed; scripts/deps installs Debian's kubernetes-client");
    REQUIRE(r.exit_code == 0);
}

} // namespace sandbox_test
