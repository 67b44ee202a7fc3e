#pragma once
// kube-apiserver Status objects: the exact codes, reasons, messages and details shapes the real API
// server answers with, so that kubectl and oncall see the same errors as against a real cluster.

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace sandbox {

/// Which resource an error is about: API group ("" for core), plural resource and object kind.
struct ResourceRef {
    std::string group;    // "apps", "" for core/v1
    std::string resource; // "deployments"
    std::string kind;     // "Deployment"
};

/// One field error of an Invalid status (field.Error in kube).
struct FieldCause {
    std::string reason;  // "FieldValueInvalid", "FieldValueRequired", ...
    std::string field;   // "spec.replicas"
    std::string message; // "Invalid value: -1: must be greater than or equal to 0"
};

/// A failed API request: the HTTP code and the Status body that goes with it. Thrown inside the
/// API server's request handling and turned into the response at the dispatcher.
class StatusError : public std::runtime_error {
public:
    explicit StatusError(nlohmann::json status);
    /// The HTTP status code the Status carries.
    int code() const { return m_status.value("code", 500); }
    /// The Status object to send.
    const nlohmann::json& status() const { return m_status; }

private:
    nlohmann::json m_status;
};

/// "deployments.apps" / "pods": the qualified resource as kube prints it.
std::string qualified_resource(const ResourceRef& ref);

/// A Status of status "Failure" (message, reason, code, optional details).
nlohmann::json failure_status(int code, const std::string& reason, const std::string& message,
                              nlohmann::json details = nullptr);

/// 404 `deployments.apps "x" not found`.
StatusError not_found(const ResourceRef& ref, const std::string& name);
/// 404 "the server could not find the requested resource" (unknown path).
StatusError unknown_path();
/// 409 AlreadyExists `secrets "x" already exists`.
StatusError already_exists(const ResourceRef& ref, const std::string& name);
/// 409 Conflict `Operation cannot be fulfilled on deployments.apps "x": <why>`.
StatusError conflict(const ResourceRef& ref, const std::string& name, const std::string& why);
/// The optimistic-concurrency conflict message of kube-apiserver.
extern const char* const k_object_modified;
/// 422 Invalid `Deployment.apps "x" is invalid: <causes>`.
StatusError invalid(const ResourceRef& ref, const std::string& name,
                    const std::vector<FieldCause>& causes);
/// A FieldValueInvalid cause: `Invalid value: <value>: <detail>`.
FieldCause field_invalid(const std::string& field, const nlohmann::json& value,
                         const std::string& detail);
/// A FieldValueRequired cause: `Required value`.
FieldCause field_required(const std::string& field, const std::string& detail = "");
/// 422 from a patch that does not apply (kube's generic "rejected our request" with one cause).
StatusError patch_does_not_apply(const std::string& why);
/// 400 BadRequest with the given message.
StatusError bad_request(const std::string& message);
/// 401 Unauthorized.
StatusError unauthorized();
/// 403 Forbidden, worded as kube's RBAC denial.
StatusError forbidden(const ResourceRef& ref, const std::string& subresource,
                      const std::string& name, const std::string& user, const std::string& verb,
                      const std::string& namespace_name);
/// 405 MethodNotAllowed.
StatusError method_not_allowed();
/// 415 UnsupportedMediaType listing the accepted media types.
StatusError unsupported_media_type(const std::vector<std::string>& accepted);
/// 410 Expired `too old resource version: N (M)`.
StatusError gone(const std::string& message);
/// 500 InternalError.
StatusError internal_error(const std::string& message);

/// The success Status returned by a DELETE of a resource that does not return the deleted object.
nlohmann::json delete_success_status(const ResourceRef& ref, const std::string& name,
                                     const std::string& uid);

/// Renders a JSON value as Go's %v would in a field error ("-1", "\"abc\"", "map[...]" simplified).
std::string go_value(const nlohmann::json& value);

} // namespace sandbox
