#pragma once
// `oncall history`: the revisions of a service with their artifacts and times.

#include "oncall/backends/kubernetes.h"
#include "oncall/config/config.h"
#include "oncall/views/view.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oncall::views {

/// One table row per revision (newest first, as given), each followed by its artifacts in full
/// on lines of their own (digests are never cut). A change-cause is one line, escaped.
std::string history_text(const config::Service& service,
                         const std::vector<kube::Revision>& revisions, const TextOptions& options);

/// The JSON document: service, namespace, deployment and every revision (exact change-causes).
nlohmann::json history_json(const config::Service& service,
                            const std::vector<kube::Revision>& revisions);

} // namespace oncall::views
