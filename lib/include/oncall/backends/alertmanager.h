#pragma once
// Alertmanager API v2: GET /api/v2/alerts with `filter` matchers and the active / silenced /
// inhibited switches, from one URL or from every peer of an HA pair at once, de-duplicated by
// fingerprint. Requests and decoding are separate so callers can batch them with perform_all.
// Silences: POST /api/v2/silences on the first peer that answers (peers gossip), GET merged by id,
// GET /api/v2/silence/{id} and DELETE /api/v2/silence/{id} (expire).

#include "oncall/core/result.h"
#include "oncall/core/time.h"
#include "oncall/http/client.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oncall::alertmanager {

/// One alert as Alertmanager reports it.
struct Alert {
    std::string name;     // label alertname
    std::string severity; // label severity ("" when absent)
    std::string state;    // active | suppressed | unprocessed
    std::string summary;  // annotation summary, else description
    std::string fingerprint;
    std::optional<TimePoint> starts_at;
    std::optional<TimePoint> ends_at;
    std::optional<TimePoint> updated_at;
    std::string generator_url;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    std::vector<std::string> silenced_by;
    std::vector<std::string> inhibited_by;
    std::vector<std::string> receivers;
};

/// What to ask for: matchers (label op "value", validated and escaped) and the state switches.
struct AlertQuery {
    std::vector<std::string>
        filter; // e.g. service="checkout"; each entry may hold several matchers
    bool active = true;
    bool silenced = false;
    bool inhibited = false;
    bool unprocessed = true;
    std::chrono::milliseconds timeout{0};
};

/// Alerts merged from the peers that answered; `errors` names the peers that did not.
struct AlertSet {
    std::vector<Alert> alerts; // de-duplicated by fingerprint, most severe and oldest first
    std::vector<Error> errors; // one per failed peer (the set is still usable when alerts came)
    int peers_ok = 0;
};

/// One matcher of a silence, as the v2 API writes it.
struct SilenceMatcher {
    std::string name;
    std::string value;
    bool is_regex = false;
    bool is_equal = true; // false: != or !~
};

/// A silence as Alertmanager reports it.
struct Silence {
    std::string id;
    std::vector<SilenceMatcher> matchers;
    std::optional<TimePoint> starts_at;
    std::optional<TimePoint> ends_at;
    std::optional<TimePoint> updated_at;
    std::string created_by;
    std::string comment;
    std::string state; // active | pending | expired
};

/// What to create (POST /api/v2/silences without an id).
struct NewSilence {
    std::vector<SilenceMatcher> matchers;
    TimePoint starts_at;
    TimePoint ends_at;
    std::string created_by;
    std::string comment;
};

/// Silences merged from the peers that answered (by id, the latest update wins).
struct SilenceSet {
    std::vector<Silence> silences; // ends_at ascending, then id
    std::vector<Error> errors;     // one per failed peer
    int peers_ok = 0;
};

/// Where a silence was created.
struct CreatedSilence {
    std::string id;
    std::string url;            // the peer that took it (redacted)
    std::vector<Error> skipped; // peers tried before it that did not answer
};

/// The JSON body of POST /api/v2/silences.
std::string silence_body(const NewSilence& silence);

/// Decodes GET /api/v2/silences (an array). Non-2xx and garbage are errors naming `url`.
Result<std::vector<Silence>> decode_silences(long http_status, std::string_view body,
                                             std::string_view url);

/// Decodes GET /api/v2/silence/{id}; 404 is Errc::not_found.
Result<Silence> decode_silence(long http_status, std::string_view body, std::string_view url);

/// Decodes the answer to POST /api/v2/silences ({"silenceID": "..."}).
Result<std::string> decode_created_silence(long http_status, std::string_view body,
                                           std::string_view url);

/// The error for a non-2xx answer: Alertmanager's own message (a JSON string or {"message"}),
/// else an excerpt of the body; 400 Errc::invalid, 401/403 access_denied, else http_status.
Error answer_error(long http_status, std::string_view body, std::string_view url);

/// Merges the peers' silence lists by id; when every peer failed, the first error (all named).
Result<SilenceSet> merge_silences(const std::vector<Result<std::vector<Silence>>>& peers);

/// True for a silence id in Alertmanager's form (a UUID: 8-4-4-4-12 hex digits).
bool is_silence_id(std::string_view id);

/// Decodes the JSON array of GET /api/v2/alerts. Errors (non-2xx: Alertmanager's plain-string
/// bodies; wrong types: Errc::bad_response) name `url`, which must already be redacted.
Result<std::vector<Alert>> decode_alerts(long http_status, std::string_view body,
                                         std::string_view url);

/// Merges the peers' answers: alerts with the same fingerprint count once (the latest update wins).
/// When every peer failed, the first error is returned with all peers named.
Result<AlertSet> merge_peers(const std::vector<Result<std::vector<Alert>>>& peers);

/// Rank of a severity for sorting: critical/page 0, error/high 1, warning/ticket 2, info 3, else 4.
int severity_rank(std::string_view severity);

/// Client for one Alertmanager or an HA set (several URLs, queried concurrently).
class Client {
public:
    Client(http::Client http, std::vector<std::string> urls);

    /// One GET per peer; Errc::invalid when a filter entry is not a list of label matchers.
    Result<std::vector<http::Request>> requests(const AlertQuery& query) const;
    /// Decodes the peers' answers (same order as requests()) and merges them.
    Result<AlertSet> decode(const std::vector<Result<http::Response>>& responses) const;
    /// Queries every peer at once and merges.
    Result<AlertSet> alerts(const AlertQuery& query) const;

    /// Creates `silence` once: on the first peer that answers (a peer that cannot be reached or
    /// answers 5xx is skipped; any other answer, a refusal included, ends the attempt).
    Result<CreatedSilence> create_silence(const NewSilence& silence) const;
    /// GET /api/v2/silences on every peer at once, merged by id (`filter`: label matchers, as
    /// for alerts; Alertmanager keeps silences whose own matchers satisfy them).
    Result<SilenceSet> silences(const std::vector<std::string>& filter = {}) const;
    /// Requests and decoding of silences(), for batching with other requests.
    Result<std::vector<http::Request>> silence_requests(const std::vector<std::string>& filter,
                                                        std::chrono::milliseconds timeout) const;
    Result<SilenceSet>
    decode_silence_list(const std::vector<Result<http::Response>>& responses) const;
    /// One silence by id, from the first peer that knows it; Errc::not_found when the peers that
    /// answered all said 404 (with Alertmanager's message).
    Result<Silence> silence(const std::string& id) const;
    /// Expires a silence (DELETE /api/v2/silence/{id}) on the first peer that answers.
    Result<std::string> expire_silence(const std::string& id) const;

    /// The peers' URLs with credentials removed, comma-separated, for messages.
    std::string redacted_urls() const;
    const http::Client& http() const noexcept { return m_http; }
    std::size_t peer_count() const noexcept { return m_urls.size(); }

private:
    http::Client m_http;
    std::vector<std::string> m_urls;
    std::vector<std::string> m_redacted;
};

} // namespace oncall::alertmanager
