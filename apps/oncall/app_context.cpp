#include "app_context.h"

#include "oncall/backends/kubernetes.h"
#include "oncall/core/duration.h"
#include "oncall/render/sanitize.h"

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

namespace oncall::app {

void fail(Error error) {
    throw CommandError{std::move(error)};
}

render::Format AppContext::format() const {
    render::Format f = render::Format::text;
    render::parse_format(options.output, f);
    return f;
}

const render::Style& AppContext::style() {
    if (!m_style) {
        m_style = render::detect_style(options.no_color);
    }
    return *m_style;
}

const config::Config& AppContext::config() {
    if (!m_config) {
        std::optional<std::string> flag;
        if (!options.config_path.empty()) {
            flag = options.config_path;
        }
        const std::string path = config::resolve_config_path(flag);
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
            if (flag || !config::env_or_empty("ONCALL_CONFIG").empty()) {
                fail(make_error(
                    Errc::config,
                    fmt::format(
                        "no configuration at {}; create it (see examples/config.yaml), "
                        "or leave out --config and $ONCALL_CONFIG to use the kubeconfig alone",
                        path)));
            }
            // No file at all: one implicit context made from the kubeconfig, as kubectl works.
            std::optional<std::string> context_flag;
            if (!options.context.empty()) {
                context_flag = options.context;
            }
            m_config = unwrap(config::implicit_config(context_flag));
            return *m_config;
        }
        m_config = unwrap(config::load_config(path));
        for (const auto& w : m_config->warnings) {
            warn(fmt::format("warning: {}", w));
        }
    }
    return *m_config;
}

const config::Context& AppContext::context() {
    if (!m_context) {
        std::optional<std::string> flag;
        if (!options.context.empty()) {
            flag = options.context;
        }
        m_context = unwrap(config::select_context(config(), flag));
        kube::complete_context(*m_context);
    }
    return *m_context;
}

config::Service AppContext::service(const std::string& name) {
    return unwrap(config::service_for(config(), context(), name));
}

std::chrono::milliseconds parse_flag_duration(std::string_view flag, const std::string& text) {
    auto d = parse_duration(text);
    if (!d) {
        auto e = std::move(d).error();
        e.code = Errc::usage;
        e.message = fmt::format("{}: {}", flag, e.message);
        fail(std::move(e));
    }
    return *d;
}

void AppContext::debug(std::string_view line) const {
    if (options.verbose > 0) {
        fmt::print(stderr, "oncall: {}\n", render::sanitize(line));
    }
}

void AppContext::warn(std::string_view line) const {
    if (!options.quiet) {
        fmt::print(stderr, "oncall: {}\n", render::sanitize(line));
    }
}

std::function<void(std::string_view)> AppContext::logger() const {
    if (options.verbose == 0) {
        return {};
    }
    return
        [](std::string_view line) { fmt::print(stderr, "oncall: {}\n", render::sanitize(line)); };
}

} // namespace oncall::app
