#include "selector.h"

#include <algorithm>
#include <cctype>

namespace sandbox {

using nlohmann::json;
using oncall::Errc;
using oncall::make_error;

std::map<std::string, std::string> object_labels(const json& object) {
    std::map<std::string, std::string> labels;
    if (!object.contains("metadata") || !object["metadata"].is_object()) {
        return labels;
    }
    const auto& md = object["metadata"];
    if (md.contains("labels") && md["labels"].is_object()) {
        for (const auto& [k, v] : md["labels"].items()) {
            if (v.is_string()) {
                labels[k] = v.get<std::string>();
            }
        }
    }
    return labels;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
    for (const auto& r : requirements) {
        const auto it = labels.find(r.key);
        const bool has = it != labels.end();
        const auto in_values = [&] {
            return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
        };
        switch (r.op) {
        case Requirement::Op::equals:
        case Requirement::Op::in:
            if (!in_values())
                return false;
            break;
        case Requirement::Op::not_equals:
        case Requirement::Op::not_in:
            if (in_values())
                return false;
            break;
        case Requirement::Op::exists:
            if (!has)
                return false;
            break;
        case Requirement::Op::does_not_exist:
            if (has)
                return false;
            break;
        }
    }
    return true;
}

bool LabelSelector::matches_object(const json& object) const {
    return matches(object_labels(object));
}

namespace {

class SelectorLexer {
public:
    explicit SelectorLexer(const std::string& text) : m_text(text) {}

    void skip_space() {
        while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos])))
            ++m_pos;
    }
    bool at_end() {
        skip_space();
        return m_pos >= m_text.size();
    }
    char peek() {
        skip_space();
        return m_pos < m_text.size() ? m_text[m_pos] : '\0';
    }
    bool consume(std::string_view token) {
        skip_space();
        if (m_text.compare(m_pos, token.size(), token) == 0) {
            m_pos += token.size();
            return true;
        }
        return false;
    }
    // A key or value: letters, digits, '-', '_', '.', '/'.
    std::string word() {
        skip_space();
        const std::size_t start = m_pos;
        while (m_pos < m_text.size()) {
            const char c = m_text[m_pos];
            if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
                c == '/') {
                ++m_pos;
            } else {
                break;
            }
        }
        return m_text.substr(start, m_pos - start);
    }
    // Word followed by a space-delimited keyword (in / notin) check without consuming.
    bool keyword(std::string_view kw) {
        skip_space();
        if (m_text.compare(m_pos, kw.size(), kw) != 0)
            return false;
        const std::size_t after = m_pos + kw.size();
        if (after < m_text.size() && (std::isalnum(static_cast<unsigned char>(m_text[after]))))
            return false;
        m_pos = after;
        return true;
    }
    std::string rest() const { return m_text.substr(std::min(m_pos, m_text.size())); }

private:
    const std::string& m_text;
    std::size_t m_pos = 0;
};

oncall::Error parse_error(const std::string& what) {
    return make_error(Errc::invalid, "unable to parse requirement: " + what, 400);
}

bool valid_label_value(const std::string& v) {
    if (v.size() > 63)
        return false;
    if (v.empty())
        return true;
    const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
    if (!alnum(v.front()) || !alnum(v.back()))
        return false;
    return std::all_of(v.begin(), v.end(),
                       [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

} // namespace

static oncall::Result<std::vector<std::string>> parse_value_set(SelectorLexer& lex) {
    std::vector<std::string> values;
    if (!lex.consume("("))
        return parse_error("found '" + lex.rest() + "', expected: '('");
    while (true) {
        values.push_back(lex.word());
        if (lex.consume(")"))
            break;
        if (!lex.consume(","))
            return parse_error("found '" + lex.rest() + "', expected: ',' or ')'");
    }
    return values;
}

oncall::Result<LabelSelector> parse_label_selector(const std::string& text) {
    LabelSelector sel;
    SelectorLexer lex(text);
    if (lex.at_end())
        return sel;
    while (true) {
        Requirement r;
        if (lex.consume("!")) {
            r.key = lex.word();
            if (r.key.empty())
                return parse_error("found '" + lex.rest() + "', expected: identifier");
            r.op = Requirement::Op::does_not_exist;
        } else {
            r.key = lex.word();
            if (r.key.empty()) {
                return parse_error("found '" + lex.rest() +
                                   "', expected: !, identifier, or 'end of string'");
            }
            if (lex.consume("==") || lex.consume("=")) {
                r.op = Requirement::Op::equals;
                r.values.push_back(lex.word());
            } else if (lex.consume("!=")) {
                r.op = Requirement::Op::not_equals;
                r.values.push_back(lex.word());
            } else if (lex.keyword("notin")) {
                r.op = Requirement::Op::not_in;
                auto values = parse_value_set(lex);
                if (!values)
                    return values.error();
                r.values = std::move(values.value());
            } else if (lex.keyword("in")) {
                r.op = Requirement::Op::in;
                auto values = parse_value_set(lex);
                if (!values)
                    return values.error();
                r.values = std::move(values.value());
            } else if (lex.at_end() || lex.peek() == ',') {
                r.op = Requirement::Op::exists;
            } else {
                return parse_error("found '" + lex.rest() +
                                   "', expected: in, notin, =, ==, !=, gt, lt");
            }
            for (const auto& v : r.values) {
                if (!valid_label_value(v)) {
                    return parse_error("invalid label value: \"" + v + "\"");
                }
            }
        }
        sel.requirements.push_back(std::move(r));
        if (lex.at_end())
            break;
        if (!lex.consume(","))
            return parse_error("found '" + lex.rest() + "', expected: ',' or 'end of string'");
    }
    return sel;
}

oncall::Result<LabelSelector> label_selector_from_json(const json& selector) {
    LabelSelector sel;
    if (selector.is_null())
        return sel;
    if (!selector.is_object())
        return make_error(Errc::invalid, "selector must be an object", 422);
    if (selector.contains("matchLabels")) {
        const auto& ml = selector["matchLabels"];
        if (!ml.is_object() && !ml.is_null())
            return make_error(Errc::invalid, "matchLabels must be a map", 422);
        if (ml.is_object()) {
            for (const auto& [k, v] : ml.items()) {
                if (!v.is_string())
                    return make_error(Errc::invalid, "matchLabels values must be strings", 422);
                sel.requirements.push_back({k, Requirement::Op::equals, {v.get<std::string>()}});
            }
        }
    }
    if (selector.contains("matchExpressions") && selector["matchExpressions"].is_array()) {
        for (const auto& e : selector["matchExpressions"]) {
            Requirement r;
            r.key = e.value("key", "");
            const std::string op = e.value("operator", "");
            if (op == "In")
                r.op = Requirement::Op::in;
            else if (op == "NotIn")
                r.op = Requirement::Op::not_in;
            else if (op == "Exists")
                r.op = Requirement::Op::exists;
            else if (op == "DoesNotExist")
                r.op = Requirement::Op::does_not_exist;
            else
                return make_error(Errc::invalid,
                                  "\"" + op + "\" is not a valid label selector operator", 422);
            if (e.contains("values") && e["values"].is_array()) {
                for (const auto& v : e["values"]) {
                    if (v.is_string())
                        r.values.push_back(v.get<std::string>());
                }
            }
            sel.requirements.push_back(std::move(r));
        }
    }
    return sel;
}

static std::string field_value(const json& object, const std::string& field) {
    if (!object.contains("metadata"))
        return "";
    const auto& md = object["metadata"];
    if (field == "metadata.name")
        return md.value("name", "");
    if (field == "metadata.namespace")
        return md.value("namespace", "");
    return "";
}

bool FieldSelector::matches_object(const json& object) const {
    for (const auto& t : terms) {
        const bool eq = field_value(object, t.field) == t.value;
        if (eq != t.equals)
            return false;
    }
    return true;
}

oncall::Result<FieldSelector> parse_field_selector(const std::string& text,
                                                   const std::vector<std::string>& supported) {
    FieldSelector sel;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t comma = text.find(',', pos);
        if (comma == std::string::npos)
            comma = text.size();
        const std::string term = text.substr(pos, comma - pos);
        pos = comma + 1;
        if (term.empty())
            continue;
        FieldSelector::Term t;
        std::size_t op = term.find("!=");
        std::size_t value_at = 0;
        if (op != std::string::npos) {
            t.equals = false;
            value_at = op + 2;
        } else if ((op = term.find("==")) != std::string::npos) {
            value_at = op + 2;
        } else if ((op = term.find('=')) != std::string::npos) {
            value_at = op + 1;
        } else {
            return make_error(Errc::invalid,
                              "invalid selector: '" + text + "'; can't understand '" + term + "'",
                              400);
        }
        t.field = term.substr(0, op);
        t.value = term.substr(value_at);
        if (std::find(supported.begin(), supported.end(), t.field) == supported.end()) {
            return make_error(Errc::invalid, "field label not supported: " + t.field, 400);
        }
        sel.terms.push_back(std::move(t));
    }
    return sel;
}

} // namespace sandbox
