#pragma once
// Running a docker credential helper: a program found on PATH, fed on stdin, read from stdout, with
// a deadline and a cap on what it may print. Private to the registry backend.

#include "oncall/core/result.h"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace oncall::registry::detail {

struct HelperOutput {
    int exit_code = 0; // the exit status, or 128 + signal
    std::string out;   // stdout (at most the cap)
    std::string err;   // stderr (at most the cap)
};

/// Runs `argv` (argv[0] searched in PATH) with `input` on stdin and nothing inherited but the
/// environment. Errc::not_found when the program is not on PATH, Errc::timeout when it has not
/// finished within `timeout` (it is killed), Errc::too_large when it prints more than `max_output`
/// bytes on either stream (killed too).
Result<HelperOutput> run_helper(const std::vector<std::string>& argv, const std::string& input,
                                std::chrono::milliseconds timeout, std::size_t max_output);

} // namespace oncall::registry::detail
