#pragma once
// The CLI11 definition as a cli::CommandSpec, for completion and the man page; and the one place
// where an argument says what kind of value it takes.
//
// Kinds are found, in order: from an explicit value name set with takes() (or type_name()),
// such as SERVICE, CONTEXT, ROLE, REVISION, FILE; from an IsMember check (fixed choices); from the
// argument's own name (a positional called SERVICE, --context, --role, --to-revision, --config,
// --*-file). A command added later gets completion without touching this file.

#include "oncall/cli/spec.h"

#include <CLI/CLI.hpp>

namespace oncall::app {

/// Declares the kind of value `option` takes (shown in --help as its value name, e.g. SERVICE).
CLI::Option* takes(CLI::Option* option, cli::ValueKind kind);

/// Describes `app` and its subcommands (hidden ones are marked, not dropped).
cli::CommandSpec describe_cli(const CLI::App& app);

} // namespace oncall::app
