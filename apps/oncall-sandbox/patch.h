#pragma once
// The three patch formats of PATCH requests: RFC 6902 JSON patch (with `test`), RFC 7386 merge
// patch and Kubernetes' strategic merge patch (lists of named things merged by key). Errors carry
// the HTTP status kube-apiserver answers with: 400 for a patch that cannot be decoded, 422 for one
// that does not apply (including a failed `test`).

#include "oncall/core/result.h"

#include <nlohmann/json.hpp>
#include <string>

namespace sandbox {

/// Applies an application/json-patch+json body to `document`.
oncall::Result<nlohmann::json> apply_json_patch(const nlohmann::json& document,
                                                const std::string& patch_body);

/// Applies an application/merge-patch+json body to `document`.
oncall::Result<nlohmann::json> apply_merge_patch(const nlohmann::json& document,
                                                 const std::string& patch_body);

/// Applies an application/strategic-merge-patch+json body to `document` (containers, env, ports,
/// volumes, conditions, ... merged by their key; `$patch: delete|replace` directives honoured).
oncall::Result<nlohmann::json> apply_strategic_merge_patch(const nlohmann::json& document,
                                                           const std::string& patch_body);

} // namespace sandbox
