// Alertmanager API v2 client: one GET per peer, sent at once.

#include "oncall/backends/alertmanager.h"
#include "oncall/backends/matchers.h"

#include <fmt/format.h>

namespace oncall::alertmanager {

Client::Client(http::Client http, std::vector<std::string> urls)
    : m_http(std::move(http)), m_urls(std::move(urls)) {
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
    std::string params =
        fmt::format("active={}&silenced={}&inhibited={}&unprocessed={}", query.active,
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
            peers.emplace_back(
                make_error(Errc::access_denied,
                           fmt::format("alertmanager at {}: HTTP {} {}; {}", m_redacted[i],
                                       r->status, r->status == 401 ? "Unauthorized" : "Forbidden",
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

namespace {

// A peer that did not take part: unreachable, timed out, or failing (5xx). Anything else is an
// answer.
bool peer_absent(const Result<http::Response>& r) {
    if (!r) {
        const auto c = r.error().code;
        return c == Errc::connect || c == Errc::dns || c == Errc::timeout || c == Errc::tls ||
               c == Errc::unavailable || (c == Errc::http_status && r.error().http_status >= 500);
    }
    return r->status >= 500;
}

Error peer_error(const Result<http::Response>& r, std::string_view url) {
    if (!r) {
        Error e = r.error();
        if (e.message.find(url) == std::string::npos) {
            e.message = fmt::format("alertmanager at {}: {}", url, e.message);
        }
        return e;
    }
    return answer_error(r->status, r->body, url);
}

Error all_absent(const std::vector<Error>& errors) {
    Error e = errors.front();
    for (std::size_t i = 1; i < errors.size(); ++i) {
        e.message += "; " + errors[i].message;
    }
    if (e.code == Errc::http_status) {
        e.code = Errc::unavailable;
    }
    return e;
}

std::string filter_params(const std::vector<std::string>& filter, Error* error) {
    std::string params;
    for (const auto& entry : filter) {
        auto matchers = backends::parse_selector(entry);
        if (!matchers) {
            *error = std::move(matchers).error();
            error->message = "silence filter: " + error->message;
            return {};
        }
        for (const auto& m : *matchers) {
            params += (params.empty() ? "?filter=" : "&filter=") +
                      http::url_encode(backends::format_selector({m}));
        }
    }
    return params;
}

} // namespace

Result<CreatedSilence> Client::create_silence(const NewSilence& silence) const {
    CreatedSilence created;
    const std::string body = silence_body(silence);
    for (std::size_t i = 0; i < m_urls.size(); ++i) {
        http::Request r;
        r.method = http::Method::post;
        r.url = m_urls[i] + "/api/v2/silences";
        r.headers.push_back({"Accept", "application/json"});
        r.headers.push_back({"Content-Type", "application/json"});
        r.body = body;
        auto response = m_http.perform(r);
        if (peer_absent(response)) {
            created.skipped.push_back(peer_error(response, m_redacted[i]));
            continue;
        }
        if (!response) {
            return peer_error(response, m_redacted[i]);
        }
        auto id = decode_created_silence(response->status, response->body, m_redacted[i]);
        if (!id) {
            return std::move(id).error();
        }
        created.id = std::move(*id);
        created.url = m_redacted[i];
        return created;
    }
    if (created.skipped.empty()) {
        return make_error(Errc::config, "no alertmanager URL is configured");
    }
    return all_absent(created.skipped);
}

Result<std::vector<http::Request>>
Client::silence_requests(const std::vector<std::string>& filter,
                         std::chrono::milliseconds timeout) const {
    Error error;
    const std::string params = filter_params(filter, &error);
    if (!error.message.empty()) {
        return error;
    }
    std::vector<http::Request> out;
    for (const auto& url : m_urls) {
        http::Request r;
        r.url = url + "/api/v2/silences" + params;
        r.headers.push_back({"Accept", "application/json"});
        r.timeout = timeout;
        out.push_back(std::move(r));
    }
    return out;
}

Result<SilenceSet>
Client::decode_silence_list(const std::vector<Result<http::Response>>& responses) const {
    std::vector<Result<std::vector<Silence>>> peers;
    for (std::size_t i = 0; i < responses.size() && i < m_redacted.size(); ++i) {
        const auto& r = responses[i];
        if (!r) {
            peers.emplace_back(peer_error(r, m_redacted[i]));
        } else {
            peers.push_back(decode_silences(r->status, r->body, m_redacted[i]));
        }
    }
    if (peers.empty()) {
        return make_error(Errc::config, "no alertmanager URL is configured");
    }
    return merge_silences(peers);
}

Result<SilenceSet> Client::silences(const std::vector<std::string>& filter) const {
    auto reqs = silence_requests(filter, std::chrono::milliseconds(0));
    if (!reqs) {
        return std::move(reqs).error();
    }
    return decode_silence_list(m_http.perform_all(*reqs));
}

Result<Silence> Client::silence(const std::string& id) const {
    if (!is_silence_id(id)) {
        return make_error(Errc::invalid,
                          fmt::format("'{}' is not a silence id (Alertmanager's ids look like "
                                      "0a1b2c3d-...; see oncall silence list)",
                                      http::body_excerpt(id, 60)));
    }
    std::vector<http::Request> reqs;
    for (const auto& url : m_urls) {
        http::Request r;
        r.url = url + "/api/v2/silence/" + id;
        r.headers.push_back({"Accept", "application/json"});
        reqs.push_back(std::move(r));
    }
    const auto responses = m_http.perform_all(reqs);
    std::optional<Error> first_error;
    std::optional<Error> not_found;
    for (std::size_t i = 0; i < responses.size(); ++i) {
        const auto& r = responses[i];
        auto s = r ? decode_silence(r->status, r->body, m_redacted[i])
                   : Result<Silence>(peer_error(r, m_redacted[i]));
        if (s) {
            return s;
        }
        if (s.error().code == Errc::not_found) {
            not_found = not_found ? not_found : s.error();
        } else if (!first_error) {
            first_error = s.error();
        }
    }
    if (not_found) {
        return *not_found;
    }
    if (first_error) {
        return *first_error;
    }
    return make_error(Errc::config, "no alertmanager URL is configured");
}

Result<std::string> Client::expire_silence(const std::string& id) const {
    if (!is_silence_id(id)) {
        return make_error(Errc::invalid,
                          fmt::format("'{}' is not a silence id", http::body_excerpt(id, 60)));
    }
    std::vector<Error> skipped;
    for (std::size_t i = 0; i < m_urls.size(); ++i) {
        http::Request r;
        r.method = http::Method::del;
        r.url = m_urls[i] + "/api/v2/silence/" + id;
        r.headers.push_back({"Accept", "application/json"});
        auto response = m_http.perform(r);
        if (peer_absent(response)) {
            skipped.push_back(peer_error(response, m_redacted[i]));
            continue;
        }
        if (!response) {
            return peer_error(response, m_redacted[i]);
        }
        if (response->status < 200 || response->status >= 300) {
            Error e = answer_error(response->status, response->body, m_redacted[i]);
            if (response->status == 404) {
                e.code = Errc::not_found;
            }
            return e;
        }
        return m_redacted[i];
    }
    if (skipped.empty()) {
        return make_error(Errc::config, "no alertmanager URL is configured");
    }
    return all_absent(skipped);
}

Result<AlertSet> Client::alerts(const AlertQuery& query) const {
    auto reqs = requests(query);
    if (!reqs) {
        return std::move(reqs).error();
    }
    return decode(m_http.perform_all(*reqs));
}

} // namespace oncall::alertmanager
