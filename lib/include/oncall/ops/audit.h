#pragma once
// The audit log: one JSON line per mutating action or grant, fsync'd before success is reported.

#include "oncall/core/result.h"

#include <nlohmann/json.hpp>

#include <string>

namespace oncall::ops {

/// Default audit file: <state_dir>/audit.jsonl.
std::string default_audit_path();

/// Appends `record` (an object; "time" is added when absent) as one line with a single write(2)
/// under O_APPEND, then fsyncs. A failure (full disk, permissions) is an Errc::io error and the
/// command must not report success. Keys named like credentials are refused (Errc::internal).
Result<void> append_audit(const std::string& path, nlohmann::json record);

} // namespace oncall::ops
