// oncall version: version, commit and libcurl version.

#include "oncall/core/version.h"

#include "commands.h"
#include "oncall/http/client.h"
#include "oncall/render/output.h"
#include "oncall/views/config.h"

#include <fmt/format.h>

namespace oncall::app {

void register_version(CLI::App& app, AppContext& ctx) {
    auto* cmd = app.add_subcommand("version", "Print the version, commit and libcurl version");
    cmd->callback([&ctx] {
        const std::string curl = http::curl_library_version();
        if (ctx.json()) {
            render::print_json(views::version_json(version(), git_commit(), curl));
        } else {
            fmt::print("{}", views::version_text(version(), git_commit(), curl));
        }
    });
}

} // namespace oncall::app
