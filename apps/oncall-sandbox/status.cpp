#include "status.h"

#include <fmt/format.h>

namespace sandbox {

using nlohmann::json;

const char* const k_object_modified =
    "the object has been modified; please apply your changes to the latest version and try again";

StatusError::StatusError(json status)
    : std::runtime_error(status.value("message", std::string("error"))),
      m_status(std::move(status)) {}

std::string qualified_resource(const ResourceRef& ref) {
    return ref.group.empty() ? ref.resource : ref.resource + "." + ref.group;
}

static std::string qualified_kind(const ResourceRef& ref) {
    return ref.group.empty() ? ref.kind : ref.kind + "." + ref.group;
}

json failure_status(int code, const std::string& reason, const std::string& message, json details) {
    json s = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
              {"status", "Failure"}, {"message", message}, {"code", code}};
    if (!reason.empty()) {
        s["reason"] = reason;
    }
    if (!details.is_null()) {
        s["details"] = std::move(details);
    }
    return s;
}

static json details_for(const ResourceRef& ref, const std::string& name, const std::string& kind) {
    json d = json::object();
    if (!name.empty()) {
        d["name"] = name;
    }
    if (!ref.group.empty()) {
        d["group"] = ref.group;
    }
    if (!kind.empty()) {
        d["kind"] = kind;
    }
    return d;
}

StatusError not_found(const ResourceRef& ref, const std::string& name) {
    return StatusError(failure_status(
        404, "NotFound", fmt::format("{} \"{}\" not found", qualified_resource(ref), name),
        details_for(ref, name, ref.resource)));
}

StatusError unknown_path() {
    return StatusError(failure_status(
        404, "NotFound", "the server could not find the requested resource", json::object()));
}

StatusError already_exists(const ResourceRef& ref, const std::string& name) {
    return StatusError(
        failure_status(409, "AlreadyExists",
                       fmt::format("{} \"{}\" already exists", qualified_resource(ref), name),
                       details_for(ref, name, ref.resource)));
}

StatusError conflict(const ResourceRef& ref, const std::string& name, const std::string& why) {
    return StatusError(failure_status(409, "Conflict",
                                      fmt::format("Operation cannot be fulfilled on {} \"{}\": {}",
                                                  qualified_resource(ref), name, why),
                                      details_for(ref, name, ref.resource)));
}

std::string go_value(const json& value) {
    if (value.is_string()) {
        return json(value.get<std::string>()).dump();
    }
    if (value.is_null()) {
        return "null";
    }
    if (value.is_object()) {
        std::string out = "map[";
        bool first = true;
        for (const auto& [k, v] : value.items()) {
            out += (first ? "" : " ") + k + ":" + (v.is_string() ? v.get<std::string>() : v.dump());
            first = false;
        }
        return out + "]";
    }
    return value.dump();
}

FieldCause field_invalid(const std::string& field, const json& value, const std::string& detail) {
    return FieldCause{"FieldValueInvalid", field,
                      fmt::format("Invalid value: {}: {}", go_value(value), detail)};
}

FieldCause field_required(const std::string& field, const std::string& detail) {
    return FieldCause{"FieldValueRequired", field,
                      detail.empty() ? "Required value" : "Required value: " + detail};
}

StatusError invalid(const ResourceRef& ref, const std::string& name,
                    const std::vector<FieldCause>& causes) {
    json cause_list = json::array();
    std::vector<std::string> parts;
    for (const auto& c : causes) {
        cause_list.push_back({{"reason", c.reason}, {"message", c.message}, {"field", c.field}});
        parts.push_back(c.field + ": " + c.message);
    }
    std::string joined;
    if (parts.size() == 1) {
        joined = parts[0];
    } else {
        joined = "[" + fmt::format("{}", fmt::join(parts, ", ")) + "]";
    }
    json details = details_for(ref, name, ref.kind);
    details["causes"] = cause_list;
    return StatusError(failure_status(
        422, "Invalid", fmt::format("{} \"{}\" is invalid: {}", qualified_kind(ref), name, joined),
        details));
}

StatusError patch_does_not_apply(const std::string& why) {
    json details = {
        {"causes", json::array({{{"reason", "UnexpectedServerResponse"}, {"message", why}}})}};
    return StatusError(failure_status(
        422, "Invalid", "the server rejected our request due to an error in our request", details));
}

StatusError bad_request(const std::string& message) {
    return StatusError(failure_status(400, "BadRequest", message));
}

StatusError unauthorized() {
    return StatusError(failure_status(401, "Unauthorized", "Unauthorized"));
}

StatusError forbidden(const ResourceRef& ref, const std::string& subresource,
                      const std::string& name, const std::string& user, const std::string& verb,
                      const std::string& namespace_name) {
    const std::string resource =
        subresource.empty() ? ref.resource : ref.resource + "/" + subresource;
    std::string why;
    if (namespace_name.empty()) {
        why = fmt::format(
            "User \"{}\" cannot {} resource \"{}\" in API group \"{}\" at the cluster scope", user,
            verb, resource, ref.group);
    } else {
        why = fmt::format(
            "User \"{}\" cannot {} resource \"{}\" in API group \"{}\" in the namespace \"{}\"",
            user, verb, resource, ref.group, namespace_name);
    }
    const std::string message =
        name.empty()
            ? fmt::format("{} is forbidden: {}", qualified_resource(ref), why)
            : fmt::format("{} \"{}\" is forbidden: {}", qualified_resource(ref), name, why);
    return StatusError(
        failure_status(403, "Forbidden", message, details_for(ref, name, ref.resource)));
}

StatusError method_not_allowed() {
    return StatusError(failure_status(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
        json::object()));
}

StatusError unsupported_media_type(const std::vector<std::string>& accepted) {
    return StatusError(failure_status(
        415, "UnsupportedMediaType",
        fmt::format(
            "the body of the request was in an unknown format - accepted media types include: {}",
            fmt::join(accepted, ", ")),
        json::object()));
}

StatusError gone(const std::string& message) {
    return StatusError(failure_status(410, "Expired", message));
}

StatusError internal_error(const std::string& message) {
    return StatusError(failure_status(500, "InternalError", "Internal error occurred: " + message,
                                      json{{"causes", json::array({{{"message", message}}})}}));
}

json delete_success_status(const ResourceRef& ref, const std::string& name,
                           const std::string& uid) {
    json details = details_for(ref, name, ref.resource);
    details["uid"] = uid;
    return json{{"kind", "Status"},
                {"apiVersion", "v1"},
                {"metadata", json::object()},
                {"status", "Success"},
                {"details", details}};
}

} // namespace sandbox
