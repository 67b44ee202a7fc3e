#include "oncall/ops/completion.h"

#include "oncall/backends/alertmanager.h"
#include "oncall/backends/endpoint.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/core/duration.h"
#include "oncall/core/files.h"
#include "oncall/core/time.h"
#include "oncall/ops/silences.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <set>

namespace oncall::ops {
namespace {

// "registry.example/shop/checkout@sha256:0123456789abcdef..." -> "...checkout@sha256:0123456789ab".
std::string short_artifact(const std::string& image) {
    const auto at = image.find("@sha256:");
    if (at == std::string::npos || image.size() <= at + 8 + 12) {
        return image;
    }
    return image.substr(0, at + 8 + 12);
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& i : items) {
        out += out.empty() ? i : std::string(sep) + i;
    }
    return out;
}

std::string revision_description(const kube::Revision& r) {
    std::vector<std::string> artifacts;
    for (const auto& a : r.artifacts) {
        artifacts.push_back(short_artifact(a));
    }
    std::string text = r.current ? "current: " : "";
    text += join(artifacts, ", ");
    if (r.deployed_at) {
        text += ", deployed " + format_age(*r.deployed_at, now());
    }
    return text;
}

} // namespace

CompletionSources sources_from_line(const cli::CompletionContext& ctx) {
    CompletionSources s;
    if (auto c = ctx.option_value("--config"); c && !c->empty()) {
        s.config_path = expand_home(*c);
    }
    if (auto c = ctx.option_value("--context"); c && !c->empty()) {
        s.context = *c;
    }
    if (const char* text = std::getenv("ONCALL_COMPLETION_TIMEOUT");
        text != nullptr && *text != '\0') {
        if (auto d = parse_duration(text); d && d->count() > 0) {
            s.deadline = *d;
            s.request_timeout = std::max(std::chrono::milliseconds(50), *d * 3 / 4);
        }
    }
    return s;
}

CompletionLookup::CompletionLookup(CompletionSources sources)
    : m_sources(std::move(sources)),
      m_cache(m_sources.cache_path.empty()
                  ? (std::filesystem::path(config::state_dir()) / "completion-cache.json").string()
                  : m_sources.cache_path,
              m_sources.cache_ttl, m_sources.failure_ttl) {
    const auto path = config::resolve_config_path(m_sources.config_path);
    std::error_code ec;
    if (path.empty() || !std::filesystem::exists(path, ec)) {
        if (m_sources.config_path || !config::env_or_empty("ONCALL_CONFIG").empty()) {
            return;
        }
        auto implicit = config::implicit_config(m_sources.context); // the kubeconfig alone
        if (!implicit) {
            return;
        }
        m_config = std::move(*implicit);
    } else {
        auto loaded = config::load_config(path);
        if (!loaded) {
            return;
        }
        m_config = std::move(*loaded);
    }
    auto ctx = config::select_context(*m_config, m_sources.context);
    if (ctx) {
        m_context = std::move(*ctx);
        kube::complete_context(*m_context);
    }
}

std::vector<cli::Candidate> CompletionLookup::local(cli::ValueKind kind,
                                                    const cli::CompletionContext&) const {
    std::vector<cli::Candidate> out;
    if (!m_config) {
        return out;
    }
    switch (kind) {
    case cli::ValueKind::context:
        for (const auto& [name, c] : m_config->contexts) {
            std::string where = c.kubernetes.server;
            if (where.empty()) {
                where = c.kubernetes.kubeconfigs.empty()
                            ? std::string("kubeconfig")
                            : fmt::format("{}", fmt::join(c.kubernetes.kubeconfigs, ":"));
            }
            out.push_back({name, fmt::format("{}{}, namespace {}",
                                             name == m_config->current_context ? "current: " : "",
                                             where, c.kubernetes.namespace_name)});
        }
        break;
    case cli::ValueKind::role:
        if (m_context) {
            for (const auto& [name, role] : m_context->access.roles) {
                out.push_back({name, fmt::format("service account {}, at most {}",
                                                 role.service_account, format_duration(role.max))});
            }
        }
        break;
    case cli::ValueKind::service:
        for (const auto& [name, s] : m_config->services) {
            const std::string ns = !s.namespace_name.empty() ? s.namespace_name
                                   : m_context               ? m_context->kubernetes.namespace_name
                                                             : std::string{};
            out.push_back(
                {name, ns.empty() ? "configured service" : "configured service in " + ns});
        }
        break;
    default:
        break;
    }
    return out;
}

std::optional<std::string> CompletionLookup::cluster_key(cli::ValueKind kind,
                                                         const cli::CompletionContext& ctx) const {
    if (!m_config || !m_context) {
        return std::nullopt;
    }
    if (kind == cli::ValueKind::silence || kind == cli::ValueKind::alert) {
        if (!m_context->alertmanager.configured()) {
            return std::nullopt;
        }
        std::string urls;
        for (const auto& u : m_context->alertmanager.urls) {
            urls += (urls.empty() ? "" : ",") + u;
        }
        if (kind == cli::ValueKind::silence) {
            return fmt::format("silences {}", urls);
        }
        const auto name = ctx.service();
        if (!name || !config::is_dns1123_label(*name)) {
            return std::nullopt;
        }
        return fmt::format("alerts {} {}", urls, *name);
    }
    const auto& k = m_context->kubernetes;
    std::string where = k.server;
    if (where.empty()) {
        // The server the kubeconfig resolves to, so that another $KUBECONFIG is another cache
        // entry.
        auto c = kube::resolve_connection_settings(k);
        where = c ? c->server
                  : fmt::format("kubeconfig:{}#{}", fmt::join(k.kubeconfigs, ":"), k.kube_context);
    }
    if (kind == cli::ValueKind::service) {
        return fmt::format("deployments {} {}", where, k.namespace_name);
    }
    if (kind == cli::ValueKind::revision) {
        const auto name = ctx.service();
        if (!name) {
            return std::nullopt;
        }
        auto service = config::service_for(*m_config, *m_context, *name);
        if (!service) {
            return std::nullopt;
        }
        return fmt::format("revisions {} {} {}", where, service->namespace_name,
                           service->deployment);
    }
    return std::nullopt;
}

std::optional<cli::CacheEntry> CompletionLookup::cached(const std::string& key) const {
    return m_cache.get(key);
}

void CompletionLookup::remember(const std::string& key, const cli::CacheEntry& entry) const {
    m_cache.put(key, entry);
}

Result<std::vector<cli::Candidate>>
CompletionLookup::fetch_alertmanager(cli::ValueKind kind, const cli::CompletionContext& ctx) const {
    backends::EndpointDefaults defaults;
    defaults.timeout = m_sources.request_timeout;
    defaults.connect_timeout = m_sources.request_timeout;
    defaults.retry = http::RetryPolicy::none();
    auto endpoint =
        backends::make_endpoint_client("alertmanager", m_context->alertmanager, defaults);
    if (!endpoint) {
        return std::move(endpoint).error();
    }
    const alertmanager::Client client(std::move(endpoint->client), endpoint->urls);
    std::vector<cli::Candidate> out;
    const auto ref = now();
    if (kind == cli::ValueKind::silence) {
        auto set = client.silences();
        if (!set) {
            return std::move(set).error();
        }
        for (const auto& s : set->silences) {
            if (s.state != "active" && s.state != "pending") {
                continue;
            }
            std::string description = format_silence_matchers(s.matchers);
            const auto left = silence_time_left(s, ref);
            description = fmt::format(
                "{} left, {}", format_duration(std::chrono::milliseconds(left.count() * 1000)),
                description);
            out.push_back({s.id, description.substr(0, 120)});
        }
        return out;
    }
    const auto name = ctx.service();
    if (!name) {
        return out;
    }
    auto service = config::service_for(*m_config, *m_context, *name);
    if (!service) {
        return std::move(service).error();
    }
    alertmanager::AlertQuery q;
    q.filter = service->alerts;
    q.silenced = true;
    q.inhibited = true;
    auto set = client.alerts(q);
    if (!set) {
        return std::move(set).error();
    }
    std::set<std::string> seen;
    for (const auto& a : set->alerts) {
        if (a.name.empty() || !seen.insert(a.name).second) {
            continue;
        }
        out.push_back({a.name, fmt::format("{} {}", a.state == "active" ? "firing" : a.state,
                                           a.severity.empty() ? "" : "(" + a.severity + ")")});
    }
    return out;
}

Result<std::vector<cli::Candidate>>
CompletionLookup::fetch(cli::ValueKind kind, const cli::CompletionContext& ctx) const {
    if (!m_config || !m_context) {
        return make_error(Errc::config, "no configuration");
    }
    if (kind == cli::ValueKind::silence || kind == cli::ValueKind::alert) {
        return fetch_alertmanager(kind, ctx);
    }
    // Never a plugin that needs the terminal: a TAB must not start a login.
    auto connection = kube::resolve_connection(
        m_context->kubernetes, kube::ResolveOptions{false, {}, m_sources.request_timeout});
    if (!connection) {
        return std::move(connection).error();
    }
    const kube::KubeClient client(std::move(*connection), {}, m_sources.request_timeout);
    std::vector<cli::Candidate> out;
    if (kind == cli::ValueKind::service) {
        const auto& ns = m_context->kubernetes.namespace_name;
        auto list = client.list(
            fmt::format("/apis/apps/v1/namespaces/{}/deployments", http::url_encode(ns)));
        if (!list) {
            return std::move(list).error();
        }
        for (const auto& item : list->items) {
            auto d = kube::decode_deployment(item);
            if (!d || !config::is_dns1123_label(d->metadata.name)) {
                continue;
            }
            std::string description = "deployment in " + ns;
            if (!d->pod_template.containers.empty()) {
                description += ": " + short_artifact(d->pod_template.containers.front().image);
            }
            out.push_back({d->metadata.name, description});
        }
        return out;
    }
    if (kind == cli::ValueKind::revision) {
        const auto name = ctx.service();
        if (!name) {
            return out;
        }
        auto service = config::service_for(*m_config, *m_context, *name);
        if (!service) {
            return std::move(service).error();
        }
        auto deployment = client.get_deployment(service->namespace_name, service->deployment);
        if (!deployment) {
            return std::move(deployment).error();
        }
        auto revisions = client.deployment_revisions(*deployment);
        if (!revisions) {
            return std::move(revisions).error();
        }
        for (const auto& r : *revisions) {
            out.push_back({std::to_string(r.number), revision_description(r)});
        }
        return out;
    }
    return out;
}

} // namespace oncall::ops
