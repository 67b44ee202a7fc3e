// oncall history SERVICE

#include "commands.h"
#include "deploy_flow.h"

#include "oncall/core/time.h"
#include "oncall/render/output.h"
#include "oncall/render/table.h"

#include <fmt/format.h>

#include <memory>

namespace oncall::app {

void register_history(CLI::App& app, AppContext& ctx) {
    auto* cmd = app.add_subcommand("history", "Revisions of a service with their artifacts (digests) and times");
    cmd->group("Looking");
    auto service_name = std::make_shared<std::string>();
    cmd->add_option("SERVICE", *service_name, "Service")->required();
    cmd->callback([&ctx, service_name] {
        const auto service = ctx.service(*service_name);
        const auto client = make_kube_client(ctx);
        const auto deployment = unwrap(client.get_deployment(service.namespace_name, service.deployment));
        const auto revisions = unwrap(client.deployment_revisions(deployment));
        if (ctx.json()) {
            nlohmann::json items = nlohmann::json::array();
            for (const auto& r : revisions) {
                items.push_back({{"revision", r.number},
                                 {"artifacts", r.artifacts},
                                 {"deployed_at", r.deployed_at ? nlohmann::json(format_rfc3339(*r.deployed_at))
                                                               : nlohmann::json(nullptr)},
                                 {"change_cause", r.change_cause.empty() ? nlohmann::json(nullptr)
                                                                         : nlohmann::json(r.change_cause)},
                                 {"current", r.current},
                                 {"replicaset", r.replicaset},
                                 {"replicas", r.replicas}});
            }
            render::print_json({{"service", service.name},
                                {"namespace", service.namespace_name},
                                {"deployment", service.deployment},
                                {"revisions", items}});
            return;
        }
        if (revisions.empty()) {
            fmt::print("{}: no revisions (the deployment controls no ReplicaSets yet)\n", service.name);
            return;
        }
        const auto& style = ctx.style();
        const auto ref = now();
        render::Table table;
        table.column("REVISION", render::Align::right)
            .column("")
            .column("DEPLOYED")
            .column("AGE")
            .column("CHANGE-CAUSE", render::Align::left, true);
        for (const auto& r : revisions) {
            table.row({std::to_string(r.number), r.current ? "current" : "",
                       r.deployed_at ? format_local(*r.deployed_at) : "-",
                       r.deployed_at ? format_age(*r.deployed_at, ref) : "-",
                       r.change_cause.empty() ? "<none>" : r.change_cause});
        }
        // Each revision's row, then its artifacts in full on their own lines (digests are never cut).
        const std::string rendered = table.render(style.width);
        std::size_t start = 0;
        std::size_t index = 0;
        while (start < rendered.size()) {
            const auto end = rendered.find('\n', start);
            std::string line = rendered.substr(start, end == std::string::npos ? std::string::npos : end - start);
            start = end == std::string::npos ? rendered.size() : end + 1;
            if (index == 0) {
                fmt::print("{}\n", line);
            } else {
                const auto& r = revisions[index - 1];
                fmt::print("{}\n", r.current ? render::paint(line, render::Color::green, style) : line);
                for (const auto& a : r.artifacts) {
                    fmt::print("          {}\n", a);
                }
            }
            ++index;
        }
    });
}

} // namespace oncall::app
