#include "oncall/ops/notify.h"

#include "oncall/http/client.h"

#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace oncall::ops {
namespace {

nlohmann::json null_if_empty(const std::string& s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

std::string single_line_text(std::string text) {
    for (char& c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = ' ';
        }
    }
    return text;
}

Result<std::string> webhook_url(const config::NotifyConfig& notify) {
    std::string url;
    if (!notify.webhook_url_env.empty()) {
        const char* value = std::getenv(notify.webhook_url_env.c_str());
        if (value == nullptr || *value == '\0') {
            return make_error(Errc::config, fmt::format("${} (access.notify.webhook-url-env) is "
                                                        "not set",
                                                        notify.webhook_url_env));
        }
        url = value;
    } else {
        std::ifstream in(notify.webhook_url_file);
        if (!in) {
            return make_error(Errc::config, fmt::format("cannot read the webhook URL file {} "
                                                        "(access.notify.webhook-url-file)",
                                                        notify.webhook_url_file));
        }
        std::stringstream ss;
        ss << in.rdbuf();
        url = ss.str();
    }
    while (!url.empty() && (url.back() == '\n' || url.back() == '\r' || url.back() == ' ')) {
        url.pop_back();
    }
    if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
        return make_error(Errc::config, "the notification webhook URL is not an http(s) URL");
    }
    return url;
}

} // namespace

std::string notification_text(const Notification& n) {
    const std::string ticket = n.ticket.empty() ? "" : fmt::format(" [{}]", n.ticket);
    const std::string until = n.expires_at.empty() ? "" : fmt::format(" until {}", n.expires_at);
    std::string text;
    if (n.event == "break_glass") {
        text = fmt::format("BREAK-GLASS: {} took role {} on {}{} (context {}, grant {}): {}{}",
                           n.requester, n.role, n.service, until, n.context, n.grant, n.reason,
                           ticket);
    } else if (n.event == "access_requested") {
        text = fmt::format("{} asks for role {} on {} (context {}): {}{}; approve with: oncall "
                           "access approve {} --context {}",
                           n.requester, n.role, n.service, n.context, n.reason, ticket, n.grant,
                           n.context);
    } else if (n.event == "access_approved") {
        text = fmt::format("{} approved role {} on {} for {}{} (grant {}): {}{}", n.approver,
                           n.role, n.service, n.requester, until, n.grant, n.reason, ticket);
    } else {
        text = fmt::format("{} denied role {} on {} for {} (grant {}): {}{}", n.approver, n.role,
                           n.service, n.requester, n.grant, n.reason, ticket);
    }
    return single_line_text(text);
}

nlohmann::json notification_body(const Notification& n) {
    return {{"event", n.event},
            {"service", n.service},
            {"role", n.role},
            {"grant", n.grant},
            {"requester", null_if_empty(n.requester)},
            {"approver", null_if_empty(n.approver)},
            {"reason", n.reason},
            {"ticket", null_if_empty(n.ticket)},
            {"expires_at", null_if_empty(n.expires_at)},
            {"context", n.context},
            {"text", notification_text(n)}};
}

std::string NotifyOutcome::audit_value() const {
    if (!attempted) {
        return "not-configured";
    }
    return ok ? "sent" : "failed: " + detail;
}

NotifyOutcome send_notification(const config::NotifyConfig& notify, const Notification& n) {
    NotifyOutcome outcome;
    if (!notify.configured()) {
        outcome.detail = "not configured";
        return outcome;
    }
    outcome.attempted = true;
    auto url = webhook_url(notify);
    if (!url) {
        outcome.detail = url.error().message;
        return outcome;
    }
    http::ClientOptions options;
    options.name = "notification webhook";
    options.connect_timeout = std::chrono::milliseconds(k_notify_timeout);
    options.total_timeout = std::chrono::milliseconds(k_notify_timeout);
    options.retry = http::RetryPolicy::none();
    options.max_body_bytes = 64 * 1024;
    http::Client client(options);
    http::Request request;
    request.method = http::Method::post;
    request.url = *url;
    request.headers.push_back({"Content-Type", "application/json"});
    request.body = notification_body(n).dump();
    request.timeout = std::chrono::milliseconds(k_notify_timeout);
    auto response = client.perform(request);
    if (!response) {
        // The message names the host only: the URL's path often is the webhook's secret.
        outcome.detail = response.error().code == Errc::timeout
                             ? fmt::format("no answer within {}s", k_notify_timeout.count())
                             : fmt::format("not delivered ({})", errc_name(response.error().code));
        return outcome;
    }
    if (!response->is_success()) {
        outcome.detail = fmt::format("the webhook answered HTTP {}", response->status);
        return outcome;
    }
    outcome.ok = true;
    outcome.detail = "sent";
    return outcome;
}

} // namespace oncall::ops
