#pragma once
// Silences scoped to a service: the service's own alert matchers (plus alert names), a capped
// duration, the user as author, the reason and ticket as comment; created once on an HA set,
// listed once (merged by id), expired by id; every change audited before it is sent.

#include "oncall/backends/alertmanager.h"
#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/core/time.h"

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oncall::ops {

/// The flags of `oncall silence SERVICE`.
struct SilenceRequest {
    std::string duration; // --for, e.g. "2h"
    std::string reason;
    std::string ticket;
    std::vector<std::string> alerts; // --alert NAME...
};

/// A request that passed every check; nothing has been sent yet.
struct ValidatedSilence {
    std::chrono::seconds duration{0};
    std::string reason;
    std::string ticket;
    std::vector<alertmanager::SilenceMatcher> matchers;
};

/// A silence with the service it was made for (when known) and its time left.
struct SilenceView {
    alertmanager::Silence silence;
    std::string service; // "" when listed without a service
};

/// Result of `oncall silence SERVICE`.
struct CreatedSilenceResult {
    std::string service;
    alertmanager::Silence silence;    // as sent, with the id Alertmanager gave it
    std::string alertmanager;         // the peer that took it (redacted URL)
    std::vector<std::string> skipped; // peers that did not answer first (messages)
};

/// Result of `oncall silence expire ID`.
struct ExpiredSilenceResult {
    alertmanager::Silence silence; // as it was before expiring
    bool already_expired = false;  // nothing was sent
    std::string alertmanager;
};

/// Escapes every regular-expression metacharacter of `text` (RE2 syntax, as Go's QuoteMeta), so
/// the pattern matches exactly the literal text.
std::string regex_quote(std::string_view text);

/// The silence's matchers: the service's alert matchers, plus alertname = NAME for one name or
/// alertname =~ "N1|N2" (each name quoted) for several. Errc::invalid for an empty name, a name
/// with control characters, or a service matcher that does not parse.
Result<std::vector<alertmanager::SilenceMatcher>>
silence_matchers(const config::Service& service, const std::vector<std::string>& alerts);

/// Checks every flag before anything is sent: --reason non-empty one line, --ticket one line,
/// --for a positive duration of at most the context's silences.max (Errc::invalid otherwise).
Result<ValidatedSilence> validate_silence(const config::Context& context,
                                          const config::Service& service,
                                          const SilenceRequest& request);

/// "reason" or "reason [ticket ID]": the silence's comment.
std::string silence_comment(const std::string& reason, const std::string& ticket);

/// The matchers as label=value text ("service=\"checkout\", alertname=~\"A|B\"").
std::string format_silence_matchers(const std::vector<alertmanager::SilenceMatcher>& matchers);

/// Matchers as oncall's JSON output and audit lines write them: [{"name", "value", "is_regex",
/// "is_equal"}].
nlohmann::json silence_matchers_json(const std::vector<alertmanager::SilenceMatcher>& matchers);

/// True when `silence` carries every matcher of the service (the way Alertmanager's list filter
/// selects a service's silences).
bool silence_covers_service(const alertmanager::Silence& silence, const config::Service& service);

/// Who creates the silence: the username of a SelfSubjectReview when the context has
/// Kubernetes and it answers within a few seconds, else the local user. `note` receives why the
/// fallback was used.
std::string silence_author(const config::Context& context,
                           const std::function<void(std::string_view)>& note);

/// The Alertmanager client of the context; Errc::config when none is configured.
Result<alertmanager::Client> silence_client(const config::Context& context,
                                            const std::function<void(std::string_view)>& log);

/// Creates the silence on the first peer that answers. An audit line saying what is about to be
/// done is written (fsync'd) before the request, and one with the outcome after it; if the first
/// cannot be written, nothing is sent.
Result<CreatedSilenceResult>
create_silence(const alertmanager::Client& client, const config::Context& context,
               const config::Service& service, const ValidatedSilence& request,
               const std::string& author, const std::string& audit_path, TimePoint start = now());

/// Active and pending silences across the HA set, merged by id; with a service, only those that
/// carry its matchers. Sorted by end time.
Result<std::vector<SilenceView>> list_silences(const alertmanager::Client& client,
                                               const std::optional<config::Service>& service,
                                               std::vector<std::string>* warnings = nullptr);

/// Expires silence `id` (looked up first: an unknown id is Errc::not_found with Alertmanager's
/// answer, and nothing is expired). Audited like create_silence.
Result<ExpiredSilenceResult> expire_silence(const alertmanager::Client& client,
                                            const config::Context& context, const std::string& id,
                                            const std::string& author,
                                            const std::string& audit_path);

/// Seconds left until the silence ends (0 when ended or unknown).
std::chrono::seconds silence_time_left(const alertmanager::Silence& silence, TimePoint ref);

} // namespace oncall::ops
