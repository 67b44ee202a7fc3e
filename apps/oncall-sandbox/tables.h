#pragma once
// meta.k8s.io/v1 Table responses (what `kubectl get` asks for with `Accept: ...;as=Table`), with
// the columns kube-apiserver prints for Deployments, ReplicaSets, Pods, Events, Secrets,
// ServiceAccounts and Namespaces.

#include "objects.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sandbox {

/// What each row carries besides its cells (kube's includeObject parameter).
enum class IncludeObject { none, metadata, object };

/// A Table of `objects` of `resource` as seen at `now`; `list_metadata` becomes the Table's
/// metadata.
nlohmann::json to_table(const std::string& resource, const std::vector<nlohmann::json>& objects,
                        SysTime now, IncludeObject include, const nlohmann::json& list_metadata);

} // namespace sandbox
