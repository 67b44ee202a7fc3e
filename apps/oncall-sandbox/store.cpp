#include "store.h"

#include "objects.h"

namespace sandbox {

using nlohmann::json;

namespace {
constexpr std::size_t k_history_limit = 20000;
}

std::uint64_t Store::oldest_watchable() const {
    return m_history_floor;
}

std::optional<json> Store::get(const std::string& resource, const std::string& namespace_name,
                               const std::string& name) const {
    auto r = m_objects.find(resource);
    if (r == m_objects.end())
        return std::nullopt;
    auto it = r->second.find({namespace_name, name});
    if (it == r->second.end())
        return std::nullopt;
    return it->second;
}

const json* Store::find(const std::string& resource, const std::string& namespace_name,
                        const std::string& name) const {
    auto r = m_objects.find(resource);
    if (r == m_objects.end())
        return nullptr;
    auto it = r->second.find({namespace_name, name});
    return it == r->second.end() ? nullptr : &it->second;
}

bool Store::contains(const std::string& resource, const std::string& namespace_name,
                     const std::string& name) const {
    auto r = m_objects.find(resource);
    return r != m_objects.end() && r->second.count({namespace_name, name}) > 0;
}

std::vector<const json*> Store::view(const std::string& resource,
                                     const std::string& namespace_name) const {
    std::vector<const json*> out;
    auto r = m_objects.find(resource);
    if (r == m_objects.end())
        return out;
    for (const auto& [key, object] : r->second) {
        if (namespace_name.empty() || key.first == namespace_name)
            out.push_back(&object);
    }
    return out;
}

std::vector<json> Store::list(const std::string& resource,
                              const std::string& namespace_name) const {
    std::vector<json> out;
    auto r = m_objects.find(resource);
    if (r == m_objects.end())
        return out;
    for (const auto& [key, object] : r->second) {
        if (namespace_name.empty() || key.first == namespace_name) {
            out.push_back(object);
        }
    }
    return out;
}

json Store::create(const std::string& resource, json object, const std::string& now) {
    auto& md = object["metadata"];
    if (!md.contains("uid"))
        md["uid"] = new_uid();
    if (!md.contains("creationTimestamp") || md["creationTimestamp"].is_null())
        md["creationTimestamp"] = now;
    md["resourceVersion"] = std::to_string(++m_rv);
    const Key key{md.value("namespace", ""), md.value("name", "")};
    m_objects[resource][key] = object;
    record("ADDED", resource, object);
    return object;
}

json Store::update(const std::string& resource, json object) {
    auto& md = object["metadata"];
    md["resourceVersion"] = std::to_string(++m_rv);
    const Key key{md.value("namespace", ""), md.value("name", "")};
    m_objects[resource][key] = object;
    record("MODIFIED", resource, object);
    return object;
}

std::optional<json> Store::remove(const std::string& resource, const std::string& namespace_name,
                                  const std::string& name) {
    auto r = m_objects.find(resource);
    if (r == m_objects.end())
        return std::nullopt;
    auto it = r->second.find({namespace_name, name});
    if (it == r->second.end())
        return std::nullopt;
    json object = std::move(it->second);
    r->second.erase(it);
    object["metadata"]["resourceVersion"] = std::to_string(++m_rv);
    record("DELETED", resource, object);
    return object;
}

void Store::record(const std::string& type, const std::string& resource, const json& object) {
    m_history.push_back(WatchEvent{m_rv, type, resource, object});
    while (m_history.size() > k_history_limit) {
        m_history_floor = m_history.front().resource_version;
        m_history.pop_front();
    }
    m_changed.notify_all();
}

std::vector<WatchEvent> Store::events_after(std::uint64_t resource_version,
                                            const std::string& resource) const {
    std::vector<WatchEvent> out;
    // History is ordered by resourceVersion: find the first newer event by binary search.
    auto it = std::upper_bound(
        m_history.begin(), m_history.end(), resource_version,
        [](std::uint64_t rv, const WatchEvent& e) { return rv < e.resource_version; });
    for (; it != m_history.end(); ++it) {
        if (it->resource == resource)
            out.push_back(*it);
    }
    return out;
}

} // namespace sandbox
