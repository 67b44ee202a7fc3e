#include "patch.h"

#include <fmt/format.h>
#include <map>
#include <optional>
#include <vector>

namespace sandbox {

using nlohmann::json;
using oncall::Errc;
using oncall::make_error;

namespace {

oncall::Error malformed(const std::string& message) {
    return make_error(Errc::invalid, message, 400);
}

oncall::Error does_not_apply(const std::string& message) {
    return make_error(Errc::invalid, message, 422);
}

std::string json_type_name(const json& v) {
    if (v.is_object())
        return "object";
    if (v.is_array())
        return "array";
    if (v.is_string())
        return "string";
    if (v.is_boolean())
        return "bool";
    if (v.is_number())
        return "number";
    return "null";
}

// Parses a body as JSON, failing with a Go-like decoder message.
oncall::Result<json> parse_body(const std::string& body) {
    auto parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded()) {
        return malformed("invalid JSON in patch body: the body could not be decoded as JSON");
    }
    return parsed;
}

// Splits an RFC 6901 pointer into unescaped reference tokens.
std::optional<std::vector<std::string>> split_pointer(const std::string& pointer) {
    std::vector<std::string> tokens;
    if (pointer.empty())
        return tokens;
    if (pointer[0] != '/')
        return std::nullopt;
    std::size_t pos = 1;
    while (true) {
        const std::size_t slash = pointer.find('/', pos);
        std::string raw =
            pointer.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
        std::string token;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] == '~' && i + 1 < raw.size() && raw[i + 1] == '0') {
                token += '~';
                ++i;
            } else if (raw[i] == '~' && i + 1 < raw.size() && raw[i + 1] == '1') {
                token += '/';
                ++i;
            } else {
                token += raw[i];
            }
        }
        tokens.push_back(std::move(token));
        if (slash == std::string::npos)
            break;
        pos = slash + 1;
    }
    return tokens;
}

std::optional<std::size_t> array_index(const std::string& token, std::size_t limit) {
    if (token.empty() || token.size() > 9)
        return std::nullopt;
    if (token.size() > 1 && token[0] == '0')
        return std::nullopt;
    std::size_t v = 0;
    for (char c : token) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + static_cast<std::size_t>(c - '0');
    }
    if (v > limit)
        return std::nullopt;
    return v;
}

// The container a pointer's last token lives in, or nullptr when a parent is missing.
json* resolve_parent(json& doc, const std::vector<std::string>& tokens) {
    json* cur = &doc;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        const auto& t = tokens[i];
        if (cur->is_object()) {
            auto it = cur->find(t);
            if (it == cur->end())
                return nullptr;
            cur = &*it;
        } else if (cur->is_array()) {
            auto idx = array_index(t, cur->size() - (cur->empty() ? 0 : 1));
            if (!idx || cur->empty())
                return nullptr;
            cur = &(*cur)[*idx];
        } else {
            return nullptr;
        }
    }
    return cur;
}

json* resolve(json& doc, const std::vector<std::string>& tokens) {
    if (tokens.empty())
        return &doc;
    json* parent = resolve_parent(doc, tokens);
    if (parent == nullptr)
        return nullptr;
    const auto& last = tokens.back();
    if (parent->is_object()) {
        auto it = parent->find(last);
        return it == parent->end() ? nullptr : &*it;
    }
    if (parent->is_array()) {
        if (parent->empty())
            return nullptr;
        auto idx = array_index(last, parent->size() - 1);
        return idx ? &(*parent)[*idx] : nullptr;
    }
    return nullptr;
}

oncall::Result<void> op_add(json& doc, const std::vector<std::string>& tokens,
                            const std::string& path, json value) {
    if (tokens.empty()) {
        doc = std::move(value);
        return {};
    }
    json* parent = resolve_parent(doc, tokens);
    if (parent == nullptr) {
        return does_not_apply(fmt::format(
            "add operation does not apply: doc is missing path: \"{}\": missing value", path));
    }
    const auto& last = tokens.back();
    if (parent->is_object()) {
        (*parent)[last] = std::move(value);
        return {};
    }
    if (parent->is_array()) {
        if (last == "-") {
            parent->push_back(std::move(value));
            return {};
        }
        auto idx = array_index(last, parent->size());
        if (!idx) {
            return does_not_apply(fmt::format("add operation does not apply: unable to access "
                                              "invalid index: {}: invalid index referenced",
                                              last));
        }
        parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(*idx), std::move(value));
        return {};
    }
    return does_not_apply(fmt::format(
        "add operation does not apply: doc is missing path: \"{}\": missing value", path));
}

oncall::Result<json> op_remove(json& doc, const std::vector<std::string>& tokens,
                               const std::string& path, const char* op_name) {
    if (tokens.empty()) {
        return does_not_apply(
            fmt::format("{} operation does not apply: doc is missing path: \"{}\": missing value",
                        op_name, path));
    }
    json* parent = resolve_parent(doc, tokens);
    const auto& last = tokens.back();
    if (parent != nullptr && parent->is_object()) {
        auto it = parent->find(last);
        if (it != parent->end()) {
            json removed = std::move(*it);
            parent->erase(it);
            return removed;
        }
    } else if (parent != nullptr && parent->is_array() && !parent->empty()) {
        auto idx = array_index(last, parent->size() - 1);
        if (idx) {
            json removed = std::move((*parent)[*idx]);
            parent->erase(*idx);
            return removed;
        }
    }
    return does_not_apply(fmt::format(
        "{} operation does not apply: doc is missing path: \"{}\": missing value", op_name, path));
}

} // namespace

oncall::Result<json> apply_json_patch(const json& document, const std::string& patch_body) {
    auto parsed = parse_body(patch_body);
    if (!parsed)
        return parsed.error();
    const json& patch = parsed.value();
    if (!patch.is_array()) {
        return malformed(
            fmt::format("json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                        json_type_name(patch)));
    }
    for (const auto& op : patch) {
        if (!op.is_object()) {
            return malformed(
                fmt::format("json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
                            json_type_name(op)));
        }
    }
    json doc = document;
    for (const auto& op : patch) {
        const std::string kind =
            op.contains("op") && op["op"].is_string() ? op["op"].get<std::string>() : "";
        if (!op.contains("path") || !op["path"].is_string()) {
            return does_not_apply(
                fmt::format("{} operation does not apply: doc is missing path: \"\": missing value",
                            kind.empty() ? "unknown" : kind));
        }
        const std::string path = op["path"].get<std::string>();
        const auto tokens = split_pointer(path);
        if (!tokens) {
            return does_not_apply(fmt::format(
                "{} operation does not apply: doc is missing path: \"{}\": missing value", kind,
                path));
        }
        const bool needs_value = kind == "add" || kind == "replace" || kind == "test";
        if (needs_value && !op.contains("value")) {
            return does_not_apply(fmt::format("{} operation, missing value", kind));
        }
        if (kind == "add") {
            auto r = op_add(doc, *tokens, path, op["value"]);
            if (!r)
                return r.error();
        } else if (kind == "remove") {
            auto r = op_remove(doc, *tokens, path, "remove");
            if (!r)
                return r.error();
        } else if (kind == "replace") {
            json* target = resolve(doc, *tokens);
            if (target == nullptr) {
                return does_not_apply(fmt::format(
                    "replace operation does not apply: doc is missing key: {}: missing value",
                    path));
            }
            *target = op["value"];
        } else if (kind == "test") {
            json* target = resolve(doc, *tokens);
            const json& expected = op["value"];
            const bool equal = target == nullptr ? expected.is_null() : *target == expected;
            if (!equal) {
                return does_not_apply(fmt::format("testing value {} failed: test failed", path));
            }
        } else if (kind == "move" || kind == "copy") {
            if (!op.contains("from") || !op["from"].is_string()) {
                return does_not_apply(fmt::format(
                    "{} operation does not apply: doc is missing from path: \"\": missing value",
                    kind));
            }
            const std::string from = op["from"].get<std::string>();
            const auto from_tokens = split_pointer(from);
            json* source = from_tokens ? resolve(doc, *from_tokens) : nullptr;
            if (source == nullptr) {
                return does_not_apply(fmt::format(
                    "{} operation does not apply: doc is missing from path: \"{}\": missing value",
                    kind, from));
            }
            json value = *source;
            if (kind == "move") {
                auto removed = op_remove(doc, *from_tokens, from, "move");
                if (!removed)
                    return removed.error();
            }
            auto r = op_add(doc, *tokens, path, std::move(value));
            if (!r)
                return r.error();
        } else {
            return does_not_apply(fmt::format("Unexpected kind: {}", kind));
        }
    }
    return doc;
}

oncall::Result<json> apply_merge_patch(const json& document, const std::string& patch_body) {
    auto parsed = parse_body(patch_body);
    if (!parsed)
        return parsed.error();
    if (!parsed->is_object()) {
        return malformed(
            fmt::format("json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        json_type_name(parsed.value())));
    }
    json doc = document;
    doc.merge_patch(parsed.value());
    return doc;
}

namespace {

// patchMergeKey of the list fields kubectl and oncall touch (from the Kubernetes API types).
const std::map<std::string, std::string>& merge_keys() {
    static const std::map<std::string, std::string> keys = {
        {"containers", "name"},
        {"initContainers", "name"},
        {"ephemeralContainers", "name"},
        {"volumes", "name"},
        {"env", "name"},
        {"imagePullSecrets", "name"},
        {"ports", "containerPort"},
        {"volumeMounts", "mountPath"},
        {"volumeDevices", "devicePath"},
        {"conditions", "type"},
        {"ownerReferences", "uid"},
        {"hostAliases", "ip"},
        {"topologySpreadConstraints", "topologyKey"},
        {"resourceClaims", "name"},
    };
    return keys;
}

bool is_directive_key(const std::string& key) {
    return key.rfind("$setElementOrder/", 0) == 0 || key == "$retainKeys" ||
           key.rfind("$deleteFromPrimitiveList/", 0) == 0 || key == "$patch";
}

std::optional<json> strategic_merge(const json& original, const json& patch);

oncall::Result<json> merge_list(const json& original, const json& patch, const std::string& key) {
    json result = original.is_array() ? original : json::array();
    for (const auto& item : patch) {
        if (!item.is_object()) {
            return json(patch); // a list of primitives under a keyed name: replace
        }
        if (item.contains("$patch") && item["$patch"] == "replace") {
            json copy = patch;
            for (auto& c : copy) {
                if (c.is_object())
                    c.erase("$patch");
            }
            return copy;
        }
        if (!item.contains(key)) {
            return malformed(
                fmt::format("map: {} does not contain declared merge key: {}", item.dump(), key));
        }
        const json& key_value = item[key];
        auto it = std::find_if(result.begin(), result.end(), [&](const json& o) {
            return o.is_object() && o.contains(key) && o[key] == key_value;
        });
        const bool deleting = item.contains("$patch") && item["$patch"] == "delete";
        if (deleting) {
            if (it != result.end())
                result.erase(it);
            continue;
        }
        if (it != result.end()) {
            auto merged = strategic_merge(*it, item);
            if (merged)
                *it = *merged;
        } else {
            auto merged = strategic_merge(json::object(), item);
            if (merged)
                result.push_back(*merged);
        }
    }
    return result;
}

// The merged value, or nullopt when the patch deletes it.
std::optional<json> strategic_merge(const json& original, const json& patch) {
    if (!patch.is_object())
        return patch;
    if (patch.contains("$patch")) {
        if (patch["$patch"] == "delete")
            return std::nullopt;
        if (patch["$patch"] == "replace") {
            json copy = patch;
            copy.erase("$patch");
            return copy;
        }
    }
    json result = original.is_object() ? original : json::object();
    for (const auto& [k, v] : patch.items()) {
        if (is_directive_key(k))
            continue;
        if (v.is_null()) {
            result.erase(k);
        } else if (v.is_object()) {
            auto merged = strategic_merge(result.contains(k) ? result[k] : json::object(), v);
            if (merged) {
                result[k] = *merged;
            } else {
                result.erase(k);
            }
        } else if (v.is_array() && merge_keys().count(k) > 0) {
            auto merged =
                merge_list(result.contains(k) ? result[k] : json::array(), v, merge_keys().at(k));
            result[k] = merged ? merged.value() : v;
        } else {
            result[k] = v;
        }
    }
    return result;
}

// Checks merge keys up front so a malformed list item is a 400, as in kube.
oncall::Result<void> check_merge_keys(const json& patch) {
    if (patch.is_object()) {
        for (const auto& [k, v] : patch.items()) {
            if (v.is_array() && merge_keys().count(k) > 0) {
                for (const auto& item : v) {
                    if (item.is_object() && !item.contains(merge_keys().at(k)) &&
                        !item.contains("$patch")) {
                        return malformed(
                            fmt::format("map: {} does not contain declared merge key: {}",
                                        item.dump(), merge_keys().at(k)));
                    }
                    auto r = check_merge_keys(item);
                    if (!r)
                        return r;
                }
            } else {
                auto r = check_merge_keys(v);
                if (!r)
                    return r;
            }
        }
    }
    return {};
}

} // namespace

oncall::Result<json> apply_strategic_merge_patch(const json& document,
                                                 const std::string& patch_body) {
    auto parsed = parse_body(patch_body);
    if (!parsed)
        return parsed.error();
    if (!parsed->is_object()) {
        return malformed(
            fmt::format("json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        json_type_name(parsed.value())));
    }
    auto keys_ok = check_merge_keys(parsed.value());
    if (!keys_ok)
        return keys_ok.error();
    auto merged = strategic_merge(document, parsed.value());
    return merged ? *merged : json::object();
}

} // namespace sandbox
