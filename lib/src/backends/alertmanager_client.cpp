// Alertmanager API v2 client: one GET per peer, sent at once.

#include "oncall/backends/alertmanager.h"
#include "oncall/backends/matchers.h"

#include <fmt/format.h>

namespace oncall::alertmanager {

Client::Client(http::Client http, std::vector<std::string> urls) : m_http(std::move(http)), m_urls(std::move(urls)) {
    for (auto& u : m_urls) {
        while (!u.empty() && u.back() == '/') {
            u.pop_back();
        }
        m_redacted.push_back(http::redact_url(u));
    }
}

std::string Client::redacted_urls() const {
    std::string out;
    for (const auto& u : m_redacted) {
        out += (out.empty() ? "" : ", ") + u;
    }
    return out;
}

Result<std::vector<http::Request>> Client::requests(const AlertQuery& query) const {
    std::string params = fmt::format("active={}&silenced={}&inhibited={}&unprocessed={}", query.active,
                                     query.silenced, query.inhibited, query.unprocessed);
    for (const auto& entry : query.filter) {
        auto matchers = backends::parse_selector(entry);
        if (!matchers) {
            Error e = std::move(matchers).error();
            e.message = "alert filter: " + e.message;
            return e;
        }
        for (const auto& m : *matchers) {
            params += "&filter=" + http::url_encode(backends::format_selector({m}));
        }
    }
    std::vector<http::Request> out;
    for (const auto& url : m_urls) {
        http::Request r;
        r.method = http::Method::get;
        r.url = url + "/api/v2/alerts?" + params;
        r.headers.push_back({"Accept", "application/json"});
        r.timeout = query.timeout;
        out.push_back(std::move(r));
    }
    return out;
}

Result<AlertSet> Client::decode(const std::vector<Result<http::Response>>& responses) const {
    std::vector<Result<std::vector<Alert>>> peers;
    for (std::size_t i = 0; i < responses.size() && i < m_redacted.size(); ++i) {
        const auto& r = responses[i];
        if (!r) {
            Error e = r.error();
            e.message = fmt::format("alertmanager at {}: {}", m_redacted[i], e.message);
            peers.emplace_back(std::move(e));
        } else if (r->status == 401 || r->status == 403) {
            peers.emplace_back(make_error(Errc::access_denied,
                                          fmt::format("alertmanager at {}: HTTP {} {}; {}", m_redacted[i], r->status,
                                                      r->status == 401 ? "Unauthorized" : "Forbidden",
                                                      http::denied_advice(*r)),
                                          static_cast<int>(r->status)));
        } else {
            peers.push_back(decode_alerts(r->status, r->body, m_redacted[i]));
        }
    }
    if (peers.empty()) {
        return make_error(Errc::config, "no alertmanager URL is configured");
    }
    return merge_peers(peers);
}

Result<AlertSet> Client::alerts(const AlertQuery& query) const {
    auto reqs = requests(query);
    if (!reqs) {
        return std::move(reqs).error();
    }
    return decode(m_http.perform_all(*reqs));
}

} // namespace oncall::alertmanager
