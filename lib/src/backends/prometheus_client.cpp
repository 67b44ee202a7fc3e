// Prometheus HTTP API client: building the POST requests and sending them.

#include "oncall/backends/prometheus.h"

#include <fmt/format.h>

#include <algorithm>

namespace oncall::prometheus {

Client::Client(http::Client http, std::string base_url)
    : m_http(std::move(http)), m_base_url(std::move(base_url)), m_redacted_url(http::redact_url(m_base_url)) {
    while (!m_base_url.empty() && m_base_url.back() == '/') {
        m_base_url.pop_back();
    }
    while (!m_redacted_url.empty() && m_redacted_url.back() == '/') {
        m_redacted_url.pop_back();
    }
}

namespace {

http::Request form_post(std::string url, std::string body, std::chrono::milliseconds timeout) {
    http::Request r;
    r.method = http::Method::post;
    r.url = std::move(url);
    r.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    r.headers.push_back({"Accept", "application/json"});
    r.body = std::move(body);
    r.timeout = timeout;
    return r;
}

} // namespace

http::Request Client::instant_request(const InstantQuery& query) const {
    std::string body = "query=" + http::url_encode(query.query);
    if (query.time) {
        body += "&time=" + format_prometheus_time(*query.time);
    }
    if (query.timeout.count() > 0) {
        body += "&timeout=" + http::url_encode(fmt::format("{}ms", query.timeout.count()));
    }
    return form_post(m_base_url + "/api/v1/query", std::move(body), query.timeout);
}

http::Request Client::range_request(const RangeQuery& query) const {
    std::string body = "query=" + http::url_encode(query.query);
    body += "&start=" + format_prometheus_time(query.start);
    body += "&end=" + format_prometheus_time(query.end);
    const auto step_ms = std::max<long long>(query.step.count(), 1);
    body += "&step=" + (step_ms % 1000 == 0 ? fmt::format("{}", step_ms / 1000)
                                            : fmt::format("{}.{:03}", step_ms / 1000, step_ms % 1000));
    if (query.timeout.count() > 0) {
        body += "&timeout=" + http::url_encode(fmt::format("{}ms", query.timeout.count()));
    }
    return form_post(m_base_url + "/api/v1/query_range", std::move(body), query.timeout);
}

Result<QueryResult> Client::decode(const Result<http::Response>& response) const {
    return decode_query_result(response, m_redacted_url);
}

Result<QueryResult> Client::instant(const InstantQuery& query) const {
    return decode(m_http.perform(instant_request(query)));
}

Result<QueryResult> Client::range(const RangeQuery& query) const {
    return decode(m_http.perform(range_request(query)));
}

} // namespace oncall::prometheus
