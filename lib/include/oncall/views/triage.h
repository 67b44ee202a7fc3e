#pragma once
// Triage's views: the screen of one service, the overview of all, and their JSON documents.

#include "oncall/ops/triage.h"
#include "oncall/views/view.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace oncall::views {

/// The text screen: verdict, since, suspect, alerts, signals with sparklines and deploy marks on
/// one time axis, deploy timeline, rollout, logs, drift and the commands to type next. Lines are
/// at most style.width columns (at least 60); for a typical report it fits 30 lines. Text from
/// servers and people is shown through render::sanitize().
std::string triage_text(const ops::TriageReport& report, const TextOptions& options);

/// The JSON document of DESIGN.md for a report (exact text, states by name).
nlohmann::json triage_json(const ops::TriageReport& report);

/// The overview as the view receives it.
struct Overview {
    std::string context;
    TimePoint at;
    std::vector<ops::OverviewLine> lines;     // worst first
    std::optional<std::string> listing_error; // the namespace could not be listed
    ExitCode exit_code = ExitCode::success;
};

/// The overview: one line per service, worst first.
std::string overview_text(const Overview& overview, const TextOptions& options);

/// The overview's JSON document.
nlohmann::json overview_json(const Overview& overview);

} // namespace oncall::views
