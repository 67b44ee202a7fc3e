#pragma once
// A progress line for long waits: rewritten in place on a terminal, plain timestamped lines
// otherwise.

#include <ostream>
#include <string>
#include <string_view>

namespace oncall::render {

class Progress {
public:
    /// `live` rewrites one line in place (terminal); otherwise each distinct update is a new line
    /// prefixed with the local time.
    Progress(std::ostream& out, bool live);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    /// Shows the current state; repeated identical updates print nothing in non-live mode.
    void update(std::string_view text);
    /// Ends the progress display with a final line.
    void finish(std::string_view text);

private:
    std::ostream& m_out;
    bool m_live;
    bool m_open = false;
    std::string m_last;
};

} // namespace oncall::render
