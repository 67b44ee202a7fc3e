#pragma once
// The audit log: one JSON line per mutating action or grant, fsync'd before success is reported.

#include "oncall/core/result.h"

#include <nlohmann/json.hpp>
#include <string>

namespace oncall::ops {

/// Default audit file: <state_dir>/audit.jsonl.
std::string default_audit_path();

/// Appends `record` (an object; "time" is added when absent) as one line with a single write(2)
/// under O_APPEND, then fsyncs. The file is opened with O_NOFOLLOW and O_NONBLOCK (a symlink is
/// refused, a FIFO never blocks) and must be a regular file. A failure (full disk, permissions,
/// not a regular file) is an Errc::io error and the command must not report success. Keys named
/// like credentials are refused (Errc::internal).
Result<void> append_audit(const std::string& path, nlohmann::json record);

/// A new attempt id: 16 hex digits that tie an attempt's `intent` line to its `result` line.
std::string new_attempt_id();

/// Writes the write-ahead line of an attempt: `record` with "phase": "intent" and "attempt": id.
/// Call it before the first request that changes a cluster; when it fails, make no such request.
/// The error says that nothing was changed.
Result<void> audit_intent(const std::string& path, nlohmann::json record,
                          const std::string& attempt);

/// Writes the outcome line of an attempt: `record` with "phase": "result" and "attempt": id.
Result<void> audit_result(const std::string& path, nlohmann::json record,
                          const std::string& attempt);

} // namespace oncall::ops
