#pragma once
// Reads a recorded server response from tests/fixtures/.

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace oncall::test {

/// Contents of tests/fixtures/<relative>; throws when the file is missing.
inline std::string read_fixture(const std::string& relative) {
    const std::string path = std::string(ONCALL_FIXTURES_DIR) + "/" + relative;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("missing fixture " + path);
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace oncall::test
