#pragma once
// Just-in-time access grants: the local store of issued grants (one per context + service + role,
// kept under <state_dir>/grants/ in a 0700 directory as 0600 files written atomically), the lookup
// that rollback and redeploy use before writing, and the pure validation of a request.

#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/core/time.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oncall::ops {

/// The role whose grant rollback and redeploy need for their writes.
inline constexpr const char* k_deployer_role = "deployer";

/// Annotation on a service account capping the duration of its grants ("1h", "30m").
inline constexpr const char* k_max_duration_annotation = "oncall.dev/max-duration";

/// Prefix of the name of the Secret that records a grant and revokes its token when deleted.
inline constexpr const char* k_grant_secret_prefix = "oncall-grant-";

/// One issued grant. The token is stored only in the grant's 0600 file; it never leaves the
/// store except to authenticate requests.
struct Grant {
    std::string context;         // oncall context it was issued in
    std::string server;          // Kubernetes API server that minted it (normalised URL)
    std::string server_identity; // how that server was trusted: "ca-sha256:<hex>", "system-roots",
                                 // "plain-http" or "insecure-skip-tls-verify" ("" in old files)
    std::string service;         // service name (DNS-1123 label)
    std::string namespace_name;  // namespace of the service and of the grant Secret
    std::string role;            // role name from access.roles
    std::string service_account; // service account the token authenticates as
    std::string id;              // grant id (the Secret is k_grant_secret_prefix + id)
    std::string secret_name;     // oncall-grant-<id>
    std::string secret_uid;      // uid of that Secret (the token is bound to it)
    std::string requester;       // who asked (from a SelfSubjectReview)
    std::string reason;
    std::string ticket; // may be empty
    TimePoint issued_at{};
    TimePoint expires_at{}; // when the token stops working (the token's own exp claim when
                            // it has one, whatever the file says)
    std::optional<TimePoint> claimed_expires_at; // set when the file claimed a later expiry
    std::string token;                           // bearer token; secret
    bool break_glass = false;                    // issued through a break-glass role
    std::string approver;                        // who approved it (two-person roles), else empty

    /// Time until expiry relative to `ref` (negative once expired).
    std::chrono::milliseconds time_left(TimePoint ref) const { return expires_at - ref; }
    /// True when the grant has expired at `ref`.
    bool expired(TimePoint ref) const { return expires_at <= ref; }
};

/// A server URL in the form grants record and compare: scheme and host lowercased, the default
/// port (443 for https, 80 for http) written out, no trailing slash, no userinfo, query or
/// fragment ("https://API.example/" -> "https://api.example:443").
std::string normalize_server_url(std::string_view url);

/// The expiry a bearer token carries: the `exp` claim of a JWT (what the API server minted and
/// enforces), or nullopt for an opaque token.
std::optional<TimePoint> token_expiry(std::string_view token);

/// A warning when the grant's stored expiry cannot be believed: the file claimed a later expiry
/// than its token's, or (for an opaque token) a grant longer than the role's `max`; else nullopt.
std::optional<std::string> grant_expiry_doubt(const Grant& grant, std::chrono::seconds role_max);

/// Why a lookup found no usable grant.
enum class GrantStatus { active, none, expired };

/// Outcome of find_active_grant: an active grant, or none / expired (with the expired grant).
struct GrantLookup {
    GrantStatus status = GrantStatus::none;
    std::optional<Grant> grant; // set for active and expired
    std::chrono::milliseconds time_left{0};

    bool active() const { return status == GrantStatus::active; }
    /// "no deployer grant for checkout in context sandbox" / "the deployer grant for checkout
    /// expired 3m ago (at ...)"; empty when active.
    std::string describe(const std::string& context, const std::string& service,
                         const std::string& role, TimePoint ref) const;
};

/// The local grant store: a directory holding one file per context + service + role.
class GrantStore {
public:
    /// A store rooted at `dir` (created on first write with mode 0700).
    explicit GrantStore(std::string dir);

    /// The user's store: config::state_dir()/grants.
    static GrantStore open_default();

    const std::string& dir() const noexcept { return m_dir; }

    /// Path of the file of the grant keyed by context + service + role.
    std::string path_for(const std::string& context, const std::string& service,
                         const std::string& role) const;

    /// Stores `grant` (replacing any grant with the same key): temp file 0600, fsync, rename,
    /// fsync of the directory. Refuses a directory with looser permissions than 0700.
    Result<void> save(const Grant& grant) const;

    /// The stored grant for the key, or nullopt. A file or directory readable by others, a file
    /// not owned by the user, or a file whose content does not match its key is refused.
    Result<std::optional<Grant>> load(const std::string& context, const std::string& service,
                                      const std::string& role) const;

    /// The grant usable now for the key: active, expired, or none.
    Result<GrantLookup> find_active(const std::string& context, const std::string& service,
                                    const std::string& role, TimePoint ref) const;

    /// Every stored grant (of every context when `context` is empty), sorted by context,
    /// service and role. Files with loose permissions are refused like load() does.
    Result<std::vector<Grant>> list(const std::string& context = {}) const;

    /// Deletes the grant file for the key; true when there was one.
    Result<bool> remove(const std::string& context, const std::string& service,
                        const std::string& role) const;

    /// Directory of the pending approval requests (their private keys): <dir>/requests.
    std::string requests_dir() const { return m_dir + "/requests"; }

    /// Stores the pending request `id` (its record and private key) as a 0600 file in
    /// requests_dir(), written like save().
    Result<void> save_request(const std::string& id, const std::string& text) const;

    /// The pending request `id`, or nullopt when there is none. A file readable by others or not
    /// owned by the user is refused (Errc::access_denied), as load() does.
    Result<std::optional<std::string>> load_request(const std::string& id) const;

    /// Deletes the pending request `id` (its private key); true when there was one.
    Result<bool> remove_request(const std::string& id) const;

private:
    std::string m_dir;
};

/// Looks the grant up in the default store at the current time: what rollback and redeploy call
/// before writing (`role` defaults to deployer).
Result<GrantLookup> find_active_grant(const std::string& context, const std::string& service,
                                      const std::string& role = k_deployer_role);

/// The access-denied error of a failed lookup: describes it and ends with the exact
/// request-access line to run. `role_max` caps the suggested duration (default 30m).
Error no_grant_error(const GrantLookup& lookup, const std::string& context,
                     const std::string& service, const std::string& role,
                     std::chrono::seconds role_max = std::chrono::seconds(0));

/// Warning when an active grant has less than 5 minutes left, else nullopt.
std::optional<std::string> grant_expiry_warning(const GrantLookup& lookup,
                                                const std::string& service);

/// Threshold under which grant_expiry_warning warns.
inline constexpr std::chrono::minutes k_grant_warning_threshold{5};

/// The command that asks for access: `oncall request-access SERVICE --role ROLE --for 30m
/// --reason "..."` (the duration is 30m, or the role's max when smaller).
std::string request_access_command(const std::string& service,
                                   const std::string& role = k_deployer_role,
                                   std::chrono::seconds role_max = std::chrono::seconds(0));

// ---- validation of a request (pure) ----

/// The roles of a context: access.roles, or when none are configured the defaults deployer
/// (service account oncall-deployer, max 1h) and triage (oncall-triage, max 8h).
std::map<std::string, config::Role> effective_roles(const config::AccessConfig& access);

/// The role named `name` among the context's effective roles; unknown names are Errc::invalid
/// errors listing the known roles.
Result<config::Role> validate_role(const config::AccessConfig& access, const std::string& name);

/// Refuses a reason that is empty, too short or trivial ("x", "test", "asdf", "fix", ...).
Result<void> validate_reason(std::string_view reason);

/// Minimum length of a reason, in characters after trimming.
inline constexpr std::size_t k_min_reason_length = 10;

/// Parses --for: a positive duration in whole seconds ("30m", "1h", "90s").
Result<std::chrono::seconds> parse_grant_duration(std::string_view text);

/// Parses the service account's oncall.dev/max-duration annotation; a malformed value is an
/// Errc::invalid error naming the account (the request is refused rather than uncapped).
Result<std::chrono::seconds> parse_max_duration_annotation(std::string_view value,
                                                           const std::string& account);

/// Refuses a duration above the role's max or above the service account's cap (when given);
/// the message gives the cap and where it comes from.
Result<void> check_duration_caps(std::chrono::seconds duration, const config::Role& role,
                                 const std::string& account_namespace,
                                 std::optional<std::chrono::seconds> account_cap);

/// Refuses a ticket with characters that do not belong in one (control characters, > 128 chars).
Result<void> validate_ticket(std::string_view ticket);

/// A fresh random grant id: 10 lowercase alphanumerics, usable in a DNS-1123 Secret name.
std::string new_grant_id();

} // namespace oncall::ops
