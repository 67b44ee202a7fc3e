// Alertmanager API v2 silences: request bodies, decoding and merging the peers' lists (pure).

#include "alertmanager_internal.h"
#include "oncall/backends/alertmanager.h"
#include "oncall/http/client.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace oncall::alertmanager {
namespace {

using nlohmann::json;

using detail::garbage;
using detail::optional_string;

bool silence_time_field(const json& obj, const char* key, std::optional<TimePoint>& out) {
    std::string text;
    if (!optional_string(obj, key, text)) {
        return false;
    }
    if (text.empty() || text.rfind("0001-01-01", 0) == 0) {
        return true;
    }
    auto t = parse_rfc3339(text);
    if (!t) {
        return false;
    }
    out = *t;
    return true;
}

Result<Silence> decode_one_silence(const json& item, std::string_view url) {
    if (!item.is_object()) {
        return garbage(url, "a silence is not an object");
    }
    Silence s;
    if (!optional_string(item, "id", s.id) || !optional_string(item, "createdBy", s.created_by) ||
        !optional_string(item, "comment", s.comment)) {
        return garbage(url, "a silence's id, createdBy or comment is not a string");
    }
    if (s.id.empty()) {
        return garbage(url, "a silence has no id");
    }
    if (!silence_time_field(item, "startsAt", s.starts_at) ||
        !silence_time_field(item, "endsAt", s.ends_at) ||
        !silence_time_field(item, "updatedAt", s.updated_at)) {
        return garbage(url, "a silence's startsAt, endsAt or updatedAt is not an RFC 3339 time");
    }
    if (const auto st = item.find("status"); st != item.end() && !st->is_null()) {
        if (!st->is_object() || !optional_string(*st, "state", s.state)) {
            return garbage(url, "a silence's status is malformed");
        }
    }
    const auto ms = item.find("matchers");
    if (ms == item.end() || !ms->is_array()) {
        return garbage(url, "a silence has no list of matchers");
    }
    for (const auto& m : *ms) {
        SilenceMatcher sm;
        if (!m.is_object() || !optional_string(m, "name", sm.name) ||
            !optional_string(m, "value", sm.value)) {
            return garbage(url, "a silence matcher is malformed");
        }
        const auto regex = m.find("isRegex");
        if (regex != m.end() && !regex->is_boolean()) {
            return garbage(url, "a silence matcher's isRegex is not a boolean");
        }
        sm.is_regex = regex != m.end() && regex->get<bool>();
        const auto equal = m.find("isEqual");
        if (equal != m.end() && !equal->is_null() && !equal->is_boolean()) {
            return garbage(url, "a silence matcher's isEqual is not a boolean");
        }
        sm.is_equal = equal == m.end() || equal->is_null() || equal->get<bool>();
        s.matchers.push_back(std::move(sm));
    }
    return s;
}

json parse_silence_body(std::string_view body) {
    return json::parse(body.begin(), body.end(), nullptr, false);
}

Error silence_not_json(std::string_view url, std::string_view body) {
    return garbage(url, body.empty() ? std::string("empty body")
                                     : fmt::format("not JSON ({})", http::body_excerpt(body, 120)));
}

} // namespace

std::string silence_body(const NewSilence& silence) {
    json matchers = json::array();
    for (const auto& m : silence.matchers) {
        matchers.push_back({{"name", m.name},
                            {"value", m.value},
                            {"isRegex", m.is_regex},
                            {"isEqual", m.is_equal}});
    }
    const json body = {{"matchers", matchers},
                       {"startsAt", format_rfc3339(silence.starts_at)},
                       {"endsAt", format_rfc3339(silence.ends_at)},
                       {"createdBy", silence.created_by},
                       {"comment", silence.comment}};
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<Silence>> decode_silences(long http_status, std::string_view body,
                                             std::string_view url) {
    if (http_status < 200 || http_status >= 300) {
        return answer_error(http_status, body, url);
    }
    const json doc = parse_silence_body(body);
    if (doc.is_discarded()) {
        return silence_not_json(url, body);
    }
    if (!doc.is_array()) {
        return garbage(url, "the answer is not a list of silences");
    }
    std::vector<Silence> out;
    for (const auto& item : doc) {
        auto s = decode_one_silence(item, url);
        if (!s) {
            return std::move(s).error();
        }
        out.push_back(std::move(*s));
    }
    return out;
}

Result<Silence> decode_silence(long http_status, std::string_view body, std::string_view url) {
    if (http_status == 404) {
        Error e = answer_error(http_status, body, url);
        e.code = Errc::not_found;
        return e;
    }
    if (http_status < 200 || http_status >= 300) {
        return answer_error(http_status, body, url);
    }
    const json doc = parse_silence_body(body);
    if (doc.is_discarded()) {
        return silence_not_json(url, body);
    }
    return decode_one_silence(doc, url);
}

Result<std::string> decode_created_silence(long http_status, std::string_view body,
                                           std::string_view url) {
    if (http_status < 200 || http_status >= 300) {
        return answer_error(http_status, body, url);
    }
    const json doc = parse_silence_body(body);
    if (doc.is_discarded()) {
        return silence_not_json(url, body);
    }
    std::string id;
    if (!doc.is_object() || !optional_string(doc, "silenceID", id) || !is_silence_id(id)) {
        return garbage(url, "the answer to a new silence carries no silenceID");
    }
    return id;
}

Result<SilenceSet> merge_silences(const std::vector<Result<std::vector<Silence>>>& peers) {
    SilenceSet set;
    auto answered = detail::merge_newest(
        peers, [](const Silence& s) { return s.id; }, set.silences, set.errors);
    if (!answered) {
        return std::move(answered).error();
    }
    set.peers_ok = *answered;
    std::sort(set.silences.begin(), set.silences.end(), [](const Silence& a, const Silence& b) {
        const auto ea = a.ends_at.value_or(TimePoint::max());
        const auto eb = b.ends_at.value_or(TimePoint::max());
        return ea != eb ? ea < eb : a.id < b.id;
    });
    return set;
}

bool is_silence_id(std::string_view id) {
    if (id.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < id.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : std::isxdigit(static_cast<unsigned char>(id[i])) == 0) {
            return false;
        }
    }
    return true;
}

} // namespace oncall::alertmanager
