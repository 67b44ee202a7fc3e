#include "oncall/render/progress.h"

#include "oncall/core/time.h"
#include "oncall/render/style.h"

#include <ctime>

namespace oncall::render {
namespace {

std::string clock_prefix() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
    return buf;
}

} // namespace

Progress::Progress(std::ostream& out, bool live) : m_out(out), m_live(live) {}

Progress::~Progress() {
    if (m_live && m_open) {
        m_out << "\n";
        m_out.flush();
    }
}

void Progress::update(std::string_view text) {
    if (m_live) {
        m_out << "\r\x1b[2K" << text;
        m_out.flush();
        m_open = true;
        return;
    }
    if (text == m_last) {
        return;
    }
    m_last = std::string(text);
    m_out << clock_prefix() << " " << text << "\n";
    m_out.flush();
}

void Progress::finish(std::string_view text) {
    if (m_live) {
        m_out << "\r\x1b[2K" << text << "\n";
        m_open = false;
    } else {
        m_out << clock_prefix() << " " << text << "\n";
    }
    m_out.flush();
}

} // namespace oncall::render
