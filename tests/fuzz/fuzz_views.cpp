// Fuzzes the table and the text views with arbitrary cell bytes at widths from 0 to 1000: no
// crash, no undefined behaviour; a table has exactly one line per row (plus its header), no line
// is wider than asked, and no output byte can drive a terminal (controls, ESC, C1 all escaped).
// Input: two bytes of width, then cells separated by NUL bytes.
#include "fuzz_support.h"
#include "oncall/render/sanitize.h"
#include "oncall/render/style.h"
#include "oncall/render/table.h"
#include "oncall/views/history.h"
#include "oncall/views/status.h"
#include "oncall/views/triage.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

bool terminal_safe(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\n') || c == 0x7F) {
            return false;
        }
        if (c == 0xC2 && i + 1 < text.size()) {
            const auto next = static_cast<unsigned char>(text[i + 1]);
            if (next >= 0x80 && next <= 0x9F) {
                return false;
            }
        }
    }
    return true;
}

std::size_t count_lines(std::string_view text) {
    std::size_t n = 0;
    for (const char c : text) {
        n += c == '\n' ? 1 : 0;
    }
    return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const int width = (data[0] | (data[1] << 8)) % 1001;
    std::vector<std::string> cells;
    std::string cell;
    for (std::size_t i = 2; i < size; ++i) {
        if (data[i] == 0) {
            cells.push_back(cell);
            cell.clear();
        } else {
            cell += static_cast<char>(data[i]);
        }
    }
    cells.push_back(cell);

    if (!terminal_safe(oncall::render::sanitize(cells[0]))) {
        oncall::fuzz::fail("sanitize leaves a terminal control");
    }

    // A table of three columns, the last shrinkable.
    oncall::render::Table table;
    table.column("A")
        .column(cells[0], oncall::render::Align::right)
        .column("C", oncall::render::Align::left, true);
    std::size_t rows = 0;
    for (std::size_t i = 0; i + 2 < cells.size() || (i == 0 && !cells.empty()); i += 3) {
        table.row({cells[i], i + 1 < cells.size() ? cells[i + 1] : "",
                   i + 2 < cells.size() ? cells[i + 2] : ""});
        ++rows;
    }
    const auto lines = table.render_lines(width);
    if (lines.size() != rows + 1) {
        oncall::fuzz::fail("table row count");
    }
    for (const auto& line : lines) {
        if (oncall::render::display_width(line) > width || !terminal_safe(line) ||
            line.find('\n') != std::string::npos) {
            oncall::fuzz::fail("table line too wide, unsafe or split");
        }
    }

    oncall::views::TextOptions options;
    options.style.width = width;
    options.now = oncall::TimePoint(std::chrono::seconds(1795003200));

    // history: one row per revision plus one line per artifact.
    oncall::config::Service service;
    service.name = cells.size() > 1 ? cells[1] : "svc";
    std::vector<oncall::kube::Revision> revisions;
    std::size_t expected = 1;
    for (std::size_t i = 0; i < cells.size() && i < 16; ++i) {
        oncall::kube::Revision r;
        r.number = static_cast<long>(i + 1);
        r.change_cause = cells[i];
        r.current = i == 0;
        r.artifacts = {cells[(i + 1) % cells.size()]};
        r.deployed_at = options.now - std::chrono::minutes(static_cast<int>(i) * 7);
        revisions.push_back(r);
        expected += 2;
    }
    const auto history = oncall::views::history_text(service, revisions, options);
    if (!terminal_safe(history) || count_lines(history) != expected) {
        oncall::fuzz::fail("history unsafe or wrong line count");
    }

    // status: pod problems carry server messages.
    oncall::ops::RolloutStatus status;
    status.message = cells[0];
    for (std::size_t i = 0; i + 1 < cells.size() && i < 8; ++i) {
        status.problems.push_back(
            {cells[i], cells[i + 1], cells[i], cells[i + 1], static_cast<int>(i), i % 2 == 0});
    }
    if (!terminal_safe(oncall::views::status_text(service, status, options)) ||
        !terminal_safe(oncall::views::status_progress_line(service, status))) {
        oncall::fuzz::fail("status unsafe");
    }

    // triage: change-causes, log patterns and reasons.
    oncall::ops::TriageReport report;
    report.service = service.name;
    report.at = options.now;
    report.window = std::chrono::hours(1);
    report.verdict_reasons = {cells[0]};
    for (std::size_t i = 0; i < revisions.size() && i < 6; ++i) {
        oncall::ops::DeployReport d;
        d.revision = static_cast<int>(revisions[i].number);
        d.artifacts = revisions[i].artifacts;
        d.deployed_at = revisions[i].deployed_at;
        d.change_cause = revisions[i].change_cause;
        report.deploys.push_back(d);
        report.logs.push_back({cells[i], static_cast<int>(i), cells[i]});
    }
    const auto screen = oncall::views::triage_text(report, options);
    if (!terminal_safe(screen)) {
        oncall::fuzz::fail("triage unsafe");
    }
    return 0;
}
