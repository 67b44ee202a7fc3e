#pragma once
// The simulated kube-apiserver: routing, discovery, authentication and authorization, get/list/
// watch with selectors and pagination, PATCH (JSON, merge, strategic merge) and PUT of
// Deployments with preconditions and dry-run, Secrets, Events, ServiceAccounts with TokenRequest,
// SelfSubjectReview, pod logs, Tables for kubectl, and a small admin API under /sandbox/v1/ for
// tests, and the service proxy to the Services of a services file. Every failure is a kube-shaped
// Status; no input stops the server.

#include "auth.h"
#include "controller.h"
#include "objects.h"
#include "scenario.h"
#include "service_proxy.h"
#include "store.h"
#include "workload.h"

#include <atomic>
#include <chrono>
#include <httplib.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace sandbox {

/// Settings of the API server.
struct ApiServerOptions {
    std::chrono::seconds min_token_expiration{600};
    std::string server_address; // host:port clients reach us at (for /api)
    bool log_requests = true;
    AuthorizationPolicy policy; // service accounts only approvers may mint for
    std::string services_file;  // the Services the service proxy reaches (see service_proxy.h)
};

/// One kind of object the server serves.
struct ResourceType {
    std::string group;
    std::string version;
    std::string resource;
    std::string kind;
    std::string singular;
    bool namespaced = true;
    std::vector<std::string> verbs;
    std::vector<std::string> short_names;
    std::vector<std::string> subresources; // "status", "log", "token"
};

class ApiServer {
public:
    ApiServer(Store& store, Controller& controller, Workload& workload, Authenticator& auth,
              const SandboxClock& clock, const Scenario& scenario, ApiServerOptions options);

    /// Registers every route on the HTTP server.
    void install(httplib::Server& server);
    /// Ends open watches (called before the HTTP server stops).
    void shutdown();
    /// Sets the address reported by /api once the port is known.
    void set_server_address(const std::string& address) { m_options.server_address = address; }

private:
    struct Target {
        const ResourceType* type = nullptr;
        std::string namespace_name;
        std::string name;
        std::string subresource;
    };

    void handle(const httplib::Request& req, httplib::Response& res);
    void route(const httplib::Request& req, httplib::Response& res);
    bool serve_discovery(const std::string& path, httplib::Response& res);
    bool serve_admin(const httplib::Request& req, httplib::Response& res, const UserInfo& user);
    Target parse_target(const std::string& path) const;

    void do_get(const httplib::Request& req, httplib::Response& res, const Target& t);
    void do_list(const httplib::Request& req, httplib::Response& res, const Target& t);
    void do_watch(const httplib::Request& req, httplib::Response& res, const Target& t);
    void do_create(const httplib::Request& req, httplib::Response& res, const Target& t,
                   const UserInfo& user);
    void do_token_request(const httplib::Request& req, httplib::Response& res, const Target& t,
                          const UserInfo& user);
    void do_self_subject_review(const httplib::Request& req, httplib::Response& res,
                                const UserInfo& user);
    void do_write_deployment(const httplib::Request& req, httplib::Response& res, const Target& t,
                             bool is_patch);
    void do_scale(const httplib::Request& req, httplib::Response& res, const Target& t);
    void do_delete(const httplib::Request& req, httplib::Response& res, const Target& t);
    void do_csr_approval(const httplib::Request& req, httplib::Response& res, const Target& t);
    void do_patch_secret(const httplib::Request& req, httplib::Response& res, const Target& t);
    void do_pod_log(const httplib::Request& req, httplib::Response& res, const Target& t);

    Store& m_store;
    Controller& m_controller;
    Workload& m_workload;
    Authenticator& m_auth;
    const SandboxClock& m_clock;
    const Scenario& m_scenario;
    ApiServerOptions m_options;
    std::vector<ResourceType> m_types;
    std::set<std::string> m_race_armed; // namespace/name of Deployments whose next write races
    int m_race_counter = 0;
    std::atomic<bool> m_stopping{false};
    ServiceProxy m_service_proxy;
};

} // namespace sandbox
