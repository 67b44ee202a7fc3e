#pragma once
// Alertmanager API v2: GET /api/v2/alerts with `filter` matchers and the active / silenced /
// inhibited switches, from one URL or from every peer of an HA pair at once, de-duplicated by
// fingerprint. Requests and decoding are separate so callers can batch them with perform_all.

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
    std::vector<std::string> filter; // e.g. service="checkout"; each entry may hold several matchers
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

/// Decodes the JSON array of GET /api/v2/alerts. Errors (non-2xx: Alertmanager's plain-string
/// bodies; wrong types: Errc::bad_response) name `url`, which must already be redacted.
Result<std::vector<Alert>> decode_alerts(long http_status, std::string_view body, std::string_view url);

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
