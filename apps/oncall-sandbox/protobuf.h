#pragma once
// The little of Kubernetes' protobuf wire format the sandbox must read: kubectl sends some
// request bodies (TokenRequest, SelfSubjectReview) as application/vnd.kubernetes.protobuf, i.e. the
// "k8s\0" magic, a runtime.Unknown envelope (typeMeta, raw) and the object's generated message.

#include "oncall/core/result.h"

#include <nlohmann/json.hpp>
#include <string>

namespace sandbox {

/// Media type of Kubernetes protobuf bodies.
inline constexpr const char* k_protobuf_media_type = "application/vnd.kubernetes.protobuf";

/// Decodes the envelope: {"apiVersion", "kind"} and the raw message bytes in `raw`.
oncall::Result<nlohmann::json> decode_protobuf_envelope(const std::string& body, std::string& raw);

/// Decodes an authentication.k8s.io/v1 TokenRequest body into its JSON form (metadata.name, spec).
oncall::Result<nlohmann::json> decode_token_request(const std::string& body);

/// Decodes a certificates.k8s.io/v1 CertificateSigningRequest body (as `kubectl certificate
/// approve|deny` sends it to the approval subresource): metadata.name and resourceVersion, and
/// status.conditions (type, status, reason, message).
oncall::Result<nlohmann::json> decode_certificate_signing_request(const std::string& body);

} // namespace sandbox
