#include "scenario.h"

#include "log_template.h"
#include "oncall/core/duration.h"
#include "traffic.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <set>
#include <yaml-cpp/yaml.h>

namespace sandbox {
namespace {

using oncall::Errc;
using oncall::Error;
using oncall::Result;

// Thrown inside the loader only; load_scenario turns it into an Error naming file, line and key.
struct ScenarioError {
    std::string key;
    std::string message;
    int line = 0;
};

[[noreturn]] void fail(const YAML::Node& node, const std::string& key, std::string message) {
    const int line = node.IsDefined() && node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    throw ScenarioError{key, std::move(message), line};
}

std::string join_key(const std::string& parent, const std::string& child) {
    return parent.empty() ? child : parent + "." + child;
}

std::string index_key(const std::string& parent, std::size_t i) {
    return fmt::format("{}[{}]", parent, i);
}

void require_map(const YAML::Node& node, const std::string& key) {
    if (!node.IsMap()) {
        fail(node, key, "expected a mapping");
    }
}

void check_keys(const YAML::Node& node, const std::string& key,
                std::initializer_list<const char*> allowed) {
    require_map(node, key);
    for (const auto& entry : node) {
        const auto name = entry.first.as<std::string>();
        const bool known =
            std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return name == a; });
        if (!known) {
            std::string list;
            for (const char* a : allowed) {
                list += list.empty() ? a : std::string(", ") + a;
            }
            fail(entry.first, join_key(key, name),
                 fmt::format("unknown key; expected one of: {}", list));
        }
    }
}

std::string get_string(const YAML::Node& parent, const std::string& parent_key, const char* name,
                       bool required, const std::string& fallback = {}) {
    const auto node = parent[name];
    const auto key = join_key(parent_key, name);
    if (!node.IsDefined() || node.IsNull()) {
        if (required) {
            fail(parent, key, "missing");
        }
        return fallback;
    }
    if (!node.IsScalar()) {
        fail(node, key, "expected a string");
    }
    return node.as<std::string>();
}

double get_number(const YAML::Node& parent, const std::string& parent_key, const char* name,
                  double fallback, double min, double max) {
    const auto node = parent[name];
    const auto key = join_key(parent_key, name);
    if (!node.IsDefined() || node.IsNull()) {
        return fallback;
    }
    double value = 0;
    try {
        value = node.as<double>();
    } catch (const YAML::Exception&) {
        fail(node, key, fmt::format("expected a number, got '{}'", node.Scalar()));
    }
    if (!(value >= min && value <= max)) {
        fail(node, key, fmt::format("{} is out of range [{}, {}]", value, min, max));
    }
    return value;
}

bool get_bool(const YAML::Node& parent, const std::string& parent_key, const char* name,
              bool fallback) {
    const auto node = parent[name];
    if (!node.IsDefined() || node.IsNull()) {
        return fallback;
    }
    try {
        return node.as<bool>();
    } catch (const YAML::Exception&) {
        fail(node, join_key(parent_key, name),
             fmt::format("expected true or false, got '{}'", node.Scalar()));
    }
}

std::chrono::seconds get_duration(const YAML::Node& parent, const std::string& parent_key,
                                  const char* name, std::chrono::seconds fallback,
                                  bool allow_zero) {
    const auto node = parent[name];
    const auto key = join_key(parent_key, name);
    if (!node.IsDefined() || node.IsNull()) {
        return fallback;
    }
    if (!node.IsScalar()) {
        fail(node, key, "expected a duration like 20m or 1h30m");
    }
    const auto& text = node.Scalar();
    if (allow_zero && (text == "0" || text == "0s")) {
        return std::chrono::seconds(0);
    }
    auto parsed = oncall::parse_duration(text);
    if (!parsed) {
        fail(node, key, parsed.error().message);
    }
    return std::chrono::duration_cast<std::chrono::seconds>(*parsed);
}

std::map<std::string, std::string> get_string_map(const YAML::Node& parent,
                                                  const std::string& parent_key, const char* name) {
    std::map<std::string, std::string> out;
    const auto node = parent[name];
    const auto key = join_key(parent_key, name);
    if (!node.IsDefined() || node.IsNull()) {
        return out;
    }
    require_map(node, key);
    for (const auto& entry : node) {
        if (!entry.second.IsScalar()) {
            fail(entry.second, join_key(key, entry.first.as<std::string>()), "expected a string");
        }
        out[entry.first.as<std::string>()] = entry.second.as<std::string>();
    }
    return out;
}

// RFC 1123 label: what Kubernetes accepts as a namespace, Deployment or container name.
bool is_dns_label(const std::string& s) {
    if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

bool is_repository(const std::string& s) {
    if (s.empty() || s.front() == '/' || s.back() == '/') {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == '/';
    });
}

bool is_tag(const std::string& s) {
    if (s.empty() || s.size() > 128 || s.front() == '.' || s.front() == '-') {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    });
}

Behavior parse_behavior(const YAML::Node& node, const std::string& key, const std::string& name) {
    check_keys(node, key,
               {"requests-per-second-per-pod", "error-ratio", "latency-p50", "latency-p99", "crash",
                "logs"});
    Behavior b;
    b.name = name;
    b.requests_per_second_per_pod = get_number(node, key, "requests-per-second-per-pod",
                                               b.requests_per_second_per_pod, 0.0, 100000.0);
    b.error_ratio = get_number(node, key, "error-ratio", b.error_ratio, 0.0, 1.0);
    b.latency_p50 = get_number(node, key, "latency-p50", b.latency_p50, 0.0001, 60.0);
    b.latency_p99 = get_number(node, key, "latency-p99", b.latency_p99, 0.0001, 60.0);
    if (b.latency_p99 < b.latency_p50) {
        fail(node["latency-p99"], join_key(key, "latency-p99"),
             fmt::format("must not be below latency-p50 ({})", b.latency_p50));
    }
    b.crash = get_bool(node, key, "crash", false);
    const auto logs = node["logs"];
    if (logs.IsDefined() && !logs.IsNull()) {
        if (!logs.IsSequence()) {
            fail(logs, join_key(key, "logs"), "expected a list of log line templates");
        }
        for (std::size_t i = 0; i < logs.size(); ++i) {
            const auto line_key = index_key(join_key(key, "logs"), i);
            if (!logs[i].IsScalar()) {
                fail(logs[i], line_key, "expected a string");
            }
            const auto line = logs[i].as<std::string>();
            if (auto problem = check_log_template(line)) {
                fail(logs[i], line_key, *problem);
            }
            b.log_lines.push_back(line);
        }
    }
    return b;
}

Container parse_container(const YAML::Node& node, const std::string& key,
                          const Scenario& scenario) {
    check_keys(node, key, {"name", "image", "pin-by-digest"});
    Container c;
    c.name = get_string(node, key, "name", true);
    if (!is_dns_label(c.name)) {
        fail(node["name"], join_key(key, "name"), "must be a lowercase DNS label (a-z, 0-9, '-')");
    }
    c.image = get_string(node, key, "image", true);
    if (scenario.images.count(c.image) == 0) {
        fail(
            node["image"], join_key(key, "image"),
            fmt::format("unknown image '{}'; list it under 'images' as repository + tag", c.image));
    }
    c.pin_by_digest = get_bool(node, key, "pin-by-digest", true);
    return c;
}

Revision parse_revision(const YAML::Node& node, const std::string& key, const Scenario& scenario,
                        const std::string& service_name) {
    check_keys(node, key, {"deployed-ago", "change-cause", "containers", "image", "pin-by-digest"});
    Revision r;
    if (!node["deployed-ago"].IsDefined()) {
        fail(node, join_key(key, "deployed-ago"),
             "missing (how long before start-up it was deployed, like 20m)");
    }
    r.deployed_ago = get_duration(node, key, "deployed-ago", std::chrono::seconds(0), true);
    r.change_cause = get_string(node, key, "change-cause", false);
    const auto containers = node["containers"];
    const bool has_image = node["image"].IsDefined();
    if (containers.IsDefined() == has_image) {
        fail(node, key,
             "give either 'image' (one container named after the service) or 'containers'");
    }
    if (has_image) {
        YAML::Node single;
        single["name"] = service_name;
        single["image"] = node["image"];
        if (node["pin-by-digest"].IsDefined()) {
            single["pin-by-digest"] = node["pin-by-digest"];
        }
        const auto image = get_string(node, key, "image", true);
        if (scenario.images.count(image) == 0) {
            fail(node["image"], join_key(key, "image"),
                 fmt::format("unknown image '{}'; list it under 'images' as repository + tag",
                             image));
        }
        r.containers.push_back(parse_container(single, key, scenario));
    } else {
        if (!containers.IsSequence() || containers.size() == 0) {
            fail(containers, join_key(key, "containers"), "expected a non-empty list");
        }
        std::set<std::string> names;
        for (std::size_t i = 0; i < containers.size(); ++i) {
            const auto ckey = index_key(join_key(key, "containers"), i);
            auto c = parse_container(containers[i], ckey, scenario);
            if (!names.insert(c.name).second) {
                fail(containers[i], join_key(ckey, "name"),
                     fmt::format("duplicate container '{}'", c.name));
            }
            r.containers.push_back(std::move(c));
        }
    }
    return r;
}

Service parse_service(const YAML::Node& node, const std::string& key, const Scenario& scenario) {
    check_keys(node, key,
               {"name", "replicas", "paused", "labels", "annotations", "progress-deadline",
                "revisions", "drifted-pods"});
    Service s;
    s.name = get_string(node, key, "name", true);
    if (!is_dns_label(s.name)) {
        fail(node["name"], join_key(key, "name"), "must be a lowercase DNS label (a-z, 0-9, '-')");
    }
    s.replicas = static_cast<int>(get_number(node, key, "replicas", 3, 0, 50));
    if (node["replicas"].IsDefined() && node["replicas"].as<double>() != s.replicas) {
        fail(node["replicas"], join_key(key, "replicas"), "expected a whole number");
    }
    s.paused = get_bool(node, key, "paused", false);
    s.labels = get_string_map(node, key, "labels");
    s.annotations = get_string_map(node, key, "annotations");
    s.progress_deadline = get_duration(node, key, "progress-deadline", s.progress_deadline, false);

    const auto revisions = node["revisions"];
    const auto rkey = join_key(key, "revisions");
    if (!revisions.IsDefined() || !revisions.IsSequence() || revisions.size() == 0) {
        fail(revisions.IsDefined() ? revisions : node, rkey,
             "expected a non-empty list of revisions, oldest first");
    }
    for (std::size_t i = 0; i < revisions.size(); ++i) {
        auto r = parse_revision(revisions[i], index_key(rkey, i), scenario, s.name);
        r.number = static_cast<int>(i) + 1;
        if (!s.revisions.empty() && r.deployed_ago >= s.revisions.back().deployed_ago) {
            fail(revisions[i]["deployed-ago"], join_key(index_key(rkey, i), "deployed-ago"),
                 "revisions are listed oldest first: each must be deployed later (smaller "
                 "deployed-ago) than "
                 "the one before");
        }
        s.revisions.push_back(std::move(r));
    }

    const auto drifted = node["drifted-pods"];
    const auto dkey = join_key(key, "drifted-pods");
    if (drifted.IsDefined() && !drifted.IsNull()) {
        require_map(drifted, dkey);
        for (const auto& entry : drifted) {
            const auto pkey = join_key(dkey, entry.first.Scalar());
            int index = -1;
            try {
                index = entry.first.as<int>();
            } catch (const YAML::Exception&) {
                fail(entry.first, pkey, "expected a pod index (0, 1, ...)");
            }
            if (index < 0 || index >= s.replicas) {
                fail(
                    entry.first, pkey,
                    fmt::format("pod index out of range: the service has {} replicas", s.replicas));
            }
            if (!entry.second.IsScalar() || scenario.images.count(entry.second.Scalar()) == 0) {
                fail(entry.second, pkey,
                     fmt::format("unknown image '{}'; list it under 'images'",
                                 entry.second.Scalar()));
            }
            s.drifted_pods[index] = entry.second.Scalar();
        }
    }
    return s;
}

Scenario parse_scenario(const YAML::Node& root) {
    check_keys(root, "",
               {"name", "namespace", "behaviors", "images", "services", "service-accounts"});
    Scenario sc;
    sc.name = get_string(root, "", "name", true);
    sc.namespace_name = get_string(root, "", "namespace", false, "shop");
    if (!is_dns_label(sc.namespace_name)) {
        fail(root["namespace"], "namespace", "must be a lowercase DNS label (a-z, 0-9, '-')");
    }

    const auto behaviors = root["behaviors"];
    if (!behaviors.IsDefined()) {
        fail(root, "behaviors", "missing");
    }
    require_map(behaviors, "behaviors");
    for (const auto& entry : behaviors) {
        const auto name = entry.first.as<std::string>();
        sc.behaviors[name] = parse_behavior(entry.second, join_key("behaviors", name), name);
    }

    const auto images = root["images"];
    if (!images.IsDefined() || !images.IsSequence() || images.size() == 0) {
        fail(images.IsDefined() ? images : root, "images", "expected a non-empty list of images");
    }
    for (std::size_t i = 0; i < images.size(); ++i) {
        const auto key = index_key("images", i);
        check_keys(images[i], key, {"repository", "tag", "behavior", "in-registry"});
        Image img;
        img.repository = get_string(images[i], key, "repository", true);
        if (!is_repository(img.repository)) {
            fail(images[i]["repository"], join_key(key, "repository"),
                 "expected a repository path like shop/checkout (lowercase, digits, '-', '_', '.', "
                 "'/')");
        }
        img.tag = get_string(images[i], key, "tag", true);
        if (!is_tag(img.tag)) {
            fail(images[i]["tag"], join_key(key, "tag"),
                 "expected a tag like 1.2.0 (letters, digits, '_', '.', '-')");
        }
        img.behavior = get_string(images[i], key, "behavior", true);
        if (sc.behaviors.count(img.behavior) == 0) {
            fail(images[i]["behavior"], join_key(key, "behavior"),
                 fmt::format("unknown behavior '{}'; define it under 'behaviors'", img.behavior));
        }
        img.in_registry = get_bool(images[i], key, "in-registry", true);
        const auto image_key = img.repository + ":" + img.tag;
        if (!sc.images.emplace(image_key, img).second) {
            fail(images[i], key, fmt::format("duplicate image '{}'", image_key));
        }
    }

    const auto services = root["services"];
    if (!services.IsDefined() || !services.IsSequence() || services.size() == 0) {
        fail(services.IsDefined() ? services : root, "services",
             "expected a non-empty list of services");
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < services.size(); ++i) {
        auto s = parse_service(services[i], index_key("services", i), sc);
        if (!names.insert(s.name).second) {
            fail(services[i]["name"], join_key(index_key("services", i), "name"),
                 fmt::format("duplicate service '{}'", s.name));
        }
        sc.services.push_back(std::move(s));
    }

    const auto accounts = root["service-accounts"];
    if (accounts.IsDefined() && !accounts.IsNull()) {
        if (!accounts.IsSequence()) {
            fail(accounts, "service-accounts", "expected a list");
        }
        std::set<std::string> account_names;
        for (std::size_t i = 0; i < accounts.size(); ++i) {
            const auto key = index_key("service-accounts", i);
            check_keys(accounts[i], key, {"name", "max-duration"});
            ServiceAccount sa;
            sa.name = get_string(accounts[i], key, "name", true);
            if (!is_dns_label(sa.name)) {
                fail(accounts[i]["name"], join_key(key, "name"),
                     "must be a lowercase DNS label (a-z, 0-9, '-')");
            }
            if (!account_names.insert(sa.name).second) {
                fail(accounts[i]["name"], join_key(key, "name"),
                     fmt::format("duplicate service account '{}'", sa.name));
            }
            if (accounts[i]["max-duration"].IsDefined()) {
                sa.max_duration =
                    get_duration(accounts[i], key, "max-duration", std::chrono::seconds(0), false);
            }
            sc.service_accounts.push_back(std::move(sa));
        }
    }
    return sc;
}

// "registry.host:5000/shop/checkout@sha256:..." -> "shop/checkout@sha256:..."; a first path segment
// that looks like a host (has '.' or ':' or is localhost) is dropped.
std::string strip_registry_host(const std::string& ref) {
    const auto slash = ref.find('/');
    if (slash == std::string::npos) {
        return ref;
    }
    const auto first = ref.substr(0, slash);
    if (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
        first == "localhost") {
        return ref.substr(slash + 1);
    }
    return ref;
}

} // namespace

Result<Scenario> load_scenario(const std::string& path) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        return oncall::make_error(
            Errc::io, fmt::format("cannot read scenario file {}; check the path", path));
    } catch (const YAML::Exception& e) {
        return oncall::make_error(
            Errc::invalid, fmt::format("{}:{}: invalid YAML: {}", path, e.mark.line + 1, e.msg));
    }
    try {
        return parse_scenario(root);
    } catch (const ScenarioError& e) {
        const auto where = e.line > 0 ? fmt::format("{}:{}", path, e.line) : path;
        const auto key = e.key.empty() ? std::string("(top level)") : e.key;
        return oncall::make_error(Errc::invalid, fmt::format("{}: {}: {}", where, key, e.message));
    } catch (const YAML::Exception& e) {
        return oncall::make_error(Errc::invalid,
                                  fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
    }
}

const Image* find_image(const Scenario& scenario, const std::string& image_ref) {
    const auto ref = strip_registry_host(image_ref);
    const auto at = ref.find('@');
    if (at != std::string::npos || ref.rfind("sha256:", 0) == 0) {
        const auto digest = at != std::string::npos ? ref.substr(at + 1) : ref;
        auto repository = at != std::string::npos ? ref.substr(0, at) : std::string();
        const auto colon = repository.rfind(':');
        if (colon != std::string::npos && repository.find('/', colon) == std::string::npos) {
            repository.resize(
                colon); // "repo:tag@sha256:..." names the digest; the tag is decoration
        }
        for (const auto& [key, image] : scenario.images) {
            if (!image.digest.empty() && image.digest == digest &&
                (repository.empty() || repository == image.repository)) {
                return &image;
            }
        }
        return nullptr;
    }
    const auto it = scenario.images.find(ref);
    return it == scenario.images.end() ? nullptr : &it->second;
}

const Behavior* behavior_for_image(const Scenario& scenario, const std::string& image_ref) {
    const auto* image = find_image(scenario, image_ref);
    if (image == nullptr) {
        return nullptr;
    }
    const auto b = scenario.behaviors.find(image->behavior);
    return b == scenario.behaviors.end() ? nullptr : &b->second;
}

} // namespace sandbox
