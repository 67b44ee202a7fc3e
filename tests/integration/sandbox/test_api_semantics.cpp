// Kubernetes semantics the sandbox keeps as a real cluster does: watch from a resourceVersion,
// pagination with continue, dry run, the read-then-write race the admin API provokes, pods that
// crash-loop or cannot pull their image, pod logs, and Events.

#include "api_client.h"

#include <atomic>
#include <thread>

using nlohmann::json;
using sandbox_test::Cluster;

namespace {

const std::string k_deployments = "/apis/apps/v1/namespaces/shop/deployments";
const std::string k_checkout = k_deployments + "/checkout";

std::string unique(const std::string& prefix) {
    return prefix +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
}

} // namespace

TEST_CASE("a watch from a resourceVersion streams the changes after it", "[sandbox][watch]") {
    Cluster cluster;
    const std::string deployer = cluster.mint_token("oncall-deployer");
    const json list = cluster.get(k_deployments + "?fieldSelector=metadata.name%3Dcheckout");
    REQUIRE(list["items"].size() == 1);
    CHECK(list["kind"] == "DeploymentList");
    CHECK_FALSE(list["items"][0].contains("kind")); // list items carry no kind, as in kube
    const std::string rv = list["metadata"]["resourceVersion"];
    const std::string value = unique("watched-");

    std::string stream;
    std::atomic<bool> seen{false};
    std::thread watcher([&] {
        httplib::Client client(cluster.url());
        client.set_ca_cert_path(oncall::test::sandbox_env().at("ONCALL_SANDBOX_CA").c_str());
        client.set_read_timeout(30, 0);
        httplib::Headers headers = {{"Authorization", "Bearer " + cluster.engineer_token()}};
        client.Get((k_deployments +
                    "?watch=1&allowWatchBookmarks=true&timeoutSeconds=20&fieldSelector=metadata."
                    "name%3Dcheckout&resourceVersion=" +
                    rv)
                       .c_str(),
                   headers, [&](const char* data, size_t n) {
                       stream.append(data, n);
                       if (stream.find(value) != std::string::npos) {
                           seen = true;
                           return false;
                       }
                       return true;
                   });
    });
    const auto patched = cluster.request(
        "PATCH", k_checkout, deployer,
        json{{"metadata", {{"annotations", {{"sandbox-test/watch", value}}}}}}.dump(),
        "application/merge-patch+json");
    REQUIRE(patched.status == 200);
    watcher.join();
    REQUIRE(seen);
    // The event line that carries the change is a MODIFIED event of the whole object.
    const auto line_end = stream.find('\n', stream.find(value));
    const auto line_start = stream.rfind('\n', stream.find(value));
    const json event = json::parse(stream.substr(
        line_start == std::string::npos ? 0 : line_start + 1, line_end - line_start - 1));
    CHECK(event["type"] == "MODIFIED");
    CHECK(event["object"]["kind"] == "Deployment");
    CHECK(event["object"]["metadata"]["annotations"]["sandbox-test/watch"] == value);
}

TEST_CASE("lists page with limit and continue", "[sandbox][list]") {
    Cluster cluster;
    const json all = cluster.get("/api/v1/namespaces/shop/pods");
    REQUIRE(all["items"].size() >= 3);
    std::vector<std::string> names;
    std::string cont;
    do {
        const json page =
            cluster.get("/api/v1/namespaces/shop/pods?limit=2" +
                        (cont.empty() ? "" : "&continue=" + sandbox_test::query_escape(cont)));
        CHECK(page["items"].size() <= 2);
        for (const auto& p : page["items"])
            names.push_back(p["metadata"]["name"]);
        cont = page["metadata"].value("continue", "");
        if (!cont.empty())
            CHECK(page["metadata"]["remainingItemCount"].get<int>() > 0);
    } while (!cont.empty());
    std::vector<std::string> expected;
    for (const auto& p : all["items"])
        expected.push_back(p["metadata"]["name"]);
    CHECK(names == expected);
    const json selected = cluster.get(
        "/api/v1/namespaces/shop/pods?labelSelector=app%20in%20(checkout,payments),app!%3Dsearch");
    for (const auto& p : selected["items"]) {
        const std::string app = p["metadata"]["labels"]["app"];
        CHECK((app == "checkout" || app == "payments"));
    }
    CHECK(cluster
              .request("GET", "/api/v1/namespaces/shop/pods?continue=garbage",
                       cluster.engineer_token())
              .status == 400);
}

TEST_CASE("dry run answers with the result and stores nothing", "[sandbox][dry-run]") {
    Cluster cluster;
    const std::string deployer = cluster.mint_token("oncall-deployer");
    const json before = cluster.get(k_checkout);
    const auto r =
        cluster.request("PATCH", k_checkout + "?dryRun=All&fieldManager=oncall", deployer,
                        R"({"spec":{"replicas":7}})", "application/merge-patch+json");
    INFO(r.raw);
    REQUIRE(r.status == 200);
    CHECK(r.body["spec"]["replicas"] == 7);
    CHECK(r.body["metadata"]["generation"].get<int>() ==
          before["metadata"]["generation"].get<int>() + 1);
    const json after = cluster.get(k_checkout);
    CHECK(after["spec"]["replicas"] == before["spec"]["replicas"]);
    CHECK(after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]);
}

TEST_CASE("the race hook makes a read-then-write conflict happen", "[sandbox][race]") {
    Cluster cluster;
    const std::string deployer = cluster.mint_token("oncall-deployer");
    const json read = cluster.get(k_checkout);
    const std::string rv = read["metadata"]["resourceVersion"];
    const auto armed =
        cluster.request("POST", "/sandbox/v1/namespaces/shop/deployments/checkout/race",
                        cluster.engineer_token(), "{}");
    REQUIRE(armed.status == 200);
    const auto write = cluster.request(
        "PATCH", k_checkout, deployer,
        json::array({{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", rv}},
                     {{"op", "replace"}, {"path", "/spec/paused"}, {"value", true}}})
            .dump(),
        "application/json-patch+json");
    CHECK(write.status == 422);
    CHECK(write.body["details"]["causes"][0]["message"] ==
          "testing value /metadata/resourceVersion failed: test failed");
    const json after = cluster.get(k_checkout);
    CHECK(after["metadata"]["resourceVersion"] != rv);
    CHECK(after["metadata"]["annotations"].contains("sandbox.oncall.dev/race"));
    CHECK(after["spec"].value("paused", false) == false);
    // The hook fires once: the next write with a fresh precondition goes through.
    const auto retry =
        cluster.request("PATCH", k_checkout, deployer,
                        json::array({{{"op", "test"},
                                      {"path", "/metadata/resourceVersion"},
                                      {"value", after["metadata"]["resourceVersion"]}},
                                     {{"op", "add"},
                                      {"path", "/metadata/annotations/sandbox-test~1race"},
                                      {"value", "ok"}}})
                            .dump(),
                        "application/json-patch+json");
    CHECK(retry.status == 200);
}

TEST_CASE("pods show crash loops, image pull failures and logs", "[sandbox][pods]") {
    Cluster cluster;
    // search's newest revision crash-loops: its pod is never ready and keeps restarting.
    const json search = cluster.get("/api/v1/namespaces/shop/pods?labelSelector=app%3Dsearch");
    bool crashing = false;
    for (const auto& pod : search["items"]) {
        const json& cs = pod["status"]["containerStatuses"][0];
        if (cs["state"].contains("waiting") &&
            cs["state"]["waiting"]["reason"] == "CrashLoopBackOff") {
            crashing = true;
            CHECK(cs["ready"] == false);
            CHECK(cs["restartCount"].get<int>() > 0);
            CHECK_THAT(cs["imageID"].get<std::string>(), Catch::Contains("@sha256:"));
            const auto logs =
                cluster.request("GET",
                                "/api/v1/namespaces/shop/pods/" +
                                    pod["metadata"]["name"].get<std::string>() + "/log?tailLines=2",
                                cluster.engineer_token());
            CHECK(logs.status == 200);
            CHECK(std::count(logs.raw.begin(), logs.raw.end(), '\n') <= 2);
        }
    }
    CHECK(crashing);
    const json deployment = cluster.get(k_deployments + "/search");
    CHECK(deployment["status"]["updatedReplicas"] == 1);

    // A digest the registry does not hold: ErrImagePull, then ImagePullBackOff; undo restores
    // payments.
    const std::string deployer = cluster.mint_token("oncall-deployer");
    const json payments = cluster.get(k_deployments + "/payments");
    std::string image = payments["spec"]["template"]["spec"]["containers"][0]["image"];
    const std::string container = payments["spec"]["template"]["spec"]["containers"][0]["name"];
    image = image.substr(0, image.find('@')) + "@sha256:" + std::string(64, '0');
    const auto patched = cluster.request(
        "PATCH", k_deployments + "/payments", deployer,
        json{{"spec",
              {{"template",
                {{"spec",
                  {{"containers", json::array({{{"name", container}, {"image", image}}})}}}}}}}}
            .dump(),
        "application/strategic-merge-patch+json");
    INFO(patched.raw);
    REQUIRE(patched.status == 200);
    std::string pulling_pod;
    const bool backoff = sandbox_test::eventually([&] {
        const json pods = cluster.get("/api/v1/namespaces/shop/pods?labelSelector=app%3Dpayments");
        for (const auto& pod : pods["items"]) {
            const json& cs = pod["status"]["containerStatuses"][0];
            if (cs["state"].contains("waiting") &&
                cs["state"]["waiting"]["reason"] == "ImagePullBackOff") {
                pulling_pod = pod["metadata"]["name"];
                return true;
            }
        }
        return false;
    });
    REQUIRE(backoff);
    const auto no_logs = cluster.request(
        "GET", "/api/v1/namespaces/shop/pods/" + pulling_pod + "/log", cluster.engineer_token());
    CHECK(no_logs.status == 400);
    CHECK_THAT(no_logs.body["message"].get<std::string>(), Catch::Contains("is waiting to start"));
    // The old pods keep serving: the rollout is stuck, not down.
    const json stuck = cluster.get(k_deployments + "/payments");
    CHECK(stuck["status"]["availableReplicas"] == payments["spec"]["replicas"]);
    const auto restore =
        cluster.request("PATCH", k_deployments + "/payments", deployer,
                        json{{"spec", {{"template", payments["spec"]["template"]}}}}.dump(),
                        "application/merge-patch+json");
    CHECK(restore.status == 200);
}

TEST_CASE("events can be created and listed by involved object", "[sandbox][events]") {
    Cluster cluster;
    const json deployment = cluster.get(k_checkout);
    const std::string reason = unique("SandboxTest");
    const auto created =
        cluster.request("POST", "/api/v1/namespaces/shop/events", cluster.engineer_token(),
                        json{{"apiVersion", "v1"},
                             {"kind", "Event"},
                             {"metadata", {{"generateName", "checkout."}, {"namespace", "shop"}}},
                             {"involvedObject",
                              {{"kind", "Deployment"},
                               {"apiVersion", "apps/v1"},
                               {"namespace", "shop"},
                               {"name", "checkout"},
                               {"uid", deployment["metadata"]["uid"]}}},
                             {"reason", reason},
                             {"message", "from the sandbox tests"},
                             {"type", "Normal"},
                             {"source", {{"component", "oncall"}}}}
                            .dump());
    INFO(created.raw);
    REQUIRE(created.status == 201);
    CHECK_THAT(created.body["metadata"]["name"].get<std::string>(), Catch::StartsWith("checkout."));
    const json events = cluster.get(
        "/api/v1/namespaces/shop/events?fieldSelector=involvedObject.name%3Dcheckout,reason%3D" +
        reason);
    REQUIRE(events["items"].size() == 1);
    CHECK(events["items"][0]["message"] == "from the sandbox tests");
    const auto bad = cluster.request(
        "POST", "/api/v1/namespaces/shop/events", cluster.engineer_token(),
        R"({"metadata":{"name":"x"},"involvedObject":{"kind":"Deployment","namespace":"other","name":"checkout"}})");
    CHECK(bad.status == 422);
}
