#pragma once
// Label matchers as PromQL selectors and Alertmanager filters write them: `label op "value"`,
// parsed strictly and re-emitted with escaping, so that configured text can never inject a query.

#include "oncall/core/result.h"

#include <string>
#include <string_view>
#include <vector>

namespace oncall::backends {

/// One label matcher of a selector.
struct Matcher {
    std::string label;
    std::string op; // =, !=, =~, !~
    std::string value;
};

/// Parses a selector ("service=\"checkout\", code=~'5..'") into matchers. Anything that is not a
/// comma-separated list of `label op quoted-value` (braces, a metric name, functions, a second
/// selector, an unterminated string, ...) is Errc::invalid naming what is wrong.
Result<std::vector<Matcher>> parse_selector(std::string_view selector);

/// Escapes a value for a double-quoted PromQL / Alertmanager string (\\, \", \n).
std::string escape_label_value(std::string_view value);

/// Renders matchers canonically: label="escaped value",... (no braces).
std::string format_selector(const std::vector<Matcher>& matchers);

} // namespace oncall::backends
