// oncall silence: scoped, capped, audited Alertmanager silences.

#include "oncall/ops/silences.h"

#include "oncall/backends/endpoint.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/backends/kubernetes_access.h"
#include "oncall/backends/matchers.h"
#include "oncall/core/duration.h"
#include "oncall/core/exit_code.h"
#include "oncall/ops/audit.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pwd.h>
#include <set>
#include <unistd.h>

namespace oncall::ops {
namespace {

using alertmanager::Silence;
using alertmanager::SilenceMatcher;

constexpr std::size_t k_max_reason = 1024;
constexpr std::size_t k_max_ticket = 128;
constexpr std::size_t k_max_alert_name = 256;

std::string silence_trimmed(std::string_view text) {
    std::size_t b = 0;
    std::size_t e = text.size();
    while (b < e && std::isspace(static_cast<unsigned char>(text[b])) != 0) {
        ++b;
    }
    while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1])) != 0) {
        --e;
    }
    return std::string(text.substr(b, e - b));
}

bool has_control_chars(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return std::iscntrl(static_cast<unsigned char>(c)) != 0; });
}

// The printable form of untrusted text for an error message.
std::string silence_shown(std::string_view text) {
    std::string out;
    for (const char c : text.substr(0, 80)) {
        const auto u = static_cast<unsigned char>(c);
        out += u < 0x20 || u == 0x7f ? fmt::format("\\x{:02x}", u) : std::string(1, c);
    }
    return out;
}

std::string local_user_name() {
    if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name != nullptr) {
        return pw->pw_name;
    }
    if (const char* u = std::getenv("USER"); u != nullptr && *u != '\0') {
        return u;
    }
    return fmt::format("uid {}", ::getuid());
}

} // namespace

std::string regex_quote(std::string_view text) {
    static const std::string k_meta = R"(\.+*?()|[]{}^$)";
    std::string out;
    for (const char c : text) {
        if (k_meta.find(c) != std::string::npos) {
            out += '\\';
        }
        out += c;
    }
    return out;
}

Result<std::vector<SilenceMatcher>> silence_matchers(const config::Service& service,
                                                     const std::vector<std::string>& alerts) {
    std::vector<SilenceMatcher> out;
    for (const auto& entry : service.alerts) {
        auto parsed = backends::parse_selector(entry);
        if (!parsed) {
            Error e = std::move(parsed).error();
            e.code = Errc::config;
            e.message = fmt::format("services.{}.alerts: {}", service.name, e.message);
            return e;
        }
        for (const auto& m : *parsed) {
            out.push_back(
                {m.label, m.value, m.op == "=~" || m.op == "!~", m.op == "=" || m.op == "=~"});
        }
    }
    if (out.empty()) {
        out.push_back({"service", service.name, false, true});
    }
    std::vector<std::string> names;
    for (const auto& raw : alerts) {
        if (raw.empty()) {
            return make_error(Errc::invalid,
                              "--alert is empty; give an alert name, e.g. --alert HighErrorRatio");
        }
        if (has_control_chars(raw)) {
            return make_error(
                Errc::invalid,
                fmt::format("--alert \"{}\" contains a line break or control character; give "
                            "the alert's name exactly as Alertmanager shows it",
                            silence_shown(raw)));
        }
        if (raw.size() > k_max_alert_name) {
            return make_error(Errc::invalid, fmt::format("--alert is longer than {} characters",
                                                         k_max_alert_name));
        }
        if (std::find(names.begin(), names.end(), raw) == names.end()) {
            names.push_back(raw);
        }
    }
    if (names.size() == 1) {
        out.push_back({"alertname", names.front(), false, true});
    } else if (names.size() > 1) {
        std::string pattern;
        for (const auto& n : names) {
            pattern += (pattern.empty() ? "" : "|") + regex_quote(n);
        }
        out.push_back({"alertname", pattern, true, true});
    }
    return out;
}

std::string silence_comment(const std::string& reason, const std::string& ticket) {
    return ticket.empty() ? reason : fmt::format("{} [ticket {}]", reason, ticket);
}

Result<ValidatedSilence> validate_silence(const config::Context& context,
                                          const config::Service& service,
                                          const SilenceRequest& request) {
    ValidatedSilence v;
    v.reason = silence_trimmed(request.reason);
    if (v.reason.empty()) {
        return make_error(Errc::invalid,
                          "--reason is empty; say why the page may stay quiet, e.g. --reason "
                          "\"rolling checkout back to 1.2.1, errors since 1.2.2\"");
    }
    if (has_control_chars(v.reason)) {
        return make_error(Errc::invalid,
                          "--reason contains a line break or control character; use one line");
    }
    if (v.reason.size() > k_max_reason) {
        return make_error(
            Errc::invalid,
            fmt::format("--reason is longer than {} characters; put details in the ticket",
                        k_max_reason));
    }
    v.ticket = silence_trimmed(request.ticket);
    if (has_control_chars(v.ticket) || v.ticket.size() > k_max_ticket) {
        return make_error(
            Errc::invalid,
            fmt::format("--ticket must be one line of at most {} characters", k_max_ticket));
    }
    const std::string cap = format_duration(
        std::chrono::duration_cast<std::chrono::milliseconds>(context.silences.max));
    if (silence_trimmed(request.duration).rfind('-', 0) == 0) {
        return make_error(
            Errc::invalid,
            fmt::format("--for {}: a silence lasts a positive time, e.g. --for 30m (at most {})",
                        silence_shown(request.duration), cap));
    }
    auto d = parse_duration(silence_trimmed(request.duration));
    if (!d) {
        Error e = std::move(d).error();
        e.message = fmt::format("--for: {} (a silence lasts e.g. 30m, at most {})", e.message, cap);
        return e;
    }
    if (d->count() < 1000) {
        return make_error(Errc::invalid, fmt::format("--for {}: a silence lasts at least 1s",
                                                     silence_shown(request.duration)));
    }
    v.duration = std::chrono::duration_cast<std::chrono::seconds>(*d);
    if (v.duration > context.silences.max) {
        return make_error(
            Errc::invalid,
            fmt::format("--for {} is longer than this context allows for a silence ({}, "
                        "contexts.{}.silences.max); silence for at most {} and extend it later",
                        silence_shown(request.duration), cap, context.name, cap));
    }
    auto matchers = silence_matchers(service, request.alerts);
    if (!matchers) {
        return std::move(matchers).error();
    }
    v.matchers = std::move(*matchers);
    return v;
}

std::string format_silence_matchers(const std::vector<SilenceMatcher>& matchers) {
    std::string out;
    for (const auto& m : matchers) {
        const char* op = m.is_regex ? (m.is_equal ? "=~" : "!~") : (m.is_equal ? "=" : "!=");
        out += (out.empty() ? "" : ", ") + m.name + op + '"' +
               backends::escape_label_value(m.value) + '"';
    }
    return out;
}

bool silence_covers_service(const Silence& silence, const config::Service& service) {
    auto wanted = silence_matchers(service, {});
    if (!wanted) {
        return false;
    }
    for (const auto& w : *wanted) {
        const bool found = std::any_of(
            silence.matchers.begin(), silence.matchers.end(), [&](const SilenceMatcher& m) {
                return m.name == w.name && m.value == w.value && m.is_regex == w.is_regex &&
                       m.is_equal == w.is_equal;
            });
        if (!found) {
            return false;
        }
    }
    return true;
}

std::string silence_author(const config::Context& context,
                           const std::function<void(std::string_view)>& note) {
    const auto say = [&](const std::string& line) {
        if (note) {
            note(line);
        }
    };
    // Without kubernetes settings the default kubeconfig ($KUBECONFIG, ~/.kube/config) is asked.
    auto connection = kube::resolve_connection(context.kubernetes);
    if (!connection) {
        const auto user = local_user_name();
        say(fmt::format(
            "cannot reach Kubernetes to ask who you are ({}); the silence names the local user {}",
            connection.error().message, user));
        return user;
    }
    const kube::KubeClient client(std::move(*connection), {}, std::chrono::seconds(3));
    auto identity = kube::self_subject_review(client);
    if (!identity || identity->username.empty()) {
        const auto user = local_user_name();
        say(fmt::format(
            "Kubernetes did not say who you are ({}); the silence names the local user {}",
            identity ? std::string("no username") : identity.error().message, user));
        return user;
    }
    return identity->username;
}

Result<alertmanager::Client> silence_client(const config::Context& context,
                                            const std::function<void(std::string_view)>& log) {
    if (!context.alertmanager.configured()) {
        return make_error(
            Errc::config,
            fmt::format("context {} has no Alertmanager; set contexts.{}.alertmanager.url (or "
                        "$ONCALL_ALERTMANAGER_URL)",
                        context.name, context.name));
    }
    backends::EndpointDefaults defaults;
    defaults.timeout = std::chrono::seconds(10);
    defaults.connect_timeout = std::chrono::seconds(3);
    defaults.log = log;
    auto endpoint = backends::make_endpoint_client("alertmanager", context.alertmanager, defaults);
    if (!endpoint) {
        return std::move(endpoint).error();
    }
    return alertmanager::Client(std::move(endpoint->client), endpoint->urls);
}

Result<CreatedSilenceResult>
create_silence(const alertmanager::Client& client, const config::Context& context,
               const config::Service& service, const ValidatedSilence& request,
               const std::string& author, const std::string& audit_path, TimePoint start) {
    alertmanager::NewSilence fresh;
    fresh.matchers = request.matchers;
    fresh.starts_at = start;
    fresh.ends_at = start + std::chrono::duration_cast<std::chrono::milliseconds>(request.duration);
    fresh.created_by = author;
    fresh.comment = silence_comment(request.reason, request.ticket);

    nlohmann::json record = {{"user", author},
                             {"context", context.name},
                             {"service", service.name},
                             {"action", "silence"},
                             {"reason", request.reason},
                             {"matchers", silence_matchers_json(fresh.matchers)},
                             {"starts_at", format_rfc3339(fresh.starts_at)},
                             {"ends_at", format_rfc3339(fresh.ends_at)},
                             {"alertmanager", client.redacted_urls()}};
    if (!request.ticket.empty()) {
        record["ticket"] = request.ticket;
    }
    const std::string attempt = new_attempt_id();
    if (auto written = audit_intent(audit_path, record, attempt); !written) {
        Error e = std::move(written).error();
        e.message = "cannot write the audit line, so no silence was created: " + e.message;
        return e;
    }
    auto created = client.create_silence(fresh);
    if (!created) {
        auto failed = record;
        failed["result"] = "failed";
        failed["error"] = created.error().message;
        failed["exit_code"] = static_cast<int>(exit_code_for(created.error()));
        (void)audit_result(audit_path, failed, attempt);
        return std::move(created).error();
    }
    auto done = record;
    done["result"] = "created";
    done["silence"] = created->id;
    done["alertmanager"] = created->url;
    done["exit_code"] = 0;
    if (auto written = audit_result(audit_path, done, attempt); !written) {
        Error e = std::move(written).error();
        e.message = fmt::format(
            "silence {} was created on {}, but its audit line could not be written: {}; "
            "expire it with: oncall silence expire {}",
            created->id, created->url, e.message, created->id);
        return e;
    }
    CreatedSilenceResult out;
    out.service = service.name;
    out.silence.id = created->id;
    out.silence.matchers = fresh.matchers;
    out.silence.starts_at = fresh.starts_at;
    out.silence.ends_at = fresh.ends_at;
    out.silence.created_by = fresh.created_by;
    out.silence.comment = fresh.comment;
    out.silence.state = "active";
    out.alertmanager = created->url;
    for (const auto& s : created->skipped) {
        out.skipped.push_back(s.message);
    }
    return out;
}

Result<std::vector<SilenceView>> list_silences(const alertmanager::Client& client,
                                               const std::optional<config::Service>& service,
                                               std::vector<std::string>* warnings) {
    std::vector<std::string> filter;
    if (service) {
        auto matchers = silence_matchers(*service, {});
        if (!matchers) {
            return std::move(matchers).error();
        }
        // Alertmanager's list filter only takes equality matchers; the rest is checked here.
        for (const auto& m : *matchers) {
            if (!m.is_regex && m.is_equal) {
                filter.push_back(m.name + "=\"" + backends::escape_label_value(m.value) + "\"");
            }
        }
    }
    auto set = client.silences(filter);
    if (!set) {
        return std::move(set).error();
    }
    if (warnings != nullptr) {
        for (const auto& e : set->errors) {
            warnings->push_back(e.message + " (the other peer answered)");
        }
    }
    std::vector<SilenceView> out;
    for (auto& s : set->silences) {
        if (s.state != "active" && s.state != "pending") {
            continue;
        }
        if (service && !silence_covers_service(s, *service)) {
            continue;
        }
        out.push_back({std::move(s), service ? service->name : std::string()});
    }
    return out;
}

Result<ExpiredSilenceResult> expire_silence(const alertmanager::Client& client,
                                            const config::Context& context, const std::string& id,
                                            const std::string& author,
                                            const std::string& audit_path) {
    if (!alertmanager::is_silence_id(id)) {
        return make_error(
            Errc::invalid,
            fmt::format("'{}' is not a silence id (they look like "
                        "5d1d0d4e-6c1f-4c1e-9a57-0f6f3f2a7b10); see oncall silence list",
                        silence_shown(id)));
    }
    auto found = client.silence(id);
    if (!found) {
        Error e = std::move(found).error();
        if (e.code == Errc::not_found) {
            e.code = Errc::invalid;
            e.message = fmt::format(
                "no silence {} in Alertmanager ({}); nothing was expired; see oncall silence list",
                id, e.message);
        }
        return e;
    }
    ExpiredSilenceResult out;
    out.silence = std::move(*found);
    if (out.silence.state == "expired") {
        out.already_expired = true;
        return out;
    }
    nlohmann::json record = {{"user", author},
                             {"context", context.name},
                             {"action", "silence-expire"},
                             {"silence", id},
                             {"reason", out.silence.comment},
                             {"created_by", out.silence.created_by},
                             {"matchers", silence_matchers_json(out.silence.matchers)},
                             {"alertmanager", client.redacted_urls()}};
    if (out.silence.ends_at) {
        record["ends_at"] = format_rfc3339(*out.silence.ends_at);
    }
    const std::string attempt = new_attempt_id();
    if (auto written = audit_intent(audit_path, record, attempt); !written) {
        Error e = std::move(written).error();
        e.message = "cannot write the audit line, so the silence was not expired: " + e.message;
        return e;
    }
    auto expired = client.expire_silence(id);
    if (!expired) {
        auto failed = record;
        failed["result"] = "failed";
        failed["error"] = expired.error().message;
        failed["exit_code"] = static_cast<int>(exit_code_for(expired.error()));
        (void)audit_result(audit_path, failed, attempt);
        return std::move(expired).error();
    }
    out.alertmanager = *expired;
    auto done = record;
    done["result"] = "expired";
    done["alertmanager"] = *expired;
    done["exit_code"] = 0;
    if (auto written = audit_result(audit_path, done, attempt); !written) {
        Error e = std::move(written).error();
        e.message = fmt::format(
            "silence {} was expired, but its audit line could not be written: {}", id, e.message);
        return e;
    }
    out.silence.state = "expired";
    return out;
}

std::chrono::seconds silence_time_left(const Silence& silence, TimePoint ref) {
    if (!silence.ends_at || *silence.ends_at <= ref) {
        return std::chrono::seconds(0);
    }
    return std::chrono::duration_cast<std::chrono::seconds>(*silence.ends_at - ref);
}

nlohmann::json silence_matchers_json(const std::vector<SilenceMatcher>& matchers) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : matchers) {
        out.push_back({{"name", m.name},
                       {"value", m.value},
                       {"is_regex", m.is_regex},
                       {"is_equal", m.is_equal}});
    }
    return out;
}

} // namespace oncall::ops
