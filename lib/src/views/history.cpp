#include "oncall/views/history.h"

#include "oncall/render/sanitize.h"
#include "oncall/render/table.h"

#include <fmt/format.h>

namespace oncall::views {

std::string history_text(const config::Service& service,
                         const std::vector<kube::Revision>& revisions, const TextOptions& options) {
    if (revisions.empty()) {
        return fmt::format("{}: no revisions (the deployment controls no ReplicaSets yet)\n",
                           render::sanitize(service.name));
    }
    const auto& style = options.style;
    render::Table table;
    table.column("REVISION", render::Align::right)
        .column("")
        .column("DEPLOYED")
        .column("AGE")
        .column("CHANGE-CAUSE", render::Align::left, true);
    for (const auto& r : revisions) {
        table.row({std::to_string(r.number), r.current ? "current" : "",
                   r.deployed_at ? format_local(*r.deployed_at) : "-",
                   r.deployed_at ? format_age(*r.deployed_at, options.now) : "-",
                   r.change_cause.empty() ? "<none>" : render::sanitize(r.change_cause)});
    }
    // The table has exactly one line per row after its header.
    const auto lines = table.render_lines(style.width);
    const std::size_t first_row = table.has_header() ? 1 : 0;
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i < first_row || i - first_row >= revisions.size()) {
            out += lines[i] + "\n";
            continue;
        }
        const auto& r = revisions[i - first_row];
        out += (r.current ? render::paint(lines[i], render::Color::green, style) : lines[i]) + "\n";
        for (const auto& a : r.artifacts) {
            out += "          " + render::sanitize(a) + "\n";
        }
    }
    return out;
}

nlohmann::json history_json(const config::Service& service,
                            const std::vector<kube::Revision>& revisions) {
    using nlohmann::json;
    json items = json::array();
    for (const auto& r : revisions) {
        items.push_back(
            {{"revision", r.number},
             {"artifacts", r.artifacts},
             {"deployed_at", r.deployed_at ? json(format_rfc3339(*r.deployed_at)) : json(nullptr)},
             {"change_cause", r.change_cause.empty() ? json(nullptr) : json(r.change_cause)},
             {"current", r.current},
             {"replicaset", r.replicaset},
             {"replicas", r.replicas}});
    }
    return {{"service", service.name},
            {"namespace", service.namespace_name},
            {"deployment", service.deployment},
            {"revisions", items}};
}

} // namespace oncall::views
