#pragma once
// What the alert and the silence decoders of Alertmanager's API v2 share: their error for an answer
// that is not what the API returns, optional string fields, and merging an HA set's answers.

#include "oncall/core/result.h"
#include "oncall/core/time.h"

#include <cstddef>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace oncall::alertmanager::detail {

inline Error garbage(std::string_view url, std::string_view what) {
    return make_error(Errc::bad_response,
                      fmt::format("alertmanager at {} answered garbage: {}", url, what));
}

/// An optional string field: missing or null leaves `out` alone, anything but a string is false.
inline bool optional_string(const nlohmann::json& obj, const char* key, std::string& out) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        return true;
    }
    if (!it->is_string()) {
        return false;
    }
    out = it->get<std::string>();
    return true;
}

/// What the peers of an HA set answered, merged: one item per `key(item)` (peers gossip, so each
/// holds a copy), the copy with the latest `updated_at` winning. Failed peers go to `errors`;
/// returns how many peers answered, or one error joining them all when none did.
template <class Item, class Key>
Result<int> merge_newest(const std::vector<Result<std::vector<Item>>>& peers, Key key,
                         std::vector<Item>& items, std::vector<Error>& errors) {
    std::unordered_map<std::string, std::size_t> index;
    int answered = 0;
    for (const auto& peer : peers) {
        if (!peer) {
            errors.push_back(peer.error());
            continue;
        }
        ++answered;
        for (const auto& item : *peer) {
            const auto [it, fresh] = index.emplace(key(item), items.size());
            if (fresh) {
                items.push_back(item);
            } else if (const std::optional<TimePoint>& held = items[it->second].updated_at;
                       item.updated_at && (!held || *item.updated_at > *held)) {
                items[it->second] = item;
            }
        }
    }
    if (answered == 0 && !errors.empty()) {
        Error e = errors.front();
        for (std::size_t i = 1; i < errors.size(); ++i) {
            e.message += "; " + errors[i].message;
        }
        return e;
    }
    return answered;
}

} // namespace oncall::alertmanager::detail
