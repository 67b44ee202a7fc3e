#pragma once
// File helpers of the Kubernetes backend.

#include "oncall/core/files.h"
#include "oncall/core/result.h"

#include <string>

namespace oncall::kube {

/// Reads a whole file; a failure is an Errc::config error naming `what` and the path.
Result<std::string> read_file(const std::string& path, const char* what);

/// True when a kubeconfig's users hold a credential by value (token, password, client-key-data).
bool kubeconfig_holds_inline_secret(const std::string& text);

} // namespace oncall::kube
