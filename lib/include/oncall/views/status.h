#pragma once
// `oncall status`: the rollout state of a service with its pod problems.

#include "oncall/config/config.h"
#include "oncall/ops/rollout.h"
#include "oncall/views/view.h"

#include <nlohmann/json.hpp>
#include <string>

namespace oncall::views {

/// State, kubectl's message, replica counts and each pod problem on its own line (escaped).
std::string status_text(const config::Service& service, const ops::RolloutStatus& status,
                        const TextOptions& options);

/// The JSON document of a status (exact messages).
nlohmann::json status_json(const config::Service& service, const ops::RolloutStatus& status);

/// The one-line progress of `status --watch` (escaped, without colour).
std::string status_progress_line(const config::Service& service, const ops::RolloutStatus& status);

/// The last line of `status --watch`: how the wait ended and after how long (escaped).
std::string status_wait_line(const config::Service& service, const ops::WaitResult& wait);

} // namespace oncall::views
