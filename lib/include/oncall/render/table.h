#pragma once
// Aligned text tables that fit the terminal width.

#include <string>
#include <variant>
#include <vector>

namespace oncall::render {

enum class Align { left, right };

/// A cell the view painted itself with paint() around its own words: its colour sequences are
/// kept. Any other cell goes through sanitize(), colour sequences included, so text from a server
/// or another person can neither style itself nor hide itself (ESC [8m) in a table.
struct Painted {
    std::string text;
};

/// A table cell: plain text (always escaped) or a cell painted by the view.
using Cell = std::variant<std::string, Painted>;

/// Columns are sized to their content in terminal columns; when the table is wider than the limit,
/// the column marked `shrinkable` (the last one by default) is truncated with "…". Every cell is
/// one line: a line break or a control character in a cell is shown escaped, so a table has
/// exactly one line per row (plus the header).
class Table {
public:
    /// Adds a column; a header may be empty for no header row at all.
    Table& column(std::string header, Align align = Align::left, bool shrinkable = false);
    /// Adds a row; missing cells are empty, extra cells are ignored.
    Table& row(std::vector<Cell> cells);
    /// Renders with two spaces between columns, each line at most max_width columns.
    std::string render(int max_width) const;
    /// The lines of render() without their newlines: the header (when any), then one per row.
    std::vector<std::string> render_lines(int max_width) const;
    bool has_header() const;
    bool empty() const { return m_rows.empty(); }

private:
    struct Column {
        std::string header;
        Align align;
        bool shrinkable;
    };
    std::vector<Column> m_columns;
    std::vector<std::vector<std::string>> m_rows;
};

} // namespace oncall::render
