#pragma once
// Prometheus HTTP API: instant and range queries (POST, form-encoded) and the full response
// envelope (status, errorType, error, warnings). Requests and decoding are separate so that a
// caller can send many queries at once with http::Client::perform_all and decode each answer.

#include "oncall/core/result.h"
#include "oncall/core/time.h"
#include "oncall/http/client.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace oncall::prometheus {

/// One sample: its time, its value as a double, and the value exactly as sent ("NaN", "+Inf").
struct Sample {
    TimePoint time;
    double value = 0.0;
    std::string text;
};

/// A labelled series: one sample for a vector result, many for a matrix.
struct Series {
    std::map<std::string, std::string> labels;
    std::vector<Sample> samples;
};

/// The resultType of a successful query.
enum class ResultType { vector, matrix, scalar, string };

/// A successful query's data and any warnings Prometheus attached (to be shown, never dropped).
struct QueryResult {
    ResultType type = ResultType::vector;
    std::vector<Series> series;   // vector and matrix results
    std::optional<Sample> scalar; // scalar results (string results keep the text here too)
    std::vector<std::string> warnings;
};

/// An instant query (/api/v1/query); no time means "now" on the server.
struct InstantQuery {
    std::string query;
    std::optional<TimePoint> time;
    std::chrono::milliseconds timeout{0}; // 0: the client's
};

/// A range query (/api/v1/query_range) over [start, end] every `step`.
struct RangeQuery {
    std::string query;
    TimePoint start;
    TimePoint end;
    std::chrono::milliseconds step{std::chrono::seconds(60)};
    std::chrono::milliseconds timeout{0};
};

/// One query of a batch.
using Query = std::variant<InstantQuery, RangeQuery>;

/// Decodes a Prometheus API answer. Tolerant of missing optional fields (warnings, errorType),
/// strict about wrong types: those give Errc::bad_response naming `url` (already redacted).
/// status "error" envelopes become errors carrying errorType and error in their message.
Result<QueryResult> decode_query_response(long http_status, std::string_view body,
                                          std::string_view url);

/// Decodes a transport result as decode_query_response does; transport errors pass through with
/// "prometheus at <url>: " in front.
Result<QueryResult> decode_query_result(const Result<http::Response>& response,
                                        std::string_view base_url);

/// One active scrape target (/api/v1/targets): its labels and how often it is scraped.
struct Target {
    std::map<std::string, std::string> labels; // after relabelling (job, instance, ...)
    std::string scrape_pool;
    std::chrono::milliseconds scrape_interval{0}; // 0 when the server does not say (before 2.35)
    std::string health;                           // up | down | unknown
};

/// Decodes a /api/v1/targets answer (active targets only); wrong types are Errc::bad_response.
Result<std::vector<Target>> decode_targets_response(long http_status, std::string_view body,
                                                    std::string_view url);

/// Client bound to one Prometheus base URL ("http://127.0.0.1:9090", optionally with a path
/// prefix).
class Client {
public:
    Client(http::Client http, std::string base_url);

    /// Runs `queries` at once on one multi handle (or one after another when `sequential`) and
    /// decodes each answer: one result per query, in order; a failed query fails alone.
    std::vector<Result<QueryResult>> query_all(const std::vector<Query>& queries,
                                               bool sequential = false) const;

    /// The POST request of a query (what query_all sends).
    http::Request request_for(const Query& query) const;

    /// The active scrape targets (GET /api/v1/targets?state=active).
    Result<std::vector<Target>> targets() const;

    /// The base URL with credentials removed, for messages.
    const std::string& redacted_url() const noexcept { return m_redacted_url; }
    const http::Client& http() const noexcept { return m_http; }

private:
    http::Client m_http;
    std::string m_base_url;
    std::string m_redacted_url;
};

/// Formats a time as Prometheus accepts it: Unix seconds with milliseconds ("1732590000.123").
std::string format_prometheus_time(TimePoint t);

} // namespace oncall::prometheus
