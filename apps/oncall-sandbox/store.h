#pragma once
// The sandbox's object store: objects by resource, namespace and name, with one cluster-wide
// resourceVersion counter (as etcd's revision), uids, creation timestamps and a bounded history of
// change events that watches replay from a resourceVersion. Not internally locked: every caller
// holds mutex() (the API server's handlers and the controller share it); changed() is notified
// on every change so watches wake up.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sandbox {

/// One change, as a watch sends it.
struct WatchEvent {
    std::uint64_t resource_version = 0;
    std::string type; // ADDED, MODIFIED, DELETED
    std::string resource;
    nlohmann::json object;
};

class Store {
public:
    /// Lock this around every call.
    std::mutex& mutex() { return m_mutex; }
    /// Notified (all) after every change.
    std::condition_variable& changed() { return m_changed; }

    /// The current resourceVersion (of the newest change).
    std::uint64_t resource_version() const { return m_rv; }
    /// The oldest resourceVersion a watch can still start from.
    std::uint64_t oldest_watchable() const;

    /// A copy of one object, or nullopt.
    std::optional<nlohmann::json> get(const std::string& resource,
                                      const std::string& namespace_name,
                                      const std::string& name) const;
    /// The stored object itself (valid until the next change), or nullptr.
    const nlohmann::json* find(const std::string& resource, const std::string& namespace_name,
                               const std::string& name) const;
    /// Whether an object exists.
    bool contains(const std::string& resource, const std::string& namespace_name,
                  const std::string& name) const;
    /// Every object of a resource in one namespace ("" for all), ordered by namespace then name.
    std::vector<nlohmann::json> list(const std::string& resource,
                                     const std::string& namespace_name) const;

    /// The stored objects themselves (valid until the next change), ordered as list().
    std::vector<const nlohmann::json*> view(const std::string& resource,
                                            const std::string& namespace_name) const;

    /// Stores a new object: sets metadata.uid (if absent), resourceVersion and creationTimestamp
    /// (if absent, to `now`). Returns the stored object. The caller checks for existence first.
    nlohmann::json create(const std::string& resource, nlohmann::json object,
                          const std::string& now);
    /// Replaces an existing object with a new resourceVersion. Returns the stored object.
    nlohmann::json update(const std::string& resource, nlohmann::json object);
    /// Removes an object; returns it (with a new resourceVersion), or nullopt when absent.
    std::optional<nlohmann::json>
    remove(const std::string& resource, const std::string& namespace_name, const std::string& name);

    /// The change events of `resource` after `resource_version`, oldest first.
    std::vector<WatchEvent> events_after(std::uint64_t resource_version,
                                         const std::string& resource) const;

    /// Wakes every watch (used at shutdown).
    void notify_all() { m_changed.notify_all(); }

private:
    using Key = std::pair<std::string, std::string>; // namespace, name
    void record(const std::string& type, const std::string& resource, const nlohmann::json& object);

    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::uint64_t m_rv = 100;
    std::map<std::string, std::map<Key, nlohmann::json>> m_objects;
    std::deque<WatchEvent> m_history;
    std::uint64_t m_history_floor = 100;
};

} // namespace sandbox
