#include "oncall/render/table.h"

#include "oncall/render/sanitize.h"
#include "oncall/render/style.h"

#include <algorithm>
#include <numeric>

namespace oncall::render {

Table& Table::column(std::string header, Align align, bool shrinkable) {
    m_columns.push_back(Column{sanitize(header), align, shrinkable});
    return *this;
}

Table& Table::row(std::vector<Cell> cells) {
    cells.resize(m_columns.size());
    std::vector<std::string> row;
    row.reserve(cells.size());
    for (const auto& cell : cells) {
        if (const auto* painted = std::get_if<Painted>(&cell)) {
            row.push_back(sanitize_keeping_color(painted->text));
        } else {
            row.push_back(sanitize(std::get<std::string>(cell)));
        }
    }
    m_rows.push_back(std::move(row));
    return *this;
}

bool Table::has_header() const {
    return std::any_of(m_columns.begin(), m_columns.end(),
                       [](const Column& c) { return !c.header.empty(); });
}

std::string Table::render(int max_width) const {
    std::string out;
    for (const auto& line : render_lines(max_width)) {
        out += line;
        out += '\n';
    }
    return out;
}

std::vector<std::string> Table::render_lines(int max_width) const {
    if (m_columns.empty()) {
        return {};
    }
    max_width = std::max(0, max_width);
    const bool has_header = this->has_header();
    std::vector<int> widths(m_columns.size(), 0);
    for (std::size_t c = 0; c < m_columns.size(); ++c) {
        if (has_header) {
            widths[c] = display_width(m_columns[c].header);
        }
        for (const auto& r : m_rows) {
            widths[c] = std::max(widths[c], display_width(r[c]));
        }
    }
    const int gaps = static_cast<int>(2 * (m_columns.size() - 1));
    int total = std::accumulate(widths.begin(), widths.end(), 0) + gaps;
    if (total > max_width) {
        // Shrink the shrinkable column (default: the last) down to what fits, at least 8 columns.
        std::size_t target = m_columns.size() - 1;
        for (std::size_t c = 0; c < m_columns.size(); ++c) {
            if (m_columns[c].shrinkable) {
                target = c;
            }
        }
        const int over = total - max_width;
        widths[target] = std::min(widths[target], std::max(8, widths[target] - over));
    }
    std::vector<std::string> out;
    auto emit = [&](const std::vector<std::string>& cells) {
        std::string line;
        for (std::size_t c = 0; c < m_columns.size(); ++c) {
            std::string cell = truncate_to_width(cells[c], widths[c]);
            const int pad = widths[c] - display_width(cell);
            const bool last = c + 1 == m_columns.size();
            if (m_columns[c].align == Align::right) {
                line += std::string(static_cast<std::size_t>(pad), ' ') + cell;
            } else {
                line += cell;
                if (!last) {
                    line += std::string(static_cast<std::size_t>(pad), ' ');
                }
            }
            if (!last) {
                line += "  ";
            }
        }
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        out.push_back(truncate_to_width(line, max_width));
    };
    if (has_header) {
        std::vector<std::string> headers;
        for (const auto& c : m_columns) {
            headers.push_back(c.header);
        }
        emit(headers);
    }
    for (const auto& r : m_rows) {
        emit(r);
    }
    return out;
}

} // namespace oncall::render
