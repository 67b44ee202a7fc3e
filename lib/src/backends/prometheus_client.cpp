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

http::Request instant_request(const std::string& base_url, const InstantQuery& query) {
    std::string body = "query=" + http::url_encode(query.query);
    if (query.time) {
        body += "&time=" + format_prometheus_time(*query.time);
    }
    if (query.timeout.count() > 0) {
        body += "&timeout=" + http::url_encode(fmt::format("{}ms", query.timeout.count()));
    }
    return form_post(base_url + "/api/v1/query", std::move(body), query.timeout);
}

http::Request range_request(const std::string& base_url, const RangeQuery& query) {
    std::string body = "query=" + http::url_encode(query.query);
    body += "&start=" + format_prometheus_time(query.start);
    body += "&end=" + format_prometheus_time(query.end);
    const auto step_ms = std::max<long long>(query.step.count(), 1);
    body += "&step=" + (step_ms % 1000 == 0 ? fmt::format("{}", step_ms / 1000)
                                            : fmt::format("{}.{:03}", step_ms / 1000, step_ms % 1000));
    if (query.timeout.count() > 0) {
        body += "&timeout=" + http::url_encode(fmt::format("{}ms", query.timeout.count()));
    }
    return form_post(base_url + "/api/v1/query_range", std::move(body), query.timeout);
}

} // namespace

http::Request Client::request_for(const Query& query) const {
    if (const auto* instant = std::get_if<InstantQuery>(&query)) {
        return instant_request(m_base_url, *instant);
    }
    return range_request(m_base_url, std::get<RangeQuery>(query));
}

std::vector<Result<QueryResult>> Client::query_all(const std::vector<Query>& queries, bool sequential) const {
    std::vector<http::Request> requests;
    requests.reserve(queries.size());
    for (const auto& q : queries) {
        requests.push_back(request_for(q));
    }
    std::vector<Result<http::Response>> responses;
    if (sequential) {
        for (const auto& r : requests) {
            responses.push_back(m_http.perform(r));
        }
    } else {
        responses = m_http.perform_all(requests, std::max<std::size_t>(requests.size(), 1));
    }
    std::vector<Result<QueryResult>> out;
    out.reserve(responses.size());
    for (const auto& r : responses) {
        out.push_back(decode_query_result(r, m_redacted_url));
    }
    return out;
}

} // namespace oncall::prometheus
