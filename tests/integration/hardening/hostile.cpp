#include "hostile.h"

#include "oncall/http/client.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace oncall::test {
namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
}

std::unique_ptr<FaultProxy> proxy_for(const std::string& upstream,
                                      const std::string& ca_file = {}) {
    FaultProxy::Options options;
    options.upstream = upstream;
    options.ca_file = ca_file;
    options.upstream_timeout = std::chrono::seconds(30);
    return std::make_unique<FaultProxy>(options);
}

} // namespace

bool audit_log_parseable(const std::string& path, std::string& why) {
    const std::string text = read_text(path);
    if (text.empty()) {
        return true;
    }
    if (text.back() != '\n') {
        why = "the last line has no newline (a half-written line)";
        return false;
    }
    std::istringstream lines(text);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
        ++n;
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            why = "line " + std::to_string(n) + " is not a JSON object: " + line.substr(0, 200);
            return false;
        }
    }
    return true;
}

HostileWorkstation::HostileWorkstation() : m_sandbox(sandbox_env()) {
    m_kube = proxy_for(m_sandbox.at("ONCALL_SANDBOX_URL"), m_sandbox.at("ONCALL_SANDBOX_CA"));
    m_prometheus = proxy_for(m_sandbox.at("PROMETHEUS_URL"));
    m_alertmanager = proxy_for(m_sandbox.at("ALERTMANAGER_URL"));
    m_registry = proxy_for(m_sandbox.at("REGISTRY_URL"));
    m_env = m_sandbox;
    m_env["XDG_STATE_HOME"] = m_state.path();
    m_env["ONCALL_CONFIG"] = config_file();
    m_env.erase("ONCALL_CONTEXT");
    write_config();
}

void HostileWorkstation::write_config(const ConfigOverrides& o) {
    std::string text = read_text(m_sandbox.at("ONCALL_CONFIG"));
    if (text.empty()) {
        throw std::runtime_error("the practice cluster's config is missing");
    }
    replace_all(text, m_sandbox.at("ONCALL_SANDBOX_URL"),
                o.kube_url.empty() ? m_kube->url() : o.kube_url);
    if (!o.kube_ca.empty()) {
        replace_all(text, m_sandbox.at("ONCALL_SANDBOX_CA"), o.kube_ca);
    }
    replace_all(text, m_sandbox.at("PROMETHEUS_URL"), m_prometheus->url());
    replace_all(text, m_sandbox.at("ALERTMANAGER_URL"), m_alertmanager->url());
    const std::string registry = o.registry_url.empty() ? m_registry->url() : o.registry_url;
    const std::string& registry_token_env = o.registry_token_env;
    const std::vector<std::string>& checkout_repositories = o.checkout_repositories;
    std::string registry_line = "{ url: " + registry;
    if (!registry_token_env.empty()) {
        registry_line += ", token-env: " + registry_token_env;
    }
    registry_line += " }";
    replace_all(text, "{ url: " + m_sandbox.at("REGISTRY_URL") + " }", registry_line);
    if (!checkout_repositories.empty()) {
        std::string list = "[";
        for (std::size_t i = 0; i < checkout_repositories.size(); ++i) {
            list += (i > 0 ? ", " : "") + checkout_repositories[i];
        }
        list += "]";
        // The sandbox's config lists checkout under services:; add the allow-list to it.
        const std::string key = "\n  checkout:\n";
        const auto at = text.find(key);
        if (at == std::string::npos) {
            text += "\nservices:\n  checkout:\n    repositories: " + list + "\n";
        } else {
            text.insert(at + key.size(), "    repositories: " + list + "\n");
        }
    }
    std::ofstream out(config_file(), std::ios::trunc);
    out << text;
}

ProcessResult HostileWorkstation::oncall(const std::vector<std::string>& args,
                                         std::chrono::milliseconds timeout) const {
    ProcessOptions options;
    options.env = m_env;
    options.unset_env = {"ONCALL_CONTEXT", "NO_COLOR"};
    options.timeout = timeout;
    return run_oncall(args, options);
}

void HostileWorkstation::grant(const std::string& service) {
    const auto r = oncall({"request-access", service, "--role", "deployer", "--for", "30m",
                           "--reason", "hostile-server suite: writes behind a misbehaving proxy"});
    if (r.exit_code != 0) {
        throw std::runtime_error("request-access failed: " + r.err);
    }
}

void HostileWorkstation::reset_proxies() {
    for (auto* p : {m_kube.get(), m_prometheus.get(), m_alertmanager.get(), m_registry.get()}) {
        p->set(FaultSettings{});
        p->clear_requests();
    }
}

std::vector<ProxiedRequest> HostileWorkstation::kube_writes() const {
    std::vector<ProxiedRequest> out;
    for (auto& r : m_kube->requests()) {
        // A SelfSubjectReview is a POST that stores nothing: it only asks who the caller is.
        if (r.method != "GET" && r.method != "HEAD" &&
            r.target.find("/selfsubjectreviews") == std::string::npos) {
            out.push_back(r);
        }
    }
    return out;
}

std::string HostileWorkstation::engineer_token() const {
    return test::trimmed(read_text(m_sandbox.at("ONCALL_K8S_TOKEN_FILE")));
}

nlohmann::json HostileWorkstation::deployment(const std::string& name) const {
    http::ClientOptions options;
    options.tls.ca_file = m_sandbox.at("ONCALL_SANDBOX_CA");
    options.bearer_token = engineer_token();
    options.retry = http::RetryPolicy::none();
    http::Request request;
    request.url =
        m_sandbox.at("ONCALL_SANDBOX_URL") + "/apis/apps/v1/namespaces/shop/deployments/" + name;
    const auto r = http::Client(options).perform(request);
    if (!r || r->status != 200) {
        throw std::runtime_error("cannot read deployment " + name);
    }
    return nlohmann::json::parse(r->body);
}

} // namespace oncall::test
