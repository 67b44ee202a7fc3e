#pragma once
// The sandbox's world outside the API server: seeding the registry with the scenario's images and
// the subcommands that prepare the practice cluster's history (backfill) and other launcher tools.

#include "scenario.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <string>

namespace sandbox {

/// Pushes every image of the scenario with in_registry = true to the registry at `registry_url`
/// (OCI distribution API: blob uploads, then the manifest) and fills each Image::digest with the
/// manifest's digest. Deterministic: the same scenario always yields the same digests.
oncall::Result<void> seed_registry(Scenario& scenario, const std::string& registry_url);

/// The host[:port] images are referred to by (e.g. "127.0.0.1:5001"), from the registry URL.
std::string registry_host(const std::string& registry_url);

/// Registers the launcher's helper subcommands (backfill, ...) on the sandbox binary's CLI.
void register_world_commands(CLI::App& app);

} // namespace sandbox
