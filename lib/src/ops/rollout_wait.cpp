// Reading a rollout's status with its pods, and waiting for it with watches.

#include "oncall/ops/rollout.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace oncall::ops {
namespace {

using Clock = std::chrono::steady_clock;

std::string problem_sentence(const PodProblem& p) {
    std::string s = fmt::format("pod {} container {}: {}", p.pod, p.container, p.reason);
    if (p.restarts > 0) {
        s += fmt::format(" ({} restarts)", p.restarts);
    }
    return s;
}

} // namespace

namespace {

// Pods of the Deployment (by its selector) and the problems among them.
Result<std::vector<PodProblem>> read_problems(const kube::KubeClient& client, const kube::Deployment& d) {
    kube::ListOptions options;
    options.label_selector = d.selector_string();
    auto rs = client.list_replicasets(d.metadata.namespace_name, options);
    if (!rs) {
        return std::move(rs).error();
    }
    std::set<std::string> owned;
    for (const auto& r : rs->items) {
        const auto* owner = r.metadata.controller();
        if (owner != nullptr && owner->uid == d.metadata.uid) {
            owned.insert(r.metadata.uid);
        }
    }
    const auto* fresh = new_replicaset(d, rs->items);
    auto pods = client.list_pods(d.metadata.namespace_name, options);
    if (!pods) {
        return std::move(pods).error();
    }
    std::vector<kube::Pod> mine;
    for (auto& p : pods->items) {
        const auto* owner = p.metadata.controller();
        if (owner != nullptr && owned.count(owner->uid) > 0) {
            mine.push_back(std::move(p));
        }
    }
    return pod_problems(mine, fresh != nullptr ? fresh->metadata.uid : std::string());
}

} // namespace

Result<RolloutStatus> read_rollout_status(const kube::KubeClient& client, const std::string& ns,
                                          const std::string& name) {
    auto d = client.get_deployment(ns, name);
    if (!d) {
        return std::move(d).error();
    }
    auto status = evaluate_rollout(*d);
    auto problems = read_problems(client, *d);
    if (!problems) {
        return std::move(problems).error();
    }
    status.problems = std::move(*problems);
    return status;
}

Result<WaitResult> wait_for_rollout(const kube::KubeClient& client, const std::string& ns, const std::string& name,
                                    const WaitOptions& options) {
    const auto start = Clock::now();
    const auto deadline = start + options.timeout;
    auto current = client.get_deployment(ns, name);
    if (!current) {
        return std::move(current).error();
    }
    kube::Deployment deployment = std::move(*current);
    std::string resource_version = deployment.metadata.resource_version;
    std::vector<PodProblem> problems;
    auto finish = [&](WaitEnd end, RolloutStatus status, std::string reason) {
        WaitResult r;
        r.end = end;
        r.status = std::move(status);
        r.reason = std::move(reason);
        r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        return r;
    };
    // Terminal outcome of a status, if any.
    auto judge = [&](const RolloutStatus& s) -> std::optional<WaitResult> {
        if (s.state == RolloutState::complete) {
            return finish(WaitEnd::complete, s, s.message);
        }
        if (s.state == RolloutState::failed) {
            return finish(WaitEnd::failed, s, s.message);
        }
        if (s.state == RolloutState::paused) {
            return finish(WaitEnd::paused, s, s.message);
        }
        if (options.fail_fast) {
            for (const auto& p : s.problems) {
                if (p.in_new_replicaset && p.fatal()) {
                    return finish(WaitEnd::failed, s, problem_sentence(p));
                }
            }
        }
        return std::nullopt;
    };
    for (;;) {
        auto status = evaluate_rollout(deployment);
        status.problems = problems;
        if (options.on_update) {
            options.on_update(status);
        }
        if (auto end = judge(status)) {
            return *end;
        }
        const auto now_ = Clock::now();
        if (now_ >= deadline) {
            return finish(WaitEnd::timed_out, status, status.message);
        }
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - now_);
        kube::WatchOptions watch;
        watch.resource_version = resource_version;
        watch.field_selector = fmt::format("metadata.name={}", name);
        watch.timeout = std::clamp(left, std::chrono::seconds(1), std::chrono::seconds(2));
        std::optional<WaitResult> ended;
        std::optional<Error> decode_error;
        auto watched = client.watch(
            fmt::format("/apis/apps/v1/namespaces/{}/deployments", http::url_encode(ns)), watch,
            [&](const kube::WatchEvent& event) {
                if (event.type == "BOOKMARK") {
                    if (auto md = kube::decode_metadata(event.object)) {
                        resource_version = md->resource_version;
                    }
                    return true;
                }
                auto d = kube::decode_deployment(event.object);
                if (!d) {
                    decode_error = std::move(d).error();
                    return false;
                }
                if (d->metadata.name != name) {
                    return true;
                }
                if (event.type == "DELETED") {
                    decode_error = make_error(Errc::not_found,
                                              fmt::format("deployment {}/{} was deleted while waiting", ns, name));
                    return false;
                }
                deployment = std::move(*d);
                resource_version = deployment.metadata.resource_version;
                auto s = evaluate_rollout(deployment);
                s.problems = problems;
                if (options.on_update) {
                    options.on_update(s);
                }
                ended = judge(s);
                return !ended.has_value();
            });
        if (ended) {
            return *ended;
        }
        if (decode_error) {
            return *decode_error;
        }
        if (!watched) {
            const auto& e = watched.error();
            if (e.code == Errc::conflict || e.http_status == 410) {
                // The resource version expired: read the object again and watch from there.
                auto fresh = client.get_deployment(ns, name);
                if (!fresh) {
                    return std::move(fresh).error();
                }
                deployment = std::move(*fresh);
                resource_version = deployment.metadata.resource_version;
            } else if (e.code != Errc::timeout) {
                return watched.error();
            }
        }
        auto fresh_problems = read_problems(client, deployment);
        if (!fresh_problems) {
            return std::move(fresh_problems).error();
        }
        problems = std::move(*fresh_problems);
    }
}

} // namespace oncall::ops
