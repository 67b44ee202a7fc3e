// Prometheus HTTP API client: building the POST requests and sending them.

#include "oncall/backends/prometheus.h"
#include "oncall/core/duration.h"
#include "oncall/http/json.h"

#include <algorithm>
#include <fmt/format.h>

namespace oncall::prometheus {

Client::Client(http::Client http, std::string base_url)
    : m_http(std::move(http)), m_base_url(std::move(base_url)),
      m_redacted_url(http::redact_url(m_base_url)) {
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
    body +=
        "&step=" + (step_ms % 1000 == 0 ? fmt::format("{}", step_ms / 1000)
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

std::vector<Result<QueryResult>> Client::query_all(const std::vector<Query>& queries,
                                                   bool sequential) const {
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

Result<std::vector<Target>> decode_targets_response(long http_status, std::string_view body,
                                                    std::string_view url) {
    auto bad = [&](std::string_view what) {
        return make_error(Errc::bad_response,
                          fmt::format("prometheus at {}: /api/v1/targets: {}", url, what));
    };
    if (http_status < 200 || http_status > 299) {
        auto e = bad(fmt::format("HTTP {}", http_status));
        e.http_status = http_status;
        return e;
    }
    auto doc = http::parse_json_text(body, fmt::format("prometheus at {} /api/v1/targets", url));
    if (!doc) {
        return std::move(doc).error();
    }
    if (!doc->is_object() || !doc->contains("data") || !(*doc)["data"].is_object()) {
        return bad("no data object");
    }
    const auto& data = (*doc)["data"];
    std::vector<Target> out;
    if (!data.contains("activeTargets")) {
        return out;
    }
    if (!data["activeTargets"].is_array()) {
        return bad("activeTargets is not a list");
    }
    for (const auto& t : data["activeTargets"]) {
        if (!t.is_object()) {
            return bad("a target is not an object");
        }
        Target target;
        if (t.contains("labels")) {
            if (!t["labels"].is_object()) {
                return bad("a target's labels are not an object");
            }
            for (const auto& [k, v] : t["labels"].items()) {
                if (v.is_string()) {
                    target.labels[k] = v.get<std::string>();
                }
            }
        }
        if (t.contains("scrapePool") && t["scrapePool"].is_string()) {
            target.scrape_pool = t["scrapePool"].get<std::string>();
        }
        if (t.contains("health") && t["health"].is_string()) {
            target.health = t["health"].get<std::string>();
        }
        if (t.contains("scrapeInterval")) {
            if (!t["scrapeInterval"].is_string()) {
                return bad("scrapeInterval is not a string");
            }
            auto d = parse_duration(t["scrapeInterval"].get<std::string>());
            if (!d || d->count() <= 0) {
                return bad("scrapeInterval is not a duration");
            }
            target.scrape_interval = *d;
        }
        out.push_back(std::move(target));
    }
    return out;
}

Result<std::vector<Target>> Client::targets() const {
    http::Request r;
    r.method = http::Method::get;
    r.url = m_base_url + "/api/v1/targets?state=active";
    r.headers.push_back({"Accept", "application/json"});
    auto response = m_http.perform(r);
    if (!response) {
        auto e = std::move(response).error();
        e.message = fmt::format("prometheus at {}: {}", m_redacted_url, e.message);
        return e;
    }
    return decode_targets_response(response->status, response->body, m_redacted_url);
}

} // namespace oncall::prometheus
