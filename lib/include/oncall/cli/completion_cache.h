#pragma once
// A small file cache for completion look-ups, so that pressing TAB repeatedly asks the cluster at
// most once per TTL, and a cluster that just failed is not asked again for a few seconds.

#include "oncall/cli/complete.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace oncall::cli {

/// One cached answer: the candidates, or the fact that the look-up failed.
struct CacheEntry {
    bool ok = true;
    std::vector<Candidate> candidates;
};

/// A JSON file of entries keyed by strings (context server, namespace, what was asked).
/// Unreadable or corrupt files count as empty; writes replace the file atomically.
class CompletionCache {
public:
    using Clock = std::chrono::system_clock;

    /// Entries live `ttl` after a successful look-up and `failure_ttl` after a failed one.
    explicit CompletionCache(std::string path, std::chrono::seconds ttl = std::chrono::seconds(30),
                             std::chrono::seconds failure_ttl = std::chrono::seconds(5));

    /// The entry stored under `key`, if it has not expired at `now`.
    std::optional<CacheEntry> get(const std::string& key,
                                  Clock::time_point now = Clock::now()) const;

    /// Stores `entry` under `key` at `now`, dropping expired entries. Errors are ignored: a cache
    /// that cannot be written only makes the next TAB slower.
    void put(const std::string& key, const CacheEntry& entry,
             Clock::time_point now = Clock::now()) const;

    const std::string& path() const { return m_path; }

private:
    std::string m_path;
    std::chrono::seconds m_ttl;
    std::chrono::seconds m_failure_ttl;
};

} // namespace oncall::cli
