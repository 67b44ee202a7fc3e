#pragma once
// Checks a YAML document before yaml-cpp builds a tree of it: aliases that would expand past a
// bound (a "billion laughs" document) and a key given twice in one map are refused with the line.

#include "oncall/core/result.h"

#include <cstddef>
#include <string>

namespace oncall::config {

/// Most nodes a document may hold once its aliases are expanded.
inline constexpr std::size_t k_max_yaml_nodes = 100000;

/// Errc::config "ORIGIN:LINE: ..." when `text` repeats a key within one map or its aliases expand
/// to more than `max_nodes` nodes; syntax errors are left to the loader that follows.
Result<void> check_yaml_document(const std::string& text, const std::string& origin,
                                 std::size_t max_nodes = k_max_yaml_nodes);

} // namespace oncall::config
