// Reading a rollout's status with its pods, and waiting for it with watches.

#include "oncall/ops/rollout.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

namespace oncall::ops {
namespace {

using Clock = std::chrono::steady_clock;

// The Deployment's ReplicaSets and pods (by its selector), read at once.
struct Owned {
    std::vector<kube::ReplicaSet> replicasets;
    std::vector<kube::Pod> pods;
};

Result<Owned> read_owned(const kube::Api& client, const kube::Deployment& d) {
    kube::ListOptions options;
    options.label_selector = d.selector_string();
    auto rs = client.list_replicasets(d.metadata.namespace_name, options);
    if (!rs) {
        return std::move(rs).error();
    }
    auto pods = client.list_pods(d.metadata.namespace_name, options);
    if (!pods) {
        return std::move(pods).error();
    }
    return Owned{std::move(rs->items), std::move(pods->items)};
}

} // namespace

Result<RolloutStatus> read_rollout_status(const kube::Api& client, const std::string& ns,
                                          const std::string& name) {
    auto d = client.get_deployment(ns, name);
    if (!d) {
        return std::move(d).error();
    }
    auto owned = read_owned(client, *d);
    if (!owned) {
        return std::move(owned).error();
    }
    return assess_rollout(*d, owned->replicasets, owned->pods);
}

Result<WaitResult> wait_for_rollout(const kube::Api& client, const std::string& ns,
                                    const std::string& name, const WaitOptions& options) {
    const auto start = Clock::now();
    const auto deadline = start + options.timeout;
    auto current = client.get_deployment(ns, name);
    if (!current) {
        return std::move(current).error();
    }
    kube::Deployment deployment = std::move(*current);
    std::string resource_version = deployment.metadata.resource_version;
    Owned owned;
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
            return finish(WaitEnd::failed, s, s.reason.empty() ? s.message : s.reason);
        }
        if (s.state == RolloutState::paused) {
            return finish(WaitEnd::paused, s, s.message);
        }
        return std::nullopt;
    };
    if (auto first = read_owned(client, deployment)) {
        owned = std::move(*first);
    } else {
        return std::move(first).error();
    }
    for (;;) {
        auto status = assess_rollout(deployment, owned.replicasets, owned.pods);
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
                    decode_error = make_error(
                        Errc::not_found,
                        fmt::format("deployment {}/{} was deleted while waiting", ns, name));
                    return false;
                }
                deployment = std::move(*d);
                resource_version = deployment.metadata.resource_version;
                auto s = assess_rollout(deployment, owned.replicasets, owned.pods);
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
        auto fresh_owned = read_owned(client, deployment);
        if (!fresh_owned) {
            return std::move(fresh_owned).error();
        }
        owned = std::move(*fresh_owned);
    }
}

} // namespace oncall::ops
