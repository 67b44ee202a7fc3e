#pragma once
// Build identification for `oncall version`.

namespace oncall {

/// Semantic version of this build ("0.1.0").
const char* version() noexcept;

/// Short commit hash the build came from, or "unknown".
const char* git_commit() noexcept;

} // namespace oncall
