// Output of the silence commands and triage's silences block.

#include "oncall/views/silence.h"

#include "oncall/core/duration.h"
#include "oncall/render/sanitize.h"
#include "oncall/render/table.h"

#include <fmt/format.h>

namespace oncall::views {
namespace {

using alertmanager::Silence;
using nlohmann::json;

json silence_time_or_null(const std::optional<TimePoint>& t) {
    return t ? json(format_rfc3339(*t)) : json(nullptr);
}

std::string silence_left_text(const Silence& s, TimePoint ref) {
    if (s.state == "pending" && s.starts_at && *s.starts_at > ref) {
        return "starts in " + format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  *s.starts_at - ref));
    }
    const auto left = ops::silence_time_left(s, ref);
    if (left.count() <= 0) {
        return "ended";
    }
    return format_duration(std::chrono::milliseconds(left.count() * 1000)) + " left";
}

} // namespace

json silence_json(const Silence& s, const std::string& service) {
    return {{"id", s.id},
            {"service", service.empty() ? json(nullptr) : json(service)},
            {"matchers", ops::silence_matchers_json(s.matchers)},
            {"starts_at", silence_time_or_null(s.starts_at)},
            {"ends_at", silence_time_or_null(s.ends_at)},
            {"created_by", s.created_by},
            {"comment", s.comment},
            {"state", s.state}};
}

std::string created_silence_text(const ops::CreatedSilenceResult& r, TimePoint ref) {
    const auto& s = r.silence;
    std::string length = "?";
    if (s.starts_at && s.ends_at) {
        length = format_duration(
            std::chrono::duration_cast<std::chrono::milliseconds>(*s.ends_at - *s.starts_at));
    }
    std::string out = fmt::format("Silenced {} for {} ({}): silence {}\n", r.service, length,
                                  silence_left_text(s, ref), s.id);
    out +=
        fmt::format("  matchers  {}\n", render::sanitize(ops::format_silence_matchers(s.matchers)));
    if (s.ends_at) {
        out += fmt::format("  ends      {}\n", format_local(*s.ends_at));
    }
    out += fmt::format("  by        {}\n", render::sanitize(s.created_by));
    out += fmt::format("  why       {}\n", render::sanitize(s.comment));
    out += fmt::format("  on        {}\n", r.alertmanager);
    out += fmt::format("Lift it early: oncall silence expire {}\n", s.id);
    return out;
}

json silence_list_json(const std::vector<ops::SilenceView>& silences, TimePoint ref) {
    json items = json::array();
    for (const auto& v : silences) {
        auto j = silence_json(v.silence, v.service);
        j["time_left_seconds"] = ops::silence_time_left(v.silence, ref).count();
        items.push_back(std::move(j));
    }
    return {{"silences", items}};
}

std::string silence_list_text(const std::vector<ops::SilenceView>& silences, TimePoint ref,
                              const render::Style& style) {
    if (silences.empty()) {
        return "No active or pending silences.\n";
    }
    render::Table table;
    table.column("ID")
        .column("LEFT")
        .column("BY")
        .column("MATCHERS")
        .column("COMMENT", render::Align::left, true);
    for (const auto& v : silences) {
        const auto& s = v.silence;
        const auto color = s.state == "pending" ? render::Color::gray : render::Color::yellow;
        table.row({s.id, render::Painted{render::paint(silence_left_text(s, ref), color, style)},
                   render::sanitize(s.created_by),
                   render::sanitize(ops::format_silence_matchers(s.matchers)),
                   render::sanitize(s.comment)});
    }
    return table.render(style.width);
}

json expired_silence_json(const ops::ExpiredSilenceResult& r) {
    auto j = silence_json(r.silence, "");
    j.erase("service");
    j["already_expired"] = r.already_expired;
    return j;
}

std::string expired_silence_text(const ops::ExpiredSilenceResult& r) {
    const auto& s = r.silence;
    if (r.already_expired) {
        return fmt::format("Silence {} had already ended{}; nothing to do.\n", s.id,
                           s.ends_at ? " at " + format_rfc3339(*s.ends_at) : std::string());
    }
    return fmt::format("Expired silence {} ({}); its alerts notify again.\n  was  {} by {}: {}\n",
                       s.id, r.alertmanager,
                       render::sanitize(ops::format_silence_matchers(s.matchers)),
                       render::sanitize(s.created_by), render::sanitize(s.comment));
}

json triage_silences_json(const std::vector<Silence>& silences, TimePoint ref) {
    json out = json::array();
    for (const auto& s : silences) {
        out.push_back({{"id", s.id},
                       {"matchers", ops::silence_matchers_json(s.matchers)},
                       {"created_by", s.created_by},
                       {"comment", s.comment},
                       {"starts_at", silence_time_or_null(s.starts_at)},
                       {"ends_at", silence_time_or_null(s.ends_at)},
                       {"state", s.state},
                       {"time_left_seconds", ops::silence_time_left(s, ref).count()}});
    }
    return out;
}

std::vector<std::string> triage_silences_lines(const std::vector<Silence>& silences, TimePoint ref,
                                               const render::Style& style) {
    std::vector<std::string> out;
    if (silences.empty()) {
        return out;
    }
    out.push_back(render::paint(fmt::format("SILENCES  {} active", silences.size()),
                                render::Color::bold, style));
    for (const auto& s : silences) {
        out.push_back(fmt::format("  {}  {}  by {}: {}", s.id,
                                  render::paint(fmt::format("{:<11}", silence_left_text(s, ref)),
                                                render::Color::yellow, style),
                                  render::sanitize(s.created_by), render::sanitize(s.comment)));
    }
    return out;
}

} // namespace oncall::views
