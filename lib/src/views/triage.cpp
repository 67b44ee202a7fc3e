// The triage screen and the overview, as text and JSON.

#include "oncall/views/triage.h"

#include "oncall/core/duration.h"
#include "oncall/core/live.h"
#include "oncall/render/sanitize.h"
#include "oncall/render/sparkline.h"
#include "oncall/render/style.h"
#include "oncall/render/table.h"
#include "oncall/views/silence.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace oncall::views {
namespace {

using namespace oncall::ops;
using render::Color;
using render::paint;
using render::sanitize;
using render::Style;

std::string pad(std::string_view text, int width) {
    const int w = render::display_width(text);
    return std::string(text) + std::string(static_cast<std::size_t>(std::max(0, width - w)), ' ');
}

std::string pad_left(std::string_view text, int width) {
    const int w = render::display_width(text);
    return std::string(static_cast<std::size_t>(std::max(0, width - w)), ' ') + std::string(text);
}

class Screen {
public:
    explicit Screen(const Style& style) : m_style(style) {}
    // Every line is sanitised (colours kept) and cut to the width: one line, whatever it holds.
    void line(std::string_view text = {}) {
        m_out += render::truncate_to_width(render::sanitize_keeping_color(text), m_style.width);
        m_out += '\n';
    }
    void heading(std::string_view title) { line(paint(title, Color::bold, m_style)); }
    const std::string& text() const { return m_out; }

private:
    const Style& m_style;
    std::string m_out;
};

Color verdict_color(Verdict v) {
    return v == Verdict::degraded  ? Color::red
           : v == Verdict::healthy ? Color::green
                                   : Color::yellow;
}

std::string short_artifact(const std::vector<std::string>& artifacts) {
    if (artifacts.empty()) {
        return "-";
    }
    const auto& a = artifacts.front();
    if (const auto at = a.find("@sha256:"); at != std::string::npos) {
        return a.substr(at + 8, 12);
    }
    const auto slash = a.rfind('/');
    return slash == std::string::npos ? a : a.substr(slash + 1);
}

// The series bucketed into `width` cells over [start, end).
std::vector<std::optional<double>> cells_of(const std::vector<Point>& points, TimePoint start,
                                            TimePoint end, int width) {
    std::vector<double> sum(static_cast<std::size_t>(width), 0.0);
    std::vector<int> n(static_cast<std::size_t>(width), 0);
    const double span = static_cast<double>((end - start).count());
    for (const auto& p : points) {
        if (p.time < start || p.time > end || !std::isfinite(p.value) || span <= 0) {
            continue;
        }
        auto c = static_cast<int>(static_cast<double>((p.time - start).count()) / span * width);
        c = std::clamp(c, 0, width - 1);
        sum[static_cast<std::size_t>(c)] += p.value;
        ++n[static_cast<std::size_t>(c)];
    }
    std::vector<std::optional<double>> out(static_cast<std::size_t>(width));
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (n[i] > 0) {
            out[i] = sum[i] / n[i];
        }
    }
    return out;
}

// What a verdict without reasons rests on: sources that were not configured were not checked.
std::string healthy_summary(const TriageReport& r) {
    const auto skipped = [&](const char* name) {
        return std::any_of(r.sources.begin(), r.sources.end(),
                           [&](const SourceStatus& s) { return s.name == name && s.skipped; });
    };
    const bool no_metrics = skipped("prometheus");
    const bool no_alerts = skipped("alertmanager");
    if (no_metrics && no_alerts) {
        return "rollout fine; metrics were not checked (no Prometheus configured), nor alerts (no "
               "Alertmanager "
               "configured)";
    }
    if (no_metrics) {
        return "no alert firing; metrics were not checked (no Prometheus configured)";
    }
    if (no_alerts) {
        return "all signals within their SLO; alerts were not checked (no Alertmanager configured)";
    }
    return "all signals within their SLO, no alert firing";
}

std::string value_or_dash(const std::string& name, const std::optional<double>& v) {
    return v ? format_signal_value(name, *v) : "-";
}

} // namespace

std::string triage_text(const TriageReport& r, const TextOptions& options) {
    const Style& style = options.style;
    Screen s(style);
    const int width = std::max(60, style.width);
    const TimePoint start = r.at - r.window;

    // Verdict.
    std::string verdict = paint(fmt::format("{:<9}", r.verdict == Verdict::degraded  ? "DEGRADED"
                                                     : r.verdict == Verdict::healthy ? "HEALTHY"
                                                                                     : "UNKNOWN"),
                                verdict_color(r.verdict), style);
    std::string why =
        r.verdict_reasons.empty() ? healthy_summary(r) : sanitize(r.verdict_reasons.front());
    if (r.verdict_reasons.size() > 1) {
        why += fmt::format(" (+{} more)", r.verdict_reasons.size() - 1);
    }
    const bool past = r.at < options.now - k_live_within;
    s.line(fmt::format("{}  {}  {}{}", paint(sanitize(r.service), Color::bold, style), verdict, why,
                       past ? fmt::format("  [as of {}]", format_local(r.at)) : std::string()));
    if (r.since) {
        s.line(fmt::format("since     {} ({}): {}", format_local(*r.since),
                           format_age(*r.since, r.at), sanitize(r.since_reason)));
    }
    if (r.suspect) {
        std::string when;
        for (const auto& d : r.deploys) {
            if (d.revision == r.suspect->revision && d.deployed_at) {
                when = fmt::format(", deployed {}", format_age(*d.deployed_at, r.at));
            }
        }
        s.line(fmt::format(
            "suspect   {}: {}",
            paint(fmt::format("revision {}{}", r.suspect->revision, when), Color::red, style),
            sanitize(r.suspect->reason)));
    } else if (r.verdict == Verdict::degraded) {
        s.line("suspect   none: no deploy in the window explains the change");
    }

    const auto source = [&](const std::string& name) -> const SourceStatus* {
        for (const auto& src : r.sources) {
            if (src.name == name) {
                return &src;
            }
        }
        return nullptr;
    };
    const auto failed_line = [&](const SourceStatus* src) {
        if (src != nullptr && !src->ok && src->error) {
            s.line("  " + paint(sanitize(src->error->message),
                                src->skipped ? Color::gray : Color::yellow, style));
            return true;
        }
        return false;
    };

    // Alerts.
    s.line();
    {
        int firing = 0;
        for (const auto& a : r.alerts) {
            firing += a.state == "active" ? 1 : 0;
        }
        const auto* src = source("alertmanager");
        if (src != nullptr && !src->ok) {
            s.heading("ALERTS");
        } else {
            const auto quiet = r.alerts.size() - static_cast<std::size_t>(firing);
            s.heading(fmt::format("ALERTS    {} firing{}", firing,
                                  quiet > 0 ? fmt::format(", {} silenced or inhibited", quiet)
                                            : std::string()));
        }
        if (!failed_line(src)) {
            std::size_t shown = 0;
            for (const auto& a : r.alerts) {
                if (shown == 3) {
                    break;
                }
                ++shown;
                std::string state = a.state == "active"
                                        ? (a.starts_at ? "firing " + format_age(*a.starts_at, r.at)
                                                       : std::string("firing"))
                                        : (!a.silenced_by.empty()    ? "silenced"
                                           : !a.inhibited_by.empty() ? "inhibited"
                                                                     : a.state);
                if (state.size() > 8 && state.compare(state.size() - 4, 4, " ago") == 0) {
                    state.resize(state.size() - 4);
                }
                const Color c = a.state != "active"                            ? Color::gray
                                : alertmanager::severity_rank(a.severity) == 0 ? Color::red
                                                                               : Color::yellow;
                s.line(fmt::format(
                    "  {} {} {} {}",
                    paint(pad(a.severity.empty() ? "-" : sanitize(a.severity), 8), c, style),
                    pad(sanitize(a.name), 18), pad(sanitize(state), 12), sanitize(a.summary)));
            }
            if (r.alerts.size() > shown) {
                s.line(fmt::format("  +{} more (oncall triage {} -o json)", r.alerts.size() - shown,
                                   sanitize(r.service)));
            }
        }
    }
    for (const auto& line : triage_silences_lines(r.silences, r.at, style)) {
        s.line(line);
    }

    // Signals with sparklines and deploy marks on one time axis.
    s.line();
    const int name_w = 13;
    const int col_w = 9;
    const int spark_w = std::max(10, std::min(60, width - 2 - name_w - 3 * col_w - 4));
    s.heading(fmt::format("{}{}{}{}  {}", pad("SIGNALS", name_w + 2), pad_left("now", col_w),
                          pad_left("baseline", col_w), pad_left("SLO", col_w),
                          fmt::format("last {}", format_duration(r.window))));
    const auto* prom = source("prometheus");
    failed_line(prom);
    for (const auto& sig : r.signals) {
        std::string now_text = value_or_dash(sig.name, sig.now);
        Color c = Color::none;
        if (sig.status == SignalStatus::breach) {
            now_text += "!";
            c = Color::red;
        }
        // Drawn from zero up to the larger of the SLO and the peak, so height means "how close to
        // the SLO".
        double lo = 0.0;
        double hi = sig.threshold.value_or(0.0);
        for (const auto& p : sig.points) {
            if (std::isfinite(p.value)) {
                lo = std::min(lo, p.value);
                hi = std::max(hi, p.value);
            }
        }
        const auto spark =
            sig.points.empty()
                ? std::string(static_cast<std::size_t>(spark_w), ' ')
                : render::sparkline(cells_of(sig.points, start, r.at, spark_w), spark_w, lo, hi);
        s.line(fmt::format("  {}{}{}{}  {}", pad(sanitize(sig.title), name_w),
                           paint(pad_left(now_text, col_w), c, style),
                           pad_left(value_or_dash(sig.name, sig.baseline), col_w),
                           pad_left(value_or_dash(sig.name, sig.threshold), col_w),
                           sig.status == SignalStatus::breach ? paint(spark, Color::red, style)
                                                              : spark));
    }
    {
        std::string axis(static_cast<std::size_t>(spark_w), ' ');
        std::vector<std::string> cells(static_cast<std::size_t>(spark_w), "·");
        bool any = false;
        for (const auto& d : r.deploys) {
            if (!d.deployed_at || *d.deployed_at < start || *d.deployed_at > r.at) {
                continue;
            }
            const double frac = static_cast<double>((*d.deployed_at - start).count()) /
                                static_cast<double>(r.window.count());
            auto c = std::clamp(static_cast<int>(frac * spark_w), 0, spark_w - 1);
            const auto label = std::to_string(d.revision);
            c = std::min(c, spark_w - static_cast<int>(label.size()));
            for (std::size_t k = 0; k < label.size(); ++k) {
                cells[static_cast<std::size_t>(c) + k] =
                    paint(std::string(1, label[k]), d.suspect ? Color::red : Color::cyan, style);
            }
            any = true;
        }
        if (any) {
            std::string marks;
            for (const auto& cell : cells) {
                marks += cell;
            }
            s.line(fmt::format("  {}{}  {}", pad("deploys", name_w),
                               std::string(static_cast<std::size_t>(3 * col_w), ' '), marks));
        }
    }

    // Deploy timeline.
    s.line();
    s.heading("DEPLOYS");
    const auto* kube_src = source("kubernetes");
    if (!failed_line(kube_src)) {
        std::size_t shown = 0;
        for (const auto& d : r.deploys) {
            if (shown == 4) {
                s.line(fmt::format("  +{} older (oncall history {})", r.deploys.size() - shown,
                                   sanitize(r.service)));
                break;
            }
            ++shown;
            std::vector<std::string> marks;
            if (d.current) {
                marks.emplace_back("current");
            }
            if (d.suspect) {
                marks.push_back(paint("suspect", Color::red, style));
            }
            if (d.target) {
                marks.push_back(paint("rollback target", Color::green, style));
            }
            std::string mark_text;
            for (const auto& m : marks) {
                mark_text += (mark_text.empty() ? "" : ", ") + m;
            }
            s.line(fmt::format("  rev {}  {}  {}  {}  {}", pad(std::to_string(d.revision), 3),
                               pad(sanitize(short_artifact(d.artifacts)), 12),
                               pad(d.deployed_at ? format_age(*d.deployed_at, r.at) : "-", 10),
                               pad(mark_text, 24), sanitize(d.change_cause)));
        }
    }

    // Rollout, drift, logs.
    if (r.rollout || !r.drift.empty() || !r.logs.empty()) {
        s.line();
    }
    if (r.rollout) {
        const auto& ro = *r.rollout;
        const Color c = ro.state == RolloutState::complete ? Color::green
                        : ro.state == RolloutState::failed ? Color::red
                                                           : Color::yellow;
        s.line(fmt::format("{}{}: {}/{} updated, {} ready, {} available{}",
                           paint(pad("ROLLOUT", 10), Color::bold, style),
                           paint(rollout_state_name(ro.state), c, style), ro.updated, ro.desired,
                           ro.ready, ro.available,
                           ro.problems.empty() ? std::string()
                                               : "; " + sanitize(ro.problems.front())));
        if (ro.problems.size() > 1) {
            s.line(fmt::format("          {}{}", sanitize(ro.problems[1]),
                               ro.problems.size() > 2
                                   ? fmt::format(" (+{} more)", ro.problems.size() - 2)
                                   : std::string()));
        }
    }
    for (std::size_t i = 0; i < r.drift.size() && i < 2; ++i) {
        const auto& d = r.drift[i];
        const std::string text =
            d.kind == DriftKind::mutable_tag
                ? fmt::format("container {} runs the mutable tag {}, not a digest",
                              sanitize(d.container), sanitize(d.running))
                : fmt::format("pod {} runs {}, its revision names {}", sanitize(d.pod),
                              sanitize(short_artifact({d.running})),
                              sanitize(short_artifact({d.expected})));
        s.line(fmt::format("{}{}", paint(pad(i == 0 ? "DRIFT" : "", 10), Color::bold, style),
                           paint(text, Color::yellow, style)));
    }
    for (std::size_t i = 0; i < r.logs.size() && i < 2; ++i) {
        const auto& l = r.logs[i];
        s.line(fmt::format("{}{} {}", paint(pad(i == 0 ? "LOGS" : "", 10), Color::bold, style),
                           pad_left(fmt::format("{}x", l.count), 4), sanitize(l.pattern)));
    }

    // Next commands.
    if (!r.recommendations.empty()) {
        s.line();
        s.heading("NEXT");
        int cmd_w = 0;
        for (const auto& rec : r.recommendations) {
            cmd_w = std::max(cmd_w, render::display_width(sanitize(rec.command)));
        }
        for (const auto& rec : r.recommendations) {
            s.line(fmt::format("  {}  {}",
                               paint(pad(sanitize(rec.command), cmd_w), Color::bold, style),
                               paint("# " + sanitize(rec.why), Color::gray, style)));
        }
    }
    std::vector<std::string> notes;
    for (const auto& src : r.sources) {
        for (const auto& w : src.warnings) {
            notes.push_back(fmt::format("{}: {}", src.name, sanitize(w)));
        }
    }
    for (std::size_t i = 0; i < notes.size() && i < 2; ++i) {
        s.line(paint("warning: " + notes[i], Color::yellow, style));
    }
    return s.text();
}

std::string overview_text(const Overview& overview, const TextOptions& options) {
    const Style& style = options.style;
    render::Table t;
    t.column("SERVICE").column("VERDICT").column("SINCE").column("SUSPECT").column(
        "FINDING", render::Align::left, true);
    for (const auto& l : overview.lines) {
        std::string finding = sanitize(l.summary);
        if (!l.failed_sources.empty()) {
            std::string names;
            for (const auto& n : l.failed_sources) {
                names += (names.empty() ? "" : ", ") + n;
            }
            finding += " [not checked: " + names + "]";
        }
        t.row({sanitize(l.service),
               render::Painted{paint(verdict_name(l.verdict), verdict_color(l.verdict), style)},
               l.since ? format_age(*l.since, overview.at) : std::string("-"),
               l.suspect ? fmt::format("revision {}", l.suspect->revision) : std::string("-"),
               finding});
    }
    return t.render(style.width);
}

nlohmann::json overview_json(const Overview& overview) {
    using nlohmann::json;
    json j;
    j["context"] = overview.context;
    j["at"] = format_rfc3339(overview.at);
    j["services"] = json::array();
    for (const auto& l : overview.lines) {
        j["services"].push_back(
            {{"service", l.service},
             {"verdict", verdict_name(l.verdict)},
             {"exit_code", static_cast<int>(l.exit_code)},
             {"since", l.since ? json(format_rfc3339(*l.since)) : json(nullptr)},
             {"suspect",
              l.suspect ? json{{"revision", l.suspect->revision}, {"reason", l.suspect->reason}}
                        : json(nullptr)},
             {"summary", l.summary},
             {"rollout", l.rollout ? json(ops::rollout_state_name(*l.rollout)) : json(nullptr)},
             {"rollout_reason",
              l.rollout_reason.empty() ? json(nullptr) : json(l.rollout_reason.raw())},
             {"failed_sources", l.failed_sources}});
    }
    j["errors"] = overview.listing_error ? json::array({*overview.listing_error}) : json::array();
    j["exit_code"] = static_cast<int>(overview.exit_code);
    return j;
}

nlohmann::json triage_json(const TriageReport& r) {
    using nlohmann::json;
    const auto opt_time = [](const std::optional<TimePoint>& t) {
        return t ? json(format_rfc3339(*t)) : json(nullptr);
    };
    const auto opt_num = [](const std::optional<double>& v) {
        return v && std::isfinite(*v) ? json(*v) : json(nullptr);
    };
    json j;
    j["service"] = r.service;
    j["context"] = r.context;
    j["verdict"] = verdict_name(r.verdict);
    j["verdict_reasons"] = r.verdict_reasons;
    j["at"] = format_rfc3339(r.at);
    j["window"] = format_duration(r.window);
    j["since"] = opt_time(r.since);
    j["since_reason"] = r.since ? json(r.since_reason) : json(nullptr);
    j["alerts"] = json::array();
    for (const auto& a : r.alerts) {
        j["alerts"].push_back({{"name", a.name},
                               {"severity", a.severity},
                               {"state", a.state},
                               {"starts_at", opt_time(a.starts_at)},
                               {"summary", a.summary},
                               {"fingerprint", a.fingerprint},
                               {"labels", a.labels},
                               {"silenced_by", a.silenced_by},
                               {"inhibited_by", a.inhibited_by}});
    }
    j["signals"] = json::array();
    for (const auto& s : r.signals) {
        json points = json::array();
        for (const auto& p : s.points) {
            points.push_back({p.time.time_since_epoch().count() / 1000.0,
                              std::isfinite(p.value) ? json(p.value) : json(nullptr)});
        }
        j["signals"].push_back({{"name", s.name},
                                {"title", s.title},
                                {"now", opt_num(s.now)},
                                {"baseline", opt_num(s.baseline)},
                                {"threshold", opt_num(s.threshold)},
                                {"status", signal_status_name(s.status)},
                                {"series", points}});
    }
    j["deploys"] = json::array();
    for (const auto& d : r.deploys) {
        j["deploys"].push_back({{"revision", d.revision},
                                {"artifacts", d.artifacts},
                                {"deployed_at", opt_time(d.deployed_at)},
                                {"change_cause", d.change_cause},
                                {"current", d.current},
                                {"suspect", d.suspect}});
    }
    j["suspect"] = r.suspect
                       ? json{{"revision", r.suspect->revision}, {"reason", r.suspect->reason}}
                       : json(nullptr);
    j["rollback_target"] = r.rollback_target ? json{{"revision", r.rollback_target->revision},
                                                    {"reason", r.rollback_target->reason}}
                                             : json(nullptr);
    if (r.rollout) {
        j["rollout"] = {{"desired", r.rollout->desired},
                        {"updated", r.rollout->updated},
                        {"ready", r.rollout->ready},
                        {"available", r.rollout->available},
                        {"state", rollout_state_name(r.rollout->state)},
                        {"problems", r.rollout->problems}};
    } else {
        j["rollout"] = nullptr;
    }
    j["recommendations"] = json::array();
    for (const auto& rec : r.recommendations) {
        j["recommendations"].push_back({{"command", rec.command}, {"why", rec.why}});
    }
    j["logs"] = json::array();
    for (const auto& l : r.logs) {
        j["logs"].push_back({{"pattern", l.pattern}, {"count", l.count}, {"example", l.example}});
    }
    j["drift"] = json::array();
    for (const auto& d : r.drift) {
        j["drift"].push_back({{"kind", drift_kind_name(d.kind)},
                              {"pod", d.pod.empty() ? json(nullptr) : json(d.pod)},
                              {"container", d.container},
                              {"expected", d.expected},
                              {"running", d.running}});
    }
    j["silences"] = triage_silences_json(r.silences, r.at);
    j["sources"] = json::array();
    for (const auto& s : r.sources) {
        j["sources"].push_back({{"name", s.name},
                                {"url", s.url},
                                {"ok", s.ok},
                                {"skipped", s.skipped},
                                {"elapsed_ms", s.elapsed.count()},
                                {"requests", s.requests},
                                {"error", s.error ? json(s.error->message) : json(nullptr)},
                                {"warnings", s.warnings}});
    }
    j["exit_code"] = static_cast<int>(r.exit_code);
    return j;
}

} // namespace oncall::views
