// Alertmanager API v2: decoding alert lists and merging the peers of an HA pair (pure, no I/O).

#include "oncall/backends/alertmanager.h"

#include "alertmanager_internal.h"
#include "oncall/http/client.h"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace oncall::alertmanager {
namespace {

using nlohmann::json;

using detail::garbage;

std::string excerpt(std::string_view body) {
    return http::body_excerpt(body, 120);
}

using detail::optional_string;

bool get_string_map(const json& obj, const char* key, std::map<std::string, std::string>& out) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        return true;
    }
    if (!it->is_object()) {
        return false;
    }
    for (const auto& [k, v] : it->items()) {
        if (!v.is_string()) {
            return false;
        }
        out.emplace(k, v.get<std::string>());
    }
    return true;
}

bool get_string_list(const json& obj, const char* key, std::vector<std::string>& out) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        return true;
    }
    if (!it->is_array()) {
        return false;
    }
    for (const auto& v : *it) {
        if (!v.is_string()) {
            return false;
        }
        out.push_back(v.get<std::string>());
    }
    return true;
}

bool get_time(const json& obj, const char* key, std::optional<TimePoint>& out) {
    std::string text;
    if (!optional_string(obj, key, text)) {
        return false;
    }
    if (text.empty() || text.rfind("0001-01-01", 0) == 0) {
        return true; // Go's zero time means "not set"
    }
    auto t = parse_rfc3339(text);
    if (!t) {
        return false;
    }
    out = *t;
    return true;
}

Result<Alert> decode_alert(const json& item, std::string_view url) {
    if (!item.is_object()) {
        return garbage(url, "an alert is not an object");
    }
    Alert a;
    if (!get_string_map(item, "labels", a.labels)) {
        return garbage(url, "an alert's labels are not a map of strings");
    }
    if (!get_string_map(item, "annotations", a.annotations)) {
        return garbage(url, "an alert's annotations are not a map of strings");
    }
    if (!optional_string(item, "fingerprint", a.fingerprint) ||
        !optional_string(item, "generatorURL", a.generator_url)) {
        return garbage(url, "an alert's fingerprint or generatorURL is not a string");
    }
    if (!get_time(item, "startsAt", a.starts_at) || !get_time(item, "endsAt", a.ends_at) ||
        !get_time(item, "updatedAt", a.updated_at)) {
        return garbage(url, "an alert's startsAt, endsAt or updatedAt is not an RFC 3339 time");
    }
    if (const auto st = item.find("status"); st != item.end() && !st->is_null()) {
        if (!st->is_object() || !optional_string(*st, "state", a.state) ||
            !get_string_list(*st, "silencedBy", a.silenced_by) ||
            !get_string_list(*st, "inhibitedBy", a.inhibited_by)) {
            return garbage(url, "an alert's status is malformed");
        }
    }
    if (const auto rs = item.find("receivers"); rs != item.end() && !rs->is_null()) {
        if (!rs->is_array()) {
            return garbage(url, "an alert's receivers are not a list");
        }
        for (const auto& r : *rs) {
            std::string name;
            if (!r.is_object() || !optional_string(r, "name", name)) {
                return garbage(url, "an alert's receiver is malformed");
            }
            a.receivers.push_back(std::move(name));
        }
    }
    if (a.fingerprint.empty()) {
        return garbage(url, "an alert has no fingerprint");
    }
    const auto label = [&](const char* k) {
        const auto it = a.labels.find(k);
        return it == a.labels.end() ? std::string() : it->second;
    };
    a.name = label("alertname");
    a.severity = label("severity");
    if (const auto s = a.annotations.find("summary"); s != a.annotations.end()) {
        a.summary = s->second;
    } else if (const auto d = a.annotations.find("description"); d != a.annotations.end()) {
        a.summary = d->second;
    }
    if (a.state.empty()) {
        a.state = "active";
    }
    return a;
}

} // namespace

int severity_rank(std::string_view severity) {
    if (severity == "critical" || severity == "page") {
        return 0;
    }
    if (severity == "error" || severity == "high") {
        return 1;
    }
    if (severity == "warning" || severity == "ticket" || severity == "medium") {
        return 2;
    }
    if (severity == "info" || severity == "low") {
        return 3;
    }
    return 4;
}

Error answer_error(long http_status, std::string_view body, std::string_view url) {
    const json doc = json::parse(body.begin(), body.end(), nullptr, false);
    // Alertmanager answers errors with a bare JSON string ("bad matcher format: ...").
    std::string message =
        !doc.is_discarded() && doc.is_string() ? doc.get<std::string>() : excerpt(body);
    if (!doc.is_discarded() && doc.is_object() && doc.contains("message") &&
        doc["message"].is_string()) {
        message = doc["message"].get<std::string>();
    }
    message = http::body_excerpt(message, 300);
    const Errc code = http_status == 400                           ? Errc::invalid
                      : (http_status == 401 || http_status == 403) ? Errc::access_denied
                                                                   : Errc::http_status;
    return make_error(code,
                      fmt::format("alertmanager at {}: HTTP {}: {}", url, http_status,
                                  message.empty() ? std::string("empty body") : message),
                      static_cast<int>(http_status), http_status >= 500 || http_status == 429);
}

Result<std::vector<Alert>> decode_alerts(long http_status, std::string_view body,
                                         std::string_view url) {
    const json doc = json::parse(body.begin(), body.end(), nullptr, false);
    if (http_status < 200 || http_status >= 300) {
        return answer_error(http_status, body, url);
    }
    if (doc.is_discarded()) {
        return garbage(url, body.empty() ? std::string("empty body")
                                         : fmt::format("not JSON ({})", excerpt(body)));
    }
    if (!doc.is_array()) {
        return garbage(url, "the answer is not a list of alerts");
    }
    std::vector<Alert> out;
    out.reserve(doc.size());
    for (const auto& item : doc) {
        auto a = decode_alert(item, url);
        if (!a) {
            return std::move(a).error();
        }
        out.push_back(std::move(*a));
    }
    return out;
}

Result<AlertSet> merge_peers(const std::vector<Result<std::vector<Alert>>>& peers) {
    AlertSet set;
    auto answered = detail::merge_newest(
        peers, [](const Alert& a) { return a.fingerprint; }, set.alerts, set.errors);
    if (!answered) {
        return std::move(answered).error();
    }
    set.peers_ok = *answered;
    std::stable_sort(set.alerts.begin(), set.alerts.end(), [](const Alert& a, const Alert& b) {
        const int ra = severity_rank(a.severity);
        const int rb = severity_rank(b.severity);
        if (ra != rb) {
            return ra < rb;
        }
        if ((a.state == "active") != (b.state == "active")) {
            return a.state == "active";
        }
        if (a.starts_at != b.starts_at) {
            return a.starts_at.value_or(TimePoint::max()) < b.starts_at.value_or(TimePoint::max());
        }
        return a.fingerprint < b.fingerprint;
    });
    return set;
}

} // namespace oncall::alertmanager
