#pragma once
// The views of the silence commands, and triage's silences block: the one place where silences
// become output (pure functions, golden-tested) (strings from Alertmanager go through
// render::sanitize() in text; JSON keeps their bytes).

#include "oncall/ops/silences.h"
#include "oncall/render/style.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oncall::views {

/// `silence -o json`: {"id", "service", "matchers": [...], "starts_at", "ends_at", "created_by",
/// "comment"} (plus "alertmanager" and "state").
nlohmann::json silence_json(const alertmanager::Silence& silence, const std::string& service);

/// What `oncall silence SERVICE` prints.
std::string created_silence_text(const ops::CreatedSilenceResult& result, TimePoint ref);

/// `silence list -o json`: {"silences": [...]}.
nlohmann::json silence_list_json(const std::vector<ops::SilenceView>& silences, TimePoint ref);

/// `silence list`: a table of id, service matchers, who, why and time left.
std::string silence_list_text(const std::vector<ops::SilenceView>& silences, TimePoint ref,
                              const render::Style& style);

/// `silence expire -o json`: {"id", "state", "already_expired", "matchers", "created_by",
/// "comment"}.
nlohmann::json expired_silence_json(const ops::ExpiredSilenceResult& result);

/// What `oncall silence expire ID` prints.
std::string expired_silence_text(const ops::ExpiredSilenceResult& result);

/// Triage JSON's "silences": [{"id", "matchers", "created_by", "comment", "ends_at"}].
nlohmann::json triage_silences_json(const std::vector<alertmanager::Silence>& silences,
                                    TimePoint ref);

/// Triage's SILENCES block (heading and one line per silence with its time left); empty when
/// there are none.
std::vector<std::string> triage_silences_lines(const std::vector<alertmanager::Silence>& silences,
                                               TimePoint ref, const render::Style& style);

} // namespace oncall::views
