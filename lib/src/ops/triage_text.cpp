// The triage screen and the overview, as text.

#include "oncall/ops/triage.h"

#include "oncall/core/duration.h"
#include "oncall/render/sparkline.h"
#include "oncall/render/style.h"
#include "oncall/render/table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace oncall::ops {
namespace {

using render::Color;
using render::paint;
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
    void line(std::string text = {}) {
        m_out += render::truncate_to_width(text, m_style.width);
        m_out += '\n';
    }
    void heading(std::string_view title) { line(paint(title, Color::bold, m_style)); }
    const std::string& text() const { return m_out; }

private:
    const Style& m_style;
    std::string m_out;
};

Color verdict_color(const std::string& v) {
    return v == "degraded" ? Color::red : v == "healthy" ? Color::green : Color::yellow;
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
std::vector<std::optional<double>> cells_of(const std::vector<Point>& points, TimePoint start, TimePoint end, int width) {
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
        return "rollout fine; metrics were not checked (no Prometheus configured), nor alerts (no Alertmanager "
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

std::string report_text(const TriageReport& r, const Style& style) {
    Screen s(style);
    const int width = std::max(60, style.width);
    const TimePoint start = r.at - r.window;

    // Verdict.
    std::string verdict = paint(fmt::format("{:<9}", r.verdict == "degraded"  ? "DEGRADED"
                                                     : r.verdict == "healthy" ? "HEALTHY"
                                                                              : "UNKNOWN"),
                                verdict_color(r.verdict), style);
    std::string why = r.verdict_reasons.empty() ? healthy_summary(r) : r.verdict_reasons.front();
    if (r.verdict_reasons.size() > 1) {
        why += fmt::format(" (+{} more)", r.verdict_reasons.size() - 1);
    }
    const bool past = r.at < now() - std::chrono::minutes(2);
    s.line(fmt::format("{}  {}  {}{}", paint(r.service, Color::bold, style), verdict, why,
                       past ? fmt::format("  [as of {}]", format_local(r.at)) : std::string()));
    if (r.since) {
        s.line(fmt::format("since     {} ({}): {}", format_local(*r.since), format_age(*r.since, r.at), r.since_reason));
    }
    if (r.suspect) {
        std::string when;
        for (const auto& d : r.deploys) {
            if (d.revision == r.suspect->revision && d.deployed_at) {
                when = fmt::format(", deployed {}", format_age(*d.deployed_at, r.at));
            }
        }
        s.line(fmt::format("suspect   {}: {}", paint(fmt::format("revision {}{}", r.suspect->revision, when), Color::red, style),
                           r.suspect->reason));
    } else if (r.verdict == "degraded") {
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
            s.line("  " + paint(src->skipped ? src->error->message : src->error->message, src->skipped ? Color::gray : Color::yellow, style));
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
                                  quiet > 0 ? fmt::format(", {} silenced or inhibited", quiet) : std::string()));
        }
        if (!failed_line(src)) {
            std::size_t shown = 0;
            for (const auto& a : r.alerts) {
                if (shown == 3) {
                    break;
                }
                ++shown;
                std::string state = a.state == "active"
                                        ? (a.starts_at ? "firing " + format_age(*a.starts_at, r.at) : std::string("firing"))
                                        : (!a.silenced_by.empty() ? "silenced" : !a.inhibited_by.empty() ? "inhibited" : a.state);
                if (state.size() > 8 && state.compare(state.size() - 4, 4, " ago") == 0) {
                    state.resize(state.size() - 4);
                }
                const Color c = a.state != "active" ? Color::gray : alertmanager::severity_rank(a.severity) == 0 ? Color::red : Color::yellow;
                s.line(fmt::format("  {} {} {} {}", paint(pad(a.severity.empty() ? "-" : a.severity, 8), c, style),
                                   pad(a.name, 18), pad(state, 12), a.summary));
            }
            if (r.alerts.size() > shown) {
                s.line(fmt::format("  +{} more (oncall triage {} -o json)", r.alerts.size() - shown, r.service));
            }
        }
    }

    // Signals with sparklines and deploy marks on one time axis.
    s.line();
    const int name_w = 13;
    const int col_w = 9;
    const int spark_w = std::max(10, std::min(60, width - 2 - name_w - 3 * col_w - 4));
    s.heading(fmt::format("{}{}{}{}  {}", pad("SIGNALS", name_w + 2), pad_left("now", col_w), pad_left("baseline", col_w),
                          pad_left("SLO", col_w), fmt::format("last {}", format_duration(r.window))));
    const auto* prom = source("prometheus");
    failed_line(prom);
    for (const auto& sig : r.signals) {
        std::string now_text = value_or_dash(sig.name, sig.now);
        Color c = Color::none;
        if (sig.status == "breach") {
            now_text += "!";
            c = Color::red;
        }
        // Drawn from zero up to the larger of the SLO and the peak, so height means "how close to the SLO".
        double lo = 0.0;
        double hi = sig.threshold.value_or(0.0);
        for (const auto& p : sig.points) {
            if (std::isfinite(p.value)) {
                lo = std::min(lo, p.value);
                hi = std::max(hi, p.value);
            }
        }
        const auto spark = sig.points.empty()
                               ? std::string(static_cast<std::size_t>(spark_w), ' ')
                               : render::sparkline(cells_of(sig.points, start, r.at, spark_w), spark_w, lo, hi);
        s.line(fmt::format("  {}{}{}{}  {}", pad(sig.title, name_w), paint(pad_left(now_text, col_w), c, style),
                           pad_left(value_or_dash(sig.name, sig.baseline), col_w),
                           pad_left(value_or_dash(sig.name, sig.threshold), col_w),
                           sig.status == "breach" ? paint(spark, Color::red, style) : spark));
    }
    {
        std::string axis(static_cast<std::size_t>(spark_w), ' ');
        std::vector<std::string> cells(static_cast<std::size_t>(spark_w), "·");
        bool any = false;
        for (const auto& d : r.deploys) {
            if (!d.deployed_at || *d.deployed_at < start || *d.deployed_at > r.at) {
                continue;
            }
            const double frac = static_cast<double>((*d.deployed_at - start).count()) / static_cast<double>(r.window.count());
            auto c = std::clamp(static_cast<int>(frac * spark_w), 0, spark_w - 1);
            const auto label = std::to_string(d.revision);
            c = std::min(c, spark_w - static_cast<int>(label.size()));
            for (std::size_t k = 0; k < label.size(); ++k) {
                cells[static_cast<std::size_t>(c) + k] = paint(std::string(1, label[k]), d.suspect ? Color::red : Color::cyan, style);
            }
            any = true;
        }
        if (any) {
            std::string marks;
            for (const auto& cell : cells) {
                marks += cell;
            }
            s.line(fmt::format("  {}{}  {}", pad("deploys", name_w), std::string(static_cast<std::size_t>(3 * col_w), ' '), marks));
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
                s.line(fmt::format("  +{} older (oncall history {})", r.deploys.size() - shown, r.service));
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
            s.line(fmt::format("  rev {}  {}  {}  {}  {}", pad(std::to_string(d.revision), 3), pad(short_artifact(d.artifacts), 12),
                               pad(d.deployed_at ? format_age(*d.deployed_at, r.at) : "-", 10), pad(mark_text, 24),
                               d.change_cause));
        }
    }

    // Rollout, drift, logs.
    if (r.rollout || !r.drift.empty() || !r.logs.empty()) {
        s.line();
    }
    if (r.rollout) {
        const auto& ro = *r.rollout;
        const Color c = ro.state == "complete" ? Color::green : ro.state == "failed" ? Color::red : Color::yellow;
        s.line(fmt::format("{}{}: {}/{} updated, {} ready, {} available{}", paint(pad("ROLLOUT", 10), Color::bold, style),
                           paint(ro.state, c, style), ro.updated, ro.desired, ro.ready, ro.available,
                           ro.problems.empty() ? std::string() : "; " + ro.problems.front()));
        if (ro.problems.size() > 1) {
            s.line(fmt::format("          {}{}", ro.problems[1],
                               ro.problems.size() > 2 ? fmt::format(" (+{} more)", ro.problems.size() - 2) : std::string()));
        }
    }
    for (std::size_t i = 0; i < r.drift.size() && i < 2; ++i) {
        const auto& d = r.drift[i];
        const std::string text = d.kind == "mutable_tag"
                                     ? fmt::format("container {} runs the mutable tag {}, not a digest", d.container, d.running)
                                     : fmt::format("pod {} runs {}, its revision names {}", d.pod, short_artifact({d.running}),
                                                   short_artifact({d.expected}));
        s.line(fmt::format("{}{}", paint(pad(i == 0 ? "DRIFT" : "", 10), Color::bold, style), paint(text, Color::yellow, style)));
    }
    for (std::size_t i = 0; i < r.logs.size() && i < 2; ++i) {
        const auto& l = r.logs[i];
        s.line(fmt::format("{}{} {}", paint(pad(i == 0 ? "LOGS" : "", 10), Color::bold, style), pad_left(fmt::format("{}x", l.count), 4),
                           l.pattern));
    }

    // Next commands.
    if (!r.recommendations.empty()) {
        s.line();
        s.heading("NEXT");
        int cmd_w = 0;
        for (const auto& rec : r.recommendations) {
            cmd_w = std::max(cmd_w, render::display_width(rec.command));
        }
        for (const auto& rec : r.recommendations) {
            s.line(fmt::format("  {}  {}", paint(pad(rec.command, cmd_w), Color::bold, style),
                               paint("# " + rec.why, Color::gray, style)));
        }
    }
    std::vector<std::string> notes;
    for (const auto& src : r.sources) {
        for (const auto& w : src.warnings) {
            notes.push_back(fmt::format("{}: {}", src.name, w));
        }
    }
    for (std::size_t i = 0; i < notes.size() && i < 2; ++i) {
        s.line(paint("warning: " + notes[i], Color::yellow, style));
    }
    return s.text();
}

std::string overview_text(const std::vector<OverviewLine>& lines, TimePoint at, const Style& style) {
    render::Table t;
    t.column("SERVICE").column("VERDICT").column("SINCE").column("SUSPECT").column("FINDING", render::Align::left, true);
    for (const auto& l : lines) {
        std::string finding = l.summary;
        if (!l.failed_sources.empty()) {
            std::string names;
            for (const auto& n : l.failed_sources) {
                names += (names.empty() ? "" : ", ") + n;
            }
            finding += " [not checked: " + names + "]";
        }
        t.row({l.service, paint(l.verdict, verdict_color(l.verdict), style), l.since ? format_age(*l.since, at) : "-",
               l.suspect ? fmt::format("revision {}", l.suspect->revision) : "-", finding});
    }
    return t.render(style.width);
}

} // namespace oncall::ops
