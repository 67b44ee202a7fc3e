#pragma once
// The signals triage and verification look at: PromQL built from templates with the service's
// selector substituted. Selectors are validated as a list of `label op "value"` matchers and
// re-emitted with proper escaping, so a service name or selector can never inject PromQL.

#include "oncall/backends/matchers.h"
#include "oncall/backends/prometheus.h"
#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/ops/correlate.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oncall::ops {

/// How to read a signal's value.
enum class SignalUnit { per_second, ratio, seconds, fraction };

/// One signal of a service: its name ("error_ratio"), PromQL, SLO threshold and how to read it.
struct SignalSpec {
    std::string name;  // snake_case JSON name: request_rate, error_ratio, latency_p99, saturation
    std::string title; // for people: "error ratio"
    std::string query; // PromQL with the selector substituted
    std::optional<double> threshold;
    SignalUnit unit = SignalUnit::ratio;
    Direction direction = Direction::higher_is_worse;
};

using backends::escape_label_value;
using backends::format_selector;
using backends::Matcher;
using backends::parse_selector;

/// The validated, canonical selector of a service: its configured selector, else service="<name>".
/// The name must be a DNS-1123 label.
Result<std::string> service_selector(const config::Service& service);

/// Replaces every "{selector}" in a template with `selector`.
std::string substitute_selector(std::string_view templ, std::string_view selector);

/// Built-in PromQL template of a signal ("request_rate", "error_ratio", "latency_p99"); empty when
/// there is none (saturation has no default).
std::string default_signal_template(std::string_view name);

/// The signals of a service: request rate, error ratio, p99 latency (templates overridden per
/// service from config) and saturation when a template is given. Unknown override names, a bad
/// selector or a bad service name are errors.
Result<std::vector<SignalSpec>> signals_for(const config::Service& service);

/// Fetches each signal's range over [start, end] concurrently; one result per spec, in order.
/// A query answering several series keeps the first; an empty answer is an empty series.
std::vector<Result<SignalSeries>> fetch_signal_history(const prometheus::Client& client,
                                                       const std::vector<SignalSpec>& specs,
                                                       TimePoint start, TimePoint end,
                                                       std::chrono::milliseconds step);

/// Turns a decoded range answer into a SignalSeries for `spec` (NaN samples are dropped).
SignalSeries to_signal_series(const SignalSpec& spec, const prometheus::QueryResult& result);

} // namespace oncall::ops
