#pragma once
// The backend clients of a context, built in one place: commands ask for them here instead of
// constructing HTTP clients themselves (same timeouts, CA files and credentials everywhere).

#include "oncall/backends/kubernetes.h"
#include "oncall/backends/prometheus.h"
#include "oncall/backends/registry.h"
#include "oncall/config/config.h"
#include "oncall/core/result.h"

#include <functional>
#include <optional>
#include <string_view>

namespace oncall::backends {

/// Redacted diagnostic lines (-v); may be empty.
using LogSink = std::function<void(std::string_view)>;

/// The Kubernetes client of the context (its `kubernetes:` settings or kubeconfig).
Result<kube::KubeClient> make_kube_client(const config::Context& context, const LogSink& log = {});

/// The Prometheus client of the context; nullopt when the context has no Prometheus. Its deadline
/// is the endpoint's `timeout:`, else 15s; CA file, credentials and TLS settings as configured.
Result<std::optional<prometheus::Client>> make_prometheus_client(const config::Context& context,
                                                                 const LogSink& log = {});

/// The registry client of the context (tags are resolved to digests through it).
registry::RegistryClient make_registry_client(const config::Context& context,
                                              const LogSink& log = {});

} // namespace oncall::backends
