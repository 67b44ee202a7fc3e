#include "oncall/views/status.h"

#include "oncall/core/duration.h"
#include "oncall/render/sanitize.h"

#include <fmt/format.h>

namespace oncall::views {

using render::sanitize;

std::string status_text(const config::Service& service, const ops::RolloutStatus& s,
                        const TextOptions& options) {
    const auto& style = options.style;
    const auto color = s.state == ops::RolloutState::complete ? render::Color::green
                       : s.state == ops::RolloutState::failed ? render::Color::red
                                                              : render::Color::yellow;
    std::string out = fmt::format("{}: revision {}, {}\n", sanitize(service.name), s.revision,
                                  render::paint(ops::rollout_state_name(s.state), color, style));
    out += fmt::format("  {}\n", sanitize(s.message));
    if (s.state == ops::RolloutState::failed && !s.reason.empty() &&
        s.message.find(s.reason) == std::string::npos) {
        out += fmt::format("  reason: {}\n", sanitize(s.reason));
    }
    out += fmt::format("  replicas: {} desired, {} updated, {} ready, {} available\n", s.desired,
                       s.updated, s.ready, s.available);
    if (!s.problems.empty()) {
        out += "  problems:\n";
        for (const auto& p : s.problems) {
            out += fmt::format("    {} {}: {}{}{}{}\n", sanitize(p.pod), sanitize(p.container),
                               render::paint(sanitize(p.reason), render::Color::red, style),
                               p.restarts > 0 ? fmt::format(" ({} restarts)", p.restarts)
                                              : std::string(),
                               p.in_new_replicaset ? " [new revision]" : " [old revision]",
                               p.message.empty() ? std::string() : " " + sanitize(p.message));
        }
    }
    return out;
}

nlohmann::json status_json(const config::Service& service, const ops::RolloutStatus& s) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& p : s.problems) {
        problems.push_back({{"pod", p.pod},
                            {"container", p.container},
                            {"reason", p.reason},
                            {"message", p.message},
                            {"restarts", p.restarts},
                            {"new_revision", p.in_new_replicaset},
                            {"fatal", p.fatal()}});
    }
    return {{"service", service.name},
            {"namespace", service.namespace_name},
            {"deployment", service.deployment},
            {"revision", s.revision},
            {"state", ops::rollout_state_name(s.state)},
            {"desired", s.desired},
            {"updated", s.updated},
            {"ready", s.ready},
            {"available", s.available},
            {"message", s.message},
            {"reason", s.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.reason)},
            {"problems", problems}};
}

std::string status_progress_line(const config::Service& service, const ops::RolloutStatus& s) {
    return fmt::format("{} revision {}: {}/{} updated, {} ready, {} available: {}",
                       sanitize(service.name), s.revision, s.updated, s.desired, s.ready,
                       s.available, sanitize(s.message));
}

std::string status_wait_line(const config::Service& service, const ops::WaitResult& wait) {
    return fmt::format("{}: {} after {}", sanitize(service.name), sanitize(wait.reason),
                       format_duration(wait.elapsed));
}

} // namespace oncall::views
