#include "config/yaml_guard.h"

#include <fmt/format.h>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace oncall::config {
namespace {

struct Refusal {
    int line = 0;
    std::string what;
};

// Walks the parser's events: counts nodes with aliases expanded, and remembers the scalar keys
// of every open map.
class Guard : public YAML::EventHandler {
public:
    explicit Guard(std::size_t max_nodes) : m_max(max_nodes) {}

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        leaf(mark, anchor, 1, std::nullopt);
    }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const auto it = m_anchor_sizes.find(anchor);
        leaf(mark, 0, it == m_anchor_sizes.end() ? 1 : it->second, std::nullopt);
    }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  const std::string& value) override {
        leaf(mark, anchor, 1, value);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(mark, anchor, false);
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(mark, anchor, true);
    }
    void OnMapEnd() override { close(); }

private:
    struct Frame {
        bool is_map = false;
        bool at_key = true;
        YAML::anchor_t anchor = 0;
        YAML::Mark mark;
        std::size_t size = 1;
        std::set<std::string> keys;
    };

    void count(const YAML::Mark& mark, std::size_t nodes) {
        m_total += nodes;
        if (m_total > m_max) {
            throw Refusal{mark.line + 1,
                          fmt::format("aliases expand the document to more than {} nodes; "
                                      "write the values out instead of using anchors",
                                      m_max)};
        }
    }

    void open(const YAML::Mark& mark, YAML::anchor_t anchor, bool is_map) {
        count(mark, 1);
        Frame f;
        f.is_map = is_map;
        f.anchor = anchor;
        f.mark = mark;
        m_stack.push_back(std::move(f));
    }

    void close() {
        Frame f = std::move(m_stack.back());
        m_stack.pop_back();
        if (f.anchor != 0) {
            m_anchor_sizes[f.anchor] = f.size;
        }
        child(f.mark, f.size, std::nullopt);
    }

    void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, std::size_t size,
              const std::optional<std::string>& scalar) {
        count(mark, size);
        if (anchor != 0) {
            m_anchor_sizes[anchor] = size;
        }
        child(mark, size, scalar);
    }

    // A finished node `size` nodes large becomes a child of the innermost open collection.
    void child(const YAML::Mark& mark, std::size_t size, const std::optional<std::string>& scalar) {
        if (m_stack.empty()) {
            return;
        }
        Frame& parent = m_stack.back();
        parent.size += size;
        if (!parent.is_map) {
            return;
        }
        if (parent.at_key && scalar && !parent.keys.insert(*scalar).second) {
            throw Refusal{mark.line + 1,
                          fmt::format("key '{}' appears twice in the same map; keep one", *scalar)};
        }
        parent.at_key = !parent.at_key;
    }

    std::size_t m_max;
    std::size_t m_total = 0;
    std::vector<Frame> m_stack;
    std::map<YAML::anchor_t, std::size_t> m_anchor_sizes;
};

} // namespace

Result<void> check_yaml_document(const std::string& text, const std::string& origin,
                                 std::size_t max_nodes) {
    std::istringstream in(text);
    Guard guard(max_nodes);
    try {
        YAML::Parser parser(in);
        while (parser.HandleNextDocument(guard)) {
        }
    } catch (const Refusal& r) {
        return make_error(Errc::config, fmt::format("{}:{}: {}", origin, r.line, r.what));
    } catch (const YAML::Exception&) {
        // Syntax errors: the loader reports them with its own words.
    }
    return ok_result();
}

} // namespace oncall::config
