#pragma once
// Golden files: a view's output compared byte for byte with tests/golden/<name>. A view that
// changes fails until its golden file is rewritten on purpose: scripts/update-goldens (which runs
// the golden tests with ONCALL_UPDATE_GOLDENS=1), then review the diff like any other change.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace oncall::test {

inline bool updating_goldens() {
    const char* flag = std::getenv("ONCALL_UPDATE_GOLDENS");
    return flag != nullptr && std::string(flag) == "1";
}

/// Checks `actual` against tests/golden/<name> (or rewrites the file when updating goldens).
inline void check_golden(const std::string& name, const std::string& actual) {
    const std::string path = std::string(ONCALL_GOLDEN_DIR) + "/" + name;
    if (updating_goldens()) {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << actual;
        WARN("rewrote " << path);
        return;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        FAIL("missing golden file " << path << "; create it with scripts/update-goldens");
    }
    std::ostringstream expected;
    expected << in.rdbuf();
    INFO("golden file " << path
                        << " differs; if the change is intended, run scripts/update-goldens");
    CHECK(actual == expected.str());
}

} // namespace oncall::test
