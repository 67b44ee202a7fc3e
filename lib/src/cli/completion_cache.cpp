#include "oncall/cli/completion_cache.h"

#include "oncall/core/files.h"
#include "oncall/core/local_file.h"

#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace oncall::cli {
namespace {

using Json = nlohmann::json;

std::int64_t to_ms(CompletionCache::Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Json read_entries(const std::string& path) {
    // A planted FIFO, device or huge file reads as an empty cache, at once.
    auto file = read_local_file(path, "completion cache", k_max_kubeconfig_bytes, true);
    if (!file) {
        return Json::object();
    }
    auto doc = Json::parse(file->text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("entries") ||
        !doc["entries"].is_object()) {
        return Json::object();
    }
    return doc["entries"];
}

bool is_fresh(const Json& entry, std::int64_t now_ms, std::chrono::seconds ttl,
              std::chrono::seconds failure_ttl) {
    if (!entry.is_object() || !entry.contains("at") || !entry["at"].is_number_integer()) {
        return false;
    }
    const bool ok = entry.value("ok", false);
    const auto life =
        std::chrono::duration_cast<std::chrono::milliseconds>(ok ? ttl : failure_ttl).count();
    const auto at = entry["at"].get<std::int64_t>();
    return at <= now_ms && now_ms - at < life;
}

} // namespace

CompletionCache::CompletionCache(std::string path, std::chrono::seconds ttl,
                                 std::chrono::seconds failure_ttl)
    : m_path(std::move(path)), m_ttl(ttl), m_failure_ttl(failure_ttl) {}

std::optional<CacheEntry> CompletionCache::get(const std::string& key,
                                               Clock::time_point now) const {
    const auto entries = read_entries(m_path);
    const auto it = entries.find(key);
    if (it == entries.end() || !is_fresh(*it, to_ms(now), m_ttl, m_failure_ttl)) {
        return std::nullopt;
    }
    CacheEntry out;
    out.ok = it->value("ok", false);
    if (it->contains("candidates") && (*it)["candidates"].is_array()) {
        for (const auto& c : (*it)["candidates"]) {
            if (c.is_array() && c.size() == 2 && c[0].is_string() && c[1].is_string()) {
                out.candidates.push_back({c[0].get<std::string>(), c[1].get<std::string>()});
            }
        }
    }
    return out;
}

void CompletionCache::put(const std::string& key, const CacheEntry& entry,
                          Clock::time_point now) const {
    namespace fs = std::filesystem;
    const auto now_ms = to_ms(now);
    Json kept = Json::object();
    const Json entries = read_entries(m_path);
    for (const auto& [k, v] : entries.items()) {
        if (k != key && is_fresh(v, now_ms, m_ttl, m_failure_ttl)) {
            kept[k] = v;
        }
    }
    Json candidates = Json::array();
    for (const auto& c : entry.candidates) {
        candidates.push_back({c.value, c.description});
    }
    kept[key] = {{"at", now_ms}, {"ok", entry.ok}, {"candidates", candidates}};

    std::error_code ec;
    const fs::path target(m_path);
    if (target.has_parent_path() && !fs::exists(target.parent_path(), ec)) {
        // A new state directory is private, like the grants kept beside the cache.
        if (!make_private_dirs(target.parent_path().string())) {
            return;
        }
    }
    // A cache: a failed write only costs the next TAB a query.
    (void)write_file_atomic(m_path, Json{{"entries", kept}}.dump() + "\n", 0600);
}

} // namespace oncall::cli
