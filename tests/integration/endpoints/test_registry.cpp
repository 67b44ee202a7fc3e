// redeploy --image against the real docker-registry with `auth: htpasswd` (a Basic challenge), as a
// private registry is run: credentials from a temporary DOCKER_CONFIG, from a credential helper
// script on PATH, and none (exit 4 naming the registry, nothing written). The authenticated
// registry serves the practice cluster's registry storage, so it holds the scenario's images.

#include "servers.h"

#include <catch2/catch.hpp>
#include <thread>

using namespace oncall::test;
using nlohmann::json;

namespace {

const std::string k_registry_password = "registry-pass-9e3a-never-printed";

json deployment(const std::string& name) {
    const auto env = cluster_env();
    const auto r = run_process(
        {"curl", "-sf", "--cacert", env.at("ONCALL_SANDBOX_CA"), "-H",
         "Authorization: Bearer " + file_text(env.at("ONCALL_K8S_TOKEN_FILE")),
         env.at("ONCALL_SANDBOX_URL") + "/apis/apps/v1/namespaces/shop/deployments/" + name});
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
}

std::string deployment_image(const std::string& name) {
    return deployment(name).at("spec").at("template").at("spec").at("containers").at(0).at("image");
}

// Waits (bounded) until the rollout controller has taken in the last change (it then writes the
// revision annotation, which a write racing with it would see as a conflict).
void wait_observed(const std::string& name) {
    for (int i = 0; i < 100; ++i) {
        const json d = deployment(name);
        if (d.at("status").value("observedGeneration", 0) >=
            d.at("metadata").value("generation", 0)) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("the rollout controller never observed the change to " << name);
}

std::string digest_of(const std::string& repository, const std::string& tag) {
    const auto r =
        run_process({"curl", "-sfI", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                     "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
                     cluster_env().at("REGISTRY_URL") + "/v2/" + repository + "/manifests/" + tag});
    REQUIRE(r.exit_code == 0);
    const auto at = r.out.find("sha256:");
    REQUIRE(at != std::string::npos);
    return r.out.substr(at, 71);
}

} // namespace

TEST_CASE("redeploy --image through a registry behind htpasswd: DOCKER_CONFIG, a credential "
          "helper, and none",
          "[endpoints][registry]") {
    auto env = cluster_env();
    TempDir dir;
    const std::string htpasswd =
        dir.write("htpasswd", bcrypt_line("robot", k_registry_password) + "\n");
    const int port = free_port();
    const std::string host = "127.0.0.1:" + std::to_string(port);
    const std::string config_file =
        dir.write("registry.yml", "version: 0.1\nlog: { level: warn }\n"
                                  "storage:\n  filesystem:\n    rootdirectory: " +
                                      required_env("ONCALL_SANDBOX_STATE") +
                                      "/registry/data\n"
                                      "http:\n  addr: " +
                                      host +
                                      "\nauth:\n  htpasswd:\n    realm: oncall-test\n"
                                      "    path: " +
                                      htpasswd + "\n");
    Daemon registry({"docker-registry", "serve", config_file}, dir.path() + "/registry.log");
    wait_until_ready(registry, {"-u", "robot:" + k_registry_password, "http://" + host + "/v2/"});
    REQUIRE(run_process(
                {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://" + host + "/v2/"})
                .out == "401");

    const std::string services = "  search:\n    repositories: [" + host + "/shop/search]\n";
    const std::string config = write_config(dir, "", "", "{ url: http://" + host + " }", services);
    TempDir state;
    auto grant = oncall_with(config, state,
                             {"request-access", "search", "--role", "deployer", "--for", "30m",
                              "--reason", "redeploy from the private registry", "-q"});
    INFO(grant.err);
    REQUIRE(grant.exit_code == 0);
    const auto redeploy = [&](const std::string& tag,
                              const std::map<std::string, std::string>& extra) {
        return oncall_with(config, state,
                           {"redeploy", "search", "--image", host + "/shop/search:" + tag, "--yes",
                            "--no-wait", "--reason", "pin " + tag + " from the private registry",
                            "-o", "json", "-v"},
                           extra);
    };

    // Without credentials: exit 4 naming the registry and where credentials were looked for;
    // nothing written.
    TempDir empty_docker;
    const std::string before = deployment_image("search");
    auto r = redeploy("0.9.4", {{"DOCKER_CONFIG", empty_docker.path()}});
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Catch::Contains("registry " + host + " asks for credentials (Basic)") &&
                          Catch::Contains(empty_docker.path() + "/config.json") &&
                          Catch::Contains("docker login " + host));
    CHECK(deployment_image("search") == before);

    // From a temporary DOCKER_CONFIG.
    TempDir docker;
    docker.write("config.json", R"({"auths": {")" + host + R"(": {"auth": ")" +
                                    base64("robot:" + k_registry_password) + R"("}}})");
    r = redeploy("0.9.4", {{"DOCKER_CONFIG", docker.path()}});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string pinned_094 = host + "/shop/search@" + digest_of("shop/search", "0.9.4");
    CHECK(json_of(r).at("to").at("artifacts").at(0) == pinned_094);
    CHECK(deployment_image("search") == pinned_094);
    std::string leaks = r.out + r.err;
    wait_observed("search");

    // From a credential helper on PATH (credHelpers), which gets the host on stdin.
    TempDir bin;
    bin.write("docker-credential-oncall-test",
              "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nread -r server\necho \"$server\" > '" +
                  bin.path() +
                  "/asked'\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"robot\",\"Secret\":\"" +
                  k_registry_password + "\"}' \"$server\"\n",
              0755);
    TempDir helper_docker;
    helper_docker.write("config.json", R"({"credHelpers": {")" + host + R"(": "oncall-test"}})");
    r = redeploy("0.9.3", {{"DOCKER_CONFIG", helper_docker.path()},
                           {"PATH", bin.path() + ":" + std::string(std::getenv("PATH"))}});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string pinned_093 = host + "/shop/search@" + digest_of("shop/search", "0.9.3");
    CHECK(deployment_image("search") == pinned_093);
    CHECK(all_files_under(bin.path()).find(host) !=
          std::string::npos); // the helper was asked for this host
    leaks += r.out + r.err;
    wait_observed("search");

    // A wrong password is refused by the registry: exit 4, naming where it came from.
    docker.write("config.json", R"({"auths": {")" + host + R"(": {"auth": ")" +
                                    base64("robot:wrong-password") + R"("}}})");
    r = redeploy("0.9.4", {{"DOCKER_CONFIG", docker.path()}});
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err,
               Catch::Contains("refused the credentials from " + docker.path() + "/config.json"));
    CHECK(deployment_image("search") == pinned_093);
    leaks += r.out + r.err;

    // The password is in no output, -v line, audit line or state file.
    leaks += all_files_under(state.path());
    CHECK(leaks.find(k_registry_password) == std::string::npos);
    CHECK(leaks.find(base64("robot:" + k_registry_password)) == std::string::npos);
    CHECK(leaks.find("wrong-password") == std::string::npos);
}
