#pragma once
// Text that a server or another person wrote (annotations, change-causes, log lines, error texts,
// names from a cluster). It cannot be formatted or streamed as it is: a text view prints it through
// render::sanitize() (see render/sanitize.h), and JSON output gets the exact bytes.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

namespace oncall {

class Untrusted {
public:
    Untrusted() = default;
    /// Wraps text as it arrived (implicit, so that reading a field marks it untrusted).
    Untrusted(std::string text) : m_raw(std::move(text)) {} // NOLINT(google-explicit-constructor)
    Untrusted(const char* text) : m_raw(text) {}            // NOLINT(google-explicit-constructor)

    /// The exact bytes, for JSON, comparisons and further parsing; never for a terminal.
    const std::string& raw() const { return m_raw; }
    bool empty() const { return m_raw.empty(); }
    std::size_t size() const { return m_raw.size(); }

    friend bool operator==(const Untrusted& a, const Untrusted& b) { return a.m_raw == b.m_raw; }

private:
    std::string m_raw;
};

/// JSON keeps the exact text (nlohmann escapes control characters as \uXXXX).
inline void to_json(nlohmann::json& j, const Untrusted& text) {
    j = text.raw();
}

} // namespace oncall
