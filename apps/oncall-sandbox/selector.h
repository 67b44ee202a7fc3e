#pragma once
// Label and field selectors as the list and watch APIs take them (`labelSelector=app=x,tier!=db`,
// `fieldSelector=metadata.name=x`), and metav1.LabelSelector objects
// (matchLabels/matchExpressions).

#include "oncall/core/result.h"

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sandbox {

/// One requirement of a selector: key, operator and values.
struct Requirement {
    enum class Op { equals, not_equals, in, not_in, exists, does_not_exist };
    std::string key;
    Op op = Op::exists;
    std::vector<std::string> values;
};

/// A conjunction of requirements; empty selects everything.
struct LabelSelector {
    std::vector<Requirement> requirements;

    /// Whether a label map satisfies every requirement.
    bool matches(const std::map<std::string, std::string>& labels) const;
    /// Whether an object's metadata.labels satisfy every requirement.
    bool matches_object(const nlohmann::json& object) const;
};

/// Parses the query-string syntax (=, ==, !=, in, notin, key, !key); errors say what was expected.
oncall::Result<LabelSelector> parse_label_selector(const std::string& text);

/// Converts a metav1.LabelSelector object; errors for unknown operators or malformed shapes.
oncall::Result<LabelSelector> label_selector_from_json(const nlohmann::json& selector);

/// A field selector on metadata.name / metadata.namespace (= or !=).
struct FieldSelector {
    struct Term {
        std::string field;
        bool equals = true;
        std::string value;
    };
    std::vector<Term> terms;
    /// Whether the object satisfies every term.
    bool matches_object(const nlohmann::json& object) const;
};

/// Parses a field selector; only the fields in `supported` are accepted (kube's "field label not
/// supported" error otherwise).
oncall::Result<FieldSelector> parse_field_selector(const std::string& text,
                                                   const std::vector<std::string>& supported);

/// The labels of an object (metadata.labels) as a map.
std::map<std::string, std::string> object_labels(const nlohmann::json& object);

} // namespace sandbox
