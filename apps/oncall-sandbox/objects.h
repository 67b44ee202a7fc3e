#pragma once
// Helpers shared by the API server and the controller: the sandbox clock, object identities
// (uids, generated names), Kubernetes timestamps, API defaults of pod templates and Deployments,
// and the pod-template-hash kube derives ReplicaSet names from.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace sandbox {

using SysTime = std::chrono::system_clock::time_point;

/// The sandbox's notion of now: the configured epoch plus the time elapsed since start-up.
class SandboxClock {
public:
    explicit SandboxClock(SysTime epoch);
    /// Current sandbox time.
    SysTime now() const;
    /// The time the sandbox started at (scenario times are relative to it).
    SysTime epoch() const { return m_epoch; }

private:
    SysTime m_epoch;
    std::chrono::steady_clock::time_point m_started;
};

/// "2026-11-26T02:14:00Z" (seconds precision, as metav1.Time).
std::string k8s_time(SysTime t);
/// Parses a metav1.Time; the epoch when it cannot be parsed.
SysTime parse_k8s_time(const std::string& text);
/// A random RFC 4122 version 4 uid.
std::string new_uid();
/// `n` random characters of kube's name-suffix alphabet ("bcdfghjklmnpqrstvwxz2456789").
std::string random_suffix(std::size_t n = 5);
/// `n` random lowercase hex digits.
std::string random_hex(std::size_t n);
/// Random bytes encoded as unpadded base64url.
std::string random_base64url(std::size_t bytes);
/// Base64url (no padding) of arbitrary data.
std::string base64url(const std::string& data);
/// Standard base64 (with padding) of arbitrary data, for Secret data fields.
std::string base64(const std::string& data);
/// Decodes standard base64; false when malformed.
bool base64_decode(const std::string& in, std::string& out);

/// Fills the defaults kube-apiserver applies to a pod template (imagePullPolicy, restartPolicy,
/// ...).
void default_pod_template(nlohmann::json& tmpl);
/// Fills the defaults of a Deployment's spec (replicas, strategy, revisionHistoryLimit, ...).
void default_deployment_spec(nlohmann::json& spec);
/// A pod template stripped of the pod-template-hash label and of empty maps, for comparisons.
nlohmann::json normalized_template(const nlohmann::json& tmpl);
/// Whether two pod templates are equal ignoring the pod-template-hash label (kube's
/// EqualIgnoreHash).
bool templates_equal(const nlohmann::json& a, const nlohmann::json& b);
/// The pod-template-hash of a template (FNV-1a of its normalized form, in kube's safe alphabet).
std::string pod_template_hash(const nlohmann::json& tmpl);

/// Rounds an IntOrString ("25%" or 1) against a total, up or down as kube's
/// maxSurge/maxUnavailable.
int resolve_int_or_percent(const nlohmann::json& value, int total, bool round_up, int fallback);

/// kube's human duration for the AGE column ("45s", "3m12s", "20m", "5h3m", "2d").
std::string human_duration(std::chrono::seconds d);

/// Reads a string at a JSON path ("metadata", "name"), or "" when absent.
std::string str_at(const nlohmann::json& object, const char* a, const char* b = nullptr,
                   const char* c = nullptr);

} // namespace sandbox
