// Real kubectl against the practice cluster: get, rollout history, create token, rollout undo and
// rollout status.

#include "api_client.h"

#include <sstream>

using nlohmann::json;
using sandbox_test::Cluster;

namespace {

// Revision number -> change cause, from `kubectl rollout history`.
std::map<int, std::string> history_of(const Cluster& cluster, const std::string& deployment) {
    const auto r =
        cluster.kubectl({"-n", "shop", "rollout", "history", "deployment/" + deployment});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::map<int, std::string> revisions;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || !std::isdigit(static_cast<unsigned char>(line[0])))
            continue;
        const auto space = line.find_first_of(" \t");
        std::string cause =
            space == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t", space));
        revisions[std::stoi(line.substr(0, space))] = cause;
    }
    return revisions;
}

} // namespace

TEST_CASE("kubectl get deployments lists the scenario's services", "[sandbox][kubectl]") {
    sandbox_test::require_kubectl();
    Cluster cluster;
    const auto r = cluster.kubectl({"get", "deployments", "-n", "shop"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("NAME") && Catch::Contains("READY") &&
                          Catch::Contains("UP-TO-DATE"));
    for (const char* service : {"checkout", "payments", "search"}) {
        CHECK_THAT(r.out, Catch::Contains(std::string("\n") + service + " "));
    }
    const auto pods = cluster.kubectl({"get", "pods", "-n", "shop", "-l", "app=search"});
    REQUIRE(pods.exit_code == 0);
    CHECK_THAT(pods.out, Catch::Contains("CrashLoopBackOff"));
}

TEST_CASE("kubectl rollout history shows checkout's three revisions", "[sandbox][kubectl]") {
    sandbox_test::require_kubectl();
    Cluster cluster;
    const auto revisions = history_of(cluster, "checkout");
    REQUIRE(revisions.size() == 3);
    std::string causes;
    for (const auto& [n, cause] : revisions)
        causes += cause + "\n";
    CHECK_THAT(causes,
               Catch::Contains("1.2.0") && Catch::Contains("1.2.1") && Catch::Contains("1.2.2"));
}

TEST_CASE("kubectl create token mints a deployer token and refuses too short a duration",
          "[sandbox][kubectl]") {
    sandbox_test::require_kubectl();
    Cluster cluster;
    const auto r =
        cluster.kubectl({"-n", "shop", "create", "token", "oncall-deployer", "--duration=10m"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::string token = r.out;
    while (!token.empty() && token.back() == '\n')
        token.pop_back();
    REQUIRE(std::count(token.begin(), token.end(), '.') == 2); // a JWT, as kube issues
    CHECK(cluster.whoami(token) == "system:serviceaccount:shop:oncall-deployer");

    const auto short_one =
        cluster.kubectl({"-n", "shop", "create", "token", "oncall-deployer", "--duration=1m"});
    CHECK(short_one.exit_code != 0);
    CHECK_THAT(short_one.err, Catch::Contains("may not specify a duration less than 10 minutes"));
}

TEST_CASE("kubectl rollout undo with a deployer token, then rollout status reaches success",
          "[sandbox][kubectl]") {
    sandbox_test::require_kubectl();
    Cluster cluster;
    const auto token_run =
        cluster.kubectl({"-n", "shop", "create", "token", "oncall-deployer", "--duration=10m"});
    REQUIRE(token_run.exit_code == 0);
    std::string token = token_run.out;
    while (!token.empty() && token.back() == '\n')
        token.pop_back();

    // Revision 2 (1.2.1) on a fresh cluster; found by its change cause so the test is
    // order-independent.
    int target = 0;
    for (const auto& [n, cause] : history_of(cluster, "checkout")) {
        if (cause.find("1.2.1") != std::string::npos)
            target = n;
    }
    REQUIRE(target > 0);
    const json before = cluster.get("/apis/apps/v1/namespaces/shop/deployments/checkout");

    // The engineer's own token may not write.
    const auto refused = cluster.kubectl({"-n", "shop", "rollout", "undo", "deployment/checkout",
                                          "--to-revision=" + std::to_string(target)});
    CHECK(refused.exit_code != 0);
    CHECK_THAT(refused.err,
               Catch::Contains("cannot patch resource \"deployments\" in API group \"apps\""));

    const auto undo = cluster.kubectl({"-n", "shop", "rollout", "undo", "deployment/checkout",
                                       "--to-revision=" + std::to_string(target)},
                                      token);
    INFO(undo.out << undo.err);
    REQUIRE(undo.exit_code == 0);
    const bool skipped = undo.out.find("skipped rollback") != std::string::npos;
    const auto status = cluster.kubectl(
        {"-n", "shop", "rollout", "status", "deployment/checkout", "--timeout=90s"}, token);
    INFO(status.out << status.err);
    REQUIRE(status.exit_code == 0);
    CHECK_THAT(status.out, Catch::Contains("successfully rolled out"));

    const json after = cluster.get("/apis/apps/v1/namespaces/shop/deployments/checkout");
    if (!skipped) {
        CHECK(after["metadata"]["generation"].get<int>() >
              before["metadata"]["generation"].get<int>());
        CHECK(after["spec"]["template"] != before["spec"]["template"]);
    }
    CHECK(after["status"]["observedGeneration"] == after["metadata"]["generation"]);
    CHECK(after["status"]["updatedReplicas"] == after["spec"]["replicas"]);
    CHECK(after["status"]["availableReplicas"] == after["spec"]["replicas"]);
    CHECK_THAT(after["metadata"]["annotations"]["kubernetes.io/change-cause"].get<std::string>(),
               Catch::Contains("1.2.1"));

    // Every pod now runs the image of the restored template.
    const std::string image = after["spec"]["template"]["spec"]["containers"][0]["image"];
    const json pods = cluster.get("/api/v1/namespaces/shop/pods?labelSelector=app%3Dcheckout");
    REQUIRE(pods["items"].size() == after["spec"]["replicas"].get<std::size_t>());
    for (const auto& pod : pods["items"]) {
        CHECK(pod["spec"]["containers"][0]["image"] == image);
        CHECK(pod["status"]["containerStatuses"][0]["imageID"] ==
              image); // digest-pinned: what runs is what is named
        CHECK(pod["status"]["containerStatuses"][0]["ready"] == true);
    }
    // The history keeps three revisions; the restored one is now the newest.
    const auto revisions = history_of(cluster, "checkout");
    CHECK(revisions.size() == 3);
    CHECK_THAT(revisions.rbegin()->second, Catch::Contains("1.2.1"));
}

TEST_CASE("kubectl scale goes through the scale subresource", "[sandbox][kubectl]") {
    sandbox_test::require_kubectl();
    Cluster cluster;
    const std::string token = cluster.mint_token("oncall-deployer");
    const json before = cluster.get("/apis/apps/v1/namespaces/shop/deployments/payments");
    const int replicas = before["spec"]["replicas"];
    const auto refused = cluster.kubectl({"-n", "shop", "scale", "deployment/payments",
                                          "--replicas=" + std::to_string(replicas + 1)});
    CHECK(refused.exit_code != 0);
    CHECK_THAT(
        refused.err,
        Catch::Contains("cannot patch resource \"deployments/scale\" in API group \"apps\""));

    const auto up = cluster.kubectl({"-n", "shop", "scale", "deployment/payments",
                                     "--replicas=" + std::to_string(replicas + 1)},
                                    token);
    INFO(up.out << up.err);
    REQUIRE(up.exit_code == 0);
    const json scale = cluster.get("/apis/apps/v1/namespaces/shop/deployments/payments/scale");
    CHECK(scale["kind"] == "Scale");
    CHECK(scale["apiVersion"] == "autoscaling/v1");
    CHECK(scale["spec"]["replicas"] == replicas + 1);
    CHECK(scale["status"]["selector"] == "app=payments");
    const auto status = cluster.kubectl(
        {"-n", "shop", "rollout", "status", "deployment/payments", "--timeout=90s"}, token);
    INFO(status.out << status.err);
    CHECK(status.exit_code == 0);
    CHECK(
        cluster.get(
            "/apis/apps/v1/namespaces/shop/deployments/payments")["status"]["availableReplicas"] ==
        replicas + 1);

    const auto bad =
        cluster.request("PATCH", "/apis/apps/v1/namespaces/shop/deployments/payments/scale", token,
                        R"({"spec":{"replicas":-2}})", "application/merge-patch+json");
    CHECK(bad.status == 422);
    CHECK(bad.body["message"] ==
          "Scale.autoscaling \"payments\" is invalid: spec.replicas: Invalid value: -2: must be "
          "greater than or equal to 0");
    const auto back = cluster.kubectl(
        {"-n", "shop", "scale", "deployment/payments", "--replicas=" + std::to_string(replicas)},
        token);
    CHECK(back.exit_code == 0);
}
