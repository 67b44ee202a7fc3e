#pragma once
// Triage facts built from recorded server responses (tests/fixtures/): Prometheus ranges,
// Alertmanager alerts and a Deployment, at a fixed moment. Shared by the engine's tests and the
// golden tests of its views.

#include "../read_fixture.h"
#include "oncall/ops/triage.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace oncall::test::triage_facts {

using namespace oncall::ops;
using namespace std::chrono_literals;
using nlohmann::json;

inline const TimePoint k_now{std::chrono::seconds(1795003200)};
inline const std::string k_reg = "127.0.0.1:5001/shop/";

inline std::string digest(char c) {
    return "sha256:" + std::string(64, c);
}

inline std::vector<SignalSpec> specs_for(const std::string& service) {
    config::Service svc;
    svc.name = service;
    svc.slo.error_ratio = 0.01;
    svc.slo.latency_p99 = 0.5;
    auto specs = signals_for(svc);
    REQUIRE(specs.ok());
    return *specs;
}

inline SourceStatus ok_source(const std::string& name) {
    SourceStatus s;
    s.name = name;
    s.ok = true;
    return s;
}

inline kube::Pod running_pod(const std::string& name, const std::string& container,
                             const std::string& image_id) {
    kube::Pod p;
    p.metadata.name = name;
    p.phase = "Running";
    p.containers.push_back({container, image_id});
    kube::ContainerStatus cs;
    cs.name = container;
    cs.image = image_id;
    cs.image_id = image_id;
    cs.ready = true;
    p.container_statuses.push_back(cs);
    return p;
}

inline kube::Revision revision(const std::string& service, long n, std::chrono::minutes ago, char d,
                               bool current) {
    kube::Revision r;
    r.number = n;
    r.artifacts = {k_reg + service + "@" + digest(d)};
    r.deployed_at = k_now - ago;
    r.current = current;
    r.change_cause = "deploy " + std::to_string(n);
    r.pod_template.containers.push_back({service, r.artifacts[0]});
    return r;
}

// A healthy, complete Deployment (recorded fixture) running `revisions`, the newest current.
inline KubeFacts kube_facts(const std::string& service, std::vector<kube::Revision> revisions) {
    KubeFacts k;
    auto d =
        kube::decode_deployment(json::parse(read_fixture("kubernetes/deployment_checkout.json")));
    REQUIRE(d.ok());
    k.deployment = *d;
    k.revisions = std::move(revisions);
    const auto& newest = k.revisions.front();
    k.deployment.pod_template.containers = newest.pod_template.containers;
    for (int i = 0; i < 3; ++i) {
        k.pods.push_back(
            running_pod(service + "-abc-" + std::to_string(i), service, newest.artifacts[0]));
    }
    // The ReplicaSet of the current template, which the rollout judgement looks for.
    kube::ReplicaSet rs;
    rs.metadata.name = service + "-abc";
    rs.metadata.uid = "rs-" + service + "-new";
    rs.metadata.owner_references.push_back(
        {"apps/v1", "Deployment", k.deployment.metadata.name, k.deployment.metadata.uid, true});
    rs.pod_template = k.deployment.pod_template;
    rs.revision = newest.number;
    k.replicasets.push_back(rs);
    return k;
}

inline TriageFacts facts_for(const std::string& service, const std::string& alerts_fixture) {
    TriageFacts f;
    f.service = service;
    f.context = "sandbox";
    f.at = k_now;
    f.window = 1h;
    f.specs = specs_for(service);
    for (const auto& spec : f.specs) {
        auto decoded = prometheus::decode_query_response(
            200, read_fixture("prometheus/" + service + "_" + spec.name + "_range.json"),
            "http://prom");
        REQUIRE(decoded.ok());
        f.series.push_back(to_signal_series(spec, *decoded));
    }
    if (!alerts_fixture.empty()) {
        auto alerts = alertmanager::decode_alerts(
            200, read_fixture("alertmanager/" + alerts_fixture), "http://am");
        REQUIRE(alerts.ok());
        f.alerts = *alerts;
    } else {
        f.alerts = std::vector<alertmanager::Alert>{};
    }
    f.sources = {ok_source("prometheus"), ok_source("alertmanager"), ok_source("kubernetes")};
    return f;
}

// Makes `pod` one of the new ReplicaSet's pods in `k`.
inline void own_by_new_replicaset(const KubeFacts& k, kube::Pod& pod) {
    pod.metadata.owner_references = {{"apps/v1", "ReplicaSet", k.replicasets.back().metadata.name,
                                      k.replicasets.back().metadata.uid, true}};
}

} // namespace oncall::test::triage_facts
