#pragma once
// Where dynamic completion candidates come from: the configuration (contexts, roles, configured
// services) and the cluster of the selected context (Deployments of its namespace, revisions of a
// service), the latter cached for a short time. Every failure means "fewer candidates", never an
// error: completion must answer something, at once.

#include "oncall/cli/complete.h"
#include "oncall/cli/completion_cache.h"
#include "oncall/config/config.h"
#include "oncall/core/result.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace oncall::ops {

/// What the completion look-ups use and how long a cluster request may take.
struct CompletionSources {
    std::optional<std::string> config_path; // --config typed on the line (else the usual search)
    std::optional<std::string> context; // --context typed on the line (else env, current-context)
    std::chrono::milliseconds deadline{900};        // the longest a TAB waits for the cluster
    std::chrono::milliseconds request_timeout{700}; // each request's own timeout (under deadline)
    std::string cache_path;                         // default: <state_dir>/completion-cache.json
    std::chrono::seconds cache_ttl{30};
    std::chrono::seconds failure_ttl{5}; // an unreachable cluster is not asked again for this long
};

/// The sources for a completion request: --config and --context as typed on the line
/// (a leading "~/" expanded); the deadline from $ONCALL_COMPLETION_TIMEOUT (a duration such as
/// 2s, for a slow link) when set and valid, else 900ms; everything else default.
CompletionSources sources_from_line(const cli::CompletionContext& ctx);

/// Candidate look-ups for one completion request; loads the configuration once.
class CompletionLookup {
public:
    explicit CompletionLookup(CompletionSources sources);

    /// Candidates known without the network: contexts, roles of the selected context, configured
    /// services. Empty when the configuration cannot be read.
    std::vector<cli::Candidate> local(cli::ValueKind kind, const cli::CompletionContext& ctx) const;

    /// Cache key of the cluster look-up for this request, if the kind needs the cluster
    /// (services: Deployments of the namespace; revisions: of the service on the line).
    std::optional<std::string> cluster_key(cli::ValueKind kind,
                                           const cli::CompletionContext& ctx) const;

    /// The cached answer for `key`, if fresh.
    std::optional<cli::CacheEntry> cached(const std::string& key) const;

    /// Asks the cluster (blocks up to about request_timeout per request and retry); not cached.
    Result<std::vector<cli::Candidate>> fetch(cli::ValueKind kind,
                                              const cli::CompletionContext& ctx) const;

    /// Stores an answer (or a failure, with candidates empty) under `key`.
    void remember(const std::string& key, const cli::CacheEntry& entry) const;

    const CompletionSources& sources() const { return m_sources; }

    /// The configuration, when it could be read.
    const std::optional<config::Config>& configuration() const { return m_config; }

private:
    Result<std::vector<cli::Candidate>> fetch_alertmanager(cli::ValueKind kind,
                                                           const cli::CompletionContext& ctx) const;

    CompletionSources m_sources;
    std::optional<config::Config> m_config;
    std::optional<config::Context> m_context;
    cli::CompletionCache m_cache;
};

} // namespace oncall::ops
