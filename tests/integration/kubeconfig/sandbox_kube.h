#pragma once
// Kubeconfigs and environments for running oncall and kubectl against the suite's practice cluster
// with no oncall configuration file: only what a kubeconfig says.

#include "process.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

namespace kube_test {

/// The practice cluster's env file, a scratch folder, and the environment oncall runs in: no
/// configuration file (XDG_CONFIG_HOME is empty, ONCALL_CONFIG unset), its own state and cache.
struct Workspace {
    std::map<std::string, std::string> sandbox = oncall::test::sandbox_env();
    oncall::test::TempDir dir;

    /// A kubeconfig for the practice cluster whose user is `user_yaml` (the lines under `user:`,
    /// indented by 6 spaces), context namespace shop. Returns its path.
    std::string kubeconfig(const std::string& name, const std::string& user_yaml) const {
        const std::string text =
            "apiVersion: v1\nkind: Config\ncurrent-context: practice\nclusters:\n- name: practice\n"
            "  cluster:\n    server: " +
            sandbox.at("ONCALL_SANDBOX_URL") +
            "\n    certificate-authority: " + sandbox.at("ONCALL_SANDBOX_CA") +
            "\nusers:\n- name: someone\n  user:\n" + user_yaml +
            "contexts:\n- name: practice\n  context: {cluster: practice, user: someone, namespace: "
            "shop}\n";
        return dir.write(name, text);
    }

    /// Options for oncall (or kubectl) with KUBECONFIG set to `kubeconfig` and nothing else
    /// configured.
    oncall::test::ProcessOptions env(const std::string& kubeconfig) const {
        oncall::test::ProcessOptions o;
        o.env["KUBECONFIG"] = kubeconfig;
        o.env["XDG_CONFIG_HOME"] = dir.path() + "/xdg-config";
        o.env["XDG_CACHE_HOME"] = dir.path() + "/xdg-cache";
        o.env["XDG_STATE_HOME"] = dir.path() + "/xdg-state";
        o.env["HOME"] = dir.path();
        o.unset_env = {"ONCALL_CONFIG", "ONCALL_CONTEXT", "ONCALL_PROMETHEUS_URL",
                       "ONCALL_ALERTMANAGER_URL"};
        o.timeout = std::chrono::seconds(60);
        return o;
    }

    std::string token() const {
        return oncall::test::run_process({"cat", sandbox.at("ONCALL_K8S_TOKEN_FILE")})
            .out.substr(0, 64);
    }
};

} // namespace kube_test
