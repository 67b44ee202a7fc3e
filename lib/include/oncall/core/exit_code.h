#pragma once
// The stable exit-code table of DESIGN.md, implemented in one place.

#include "oncall/core/result.h"

namespace oncall {

/// Process exit codes; runbooks branch on these.
enum class ExitCode : int {
    success = 0,
    failure = 1,
    usage = 2,
    partial = 3, // a backend was unreachable or answered garbage
    access_denied = 4,
    conflict = 5,
    timed_out = 6,      // waiting for a rollout or approval
    rollout_failed = 7, // rollout or post-change verification failed
    degraded = 8,       // triage found the service degraded
};

/// The exit code a command ends with when it fails with `error`.
ExitCode exit_code_for(const Error& error) noexcept;

/// The more severe of two exit codes, for commands that aggregate (triage overview).
ExitCode worst_exit_code(ExitCode a, ExitCode b) noexcept;

} // namespace oncall
