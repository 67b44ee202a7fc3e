// Decoders of the Kubernetes objects oncall reads, the revision list of a Deployment, and the
// translation of kube-apiserver Status objects into Errors.

#include "backends/json_reader.h"
#include "oncall/backends/kubernetes.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

namespace oncall::kube {
namespace {

using backends::JsonReader;
using nlohmann::json;

std::string describe(const json& object, std::string_view kind) {
    std::string ns;
    std::string name;
    if (object.is_object()) {
        const auto it = object.find("metadata");
        if (it != object.end() && it->is_object()) {
            const auto n = it->find("name");
            const auto s = it->find("namespace");
            if (n != it->end() && n->is_string()) {
                name = n->get<std::string>();
            }
            if (s != it->end() && s->is_string()) {
                ns = s->get<std::string>();
            }
        }
    }
    if (name.empty()) {
        return std::string(kind);
    }
    return ns.empty() ? fmt::format("{} {}", kind, name) : fmt::format("{} {}/{}", kind, ns, name);
}

ObjectMeta read_metadata(JsonReader& r, const json& object) {
    ObjectMeta m;
    const auto& md = r.object(object, "metadata", "");
    m.name = r.str(md, "name", "metadata");
    m.namespace_name = r.str(md, "namespace", "metadata");
    m.uid = r.str(md, "uid", "metadata");
    m.resource_version = r.str(md, "resourceVersion", "metadata");
    m.generation = r.integer(md, "generation", "metadata");
    m.labels = r.string_map(md, "labels", "metadata");
    m.annotations = r.string_map(md, "annotations", "metadata");
    m.creation_timestamp = r.time(md, "creationTimestamp", "metadata");
    const auto& owners = r.array(md, "ownerReferences", "metadata");
    for (std::size_t i = 0; i < owners.size(); ++i) {
        const std::string p = fmt::format("metadata.ownerReferences[{}]", i);
        if (!r.expect_object(owners[i], p)) {
            continue;
        }
        OwnerReference o;
        o.api_version = r.str(owners[i], "apiVersion", p);
        o.kind = r.str(owners[i], "kind", p);
        o.name = r.str(owners[i], "name", p);
        o.uid = r.str(owners[i], "uid", p);
        o.controller = r.boolean(owners[i], "controller", p);
        m.owner_references.push_back(std::move(o));
    }
    return m;
}

std::vector<Container> read_containers(JsonReader& r, const json& spec, std::string_view key,
                                       std::string_view path) {
    std::vector<Container> out;
    const auto& list = r.array(spec, key, path);
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string p = fmt::format("{}.{}[{}]", path, key, i);
        if (!r.expect_object(list[i], p)) {
            continue;
        }
        out.push_back(Container{r.str(list[i], "name", p), r.str(list[i], "image", p)});
    }
    return out;
}

PodTemplate read_template(JsonReader& r, const json& spec) {
    PodTemplate t;
    const auto& tmpl = r.object(spec, "template", "spec");
    t.raw = tmpl;
    const auto& md = r.object(tmpl, "metadata", "spec.template");
    t.labels = r.string_map(md, "labels", "spec.template.metadata");
    t.annotations = r.string_map(md, "annotations", "spec.template.metadata");
    const auto& pod_spec = r.object(tmpl, "spec", "spec.template");
    t.containers = read_containers(r, pod_spec, "containers", "spec.template.spec");
    t.init_containers = read_containers(r, pod_spec, "initContainers", "spec.template.spec");
    return t;
}

std::vector<Condition> read_conditions(JsonReader& r, const json& status, std::string_view path) {
    std::vector<Condition> out;
    const auto& list = r.array(status, "conditions", path);
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string p = fmt::format("{}.conditions[{}]", path, i);
        if (!r.expect_object(list[i], p)) {
            continue;
        }
        Condition c;
        c.type = r.str(list[i], "type", p);
        c.status = r.str(list[i], "status", p);
        c.reason = r.str(list[i], "reason", p);
        c.message = r.str(list[i], "message", p);
        c.last_update_time = r.time(list[i], "lastUpdateTime", p);
        c.last_transition_time = r.time(list[i], "lastTransitionTime", p);
        out.push_back(std::move(c));
    }
    return out;
}

int to_int(std::int64_t v) {
    return static_cast<int>(std::clamp<std::int64_t>(v, -2147483647, 2147483647));
}

std::string expression_text(JsonReader& r, const json& expr, std::string_view path) {
    const std::string key = r.str(expr, "key", path);
    const std::string op = r.str(expr, "operator", path);
    std::vector<std::string> values;
    const auto& vs = r.array(expr, "values", path);
    for (const auto& v : vs) {
        if (!v.is_string()) {
            r.fail(fmt::format("{}.values", path), "an array of strings");
            return {};
        }
        values.push_back(v.get<std::string>());
    }
    if (op == "In" || op == "NotIn") {
        return fmt::format("{} {} ({})", key, op == "In" ? "in" : "notin", fmt::join(values, ","));
    }
    if (op == "Exists") {
        return key;
    }
    if (op == "DoesNotExist") {
        return "!" + key;
    }
    r.fail(fmt::format("{}.operator", path), "In, NotIn, Exists or DoesNotExist");
    return {};
}

std::optional<long> parse_revision(const std::map<std::string, std::string>& annotations) {
    const auto it = annotations.find(k_revision_annotation);
    if (it == annotations.end()) {
        return std::nullopt;
    }
    long v = 0;
    const auto* first = it->second.data();
    const auto* last = first + it->second.size();
    const auto res = std::from_chars(first, last, v);
    if (res.ec != std::errc{} || res.ptr != last || v < 0) {
        return std::nullopt;
    }
    return v;
}

json without_hash(json tmpl) {
    if (tmpl.is_object()) {
        auto md = tmpl.find("metadata");
        if (md != tmpl.end() && md->is_object()) {
            auto labels = md->find("labels");
            if (labels != md->end() && labels->is_object()) {
                labels->erase(k_pod_template_hash_label);
                if (labels->empty()) {
                    md->erase("labels");
                }
            }
        }
    }
    return tmpl;
}

} // namespace

const OwnerReference* ObjectMeta::controller() const {
    for (const auto& o : owner_references) {
        if (o.controller) {
            return &o;
        }
    }
    return nullptr;
}

const Condition* DeploymentStatus::condition(std::string_view type) const {
    for (const auto& c : conditions) {
        if (c.type == type) {
            return &c;
        }
    }
    return nullptr;
}

std::string Deployment::selector_string() const {
    std::vector<std::string> parts;
    for (const auto& [k, v] : selector) {
        parts.push_back(fmt::format("{}={}", k, v));
    }
    parts.insert(parts.end(), selector_expressions.begin(), selector_expressions.end());
    return fmt::format("{}", fmt::join(parts, ","));
}

bool Pod::ready() const {
    for (const auto& c : conditions) {
        if (c.type == "Ready") {
            return c.status == "True";
        }
    }
    return false;
}

Result<ObjectMeta> decode_metadata(const json& object) {
    JsonReader r(describe(object, "object"));
    if (!r.expect_object(object, "")) {
        return r.error();
    }
    auto m = read_metadata(r, object);
    if (r.failed()) {
        return r.error();
    }
    return m;
}

Result<Deployment> decode_deployment(const json& object) {
    JsonReader r(describe(object, "Deployment"));
    if (!r.expect_object(object, "")) {
        return r.error();
    }
    Deployment d;
    d.metadata = read_metadata(r, object);
    const auto& spec = r.object(object, "spec", "");
    d.replicas = to_int(r.integer(spec, "replicas", "spec", 1));
    d.paused = r.boolean(spec, "paused", "spec");
    if (const auto pds = r.opt_integer(spec, "progressDeadlineSeconds", "spec")) {
        d.progress_deadline_seconds = to_int(*pds);
    }
    const auto& sel = r.object(spec, "selector", "spec");
    d.selector = r.string_map(sel, "matchLabels", "spec.selector");
    const auto& exprs = r.array(sel, "matchExpressions", "spec.selector");
    for (std::size_t i = 0; i < exprs.size(); ++i) {
        const std::string p = fmt::format("spec.selector.matchExpressions[{}]", i);
        if (r.expect_object(exprs[i], p)) {
            d.selector_expressions.push_back(expression_text(r, exprs[i], p));
        }
    }
    d.pod_template = read_template(r, spec);
    const auto& st = r.object(object, "status", "");
    d.status.observed_generation = r.integer(st, "observedGeneration", "status");
    d.status.replicas = to_int(r.integer(st, "replicas", "status"));
    d.status.updated_replicas = to_int(r.integer(st, "updatedReplicas", "status"));
    d.status.ready_replicas = to_int(r.integer(st, "readyReplicas", "status"));
    d.status.available_replicas = to_int(r.integer(st, "availableReplicas", "status"));
    d.status.unavailable_replicas = to_int(r.integer(st, "unavailableReplicas", "status"));
    d.status.conditions = read_conditions(r, st, "status");
    if (r.failed()) {
        return r.error();
    }
    d.raw = object;
    return d;
}

Result<ReplicaSet> decode_replicaset(const json& object) {
    JsonReader r(describe(object, "ReplicaSet"));
    if (!r.expect_object(object, "")) {
        return r.error();
    }
    ReplicaSet rs;
    rs.metadata = read_metadata(r, object);
    const auto& spec = r.object(object, "spec", "");
    rs.replicas = to_int(r.integer(spec, "replicas", "spec", 1));
    rs.pod_template = read_template(r, spec);
    const auto& st = r.object(object, "status", "");
    rs.status.replicas = to_int(r.integer(st, "replicas", "status"));
    rs.status.ready_replicas = to_int(r.integer(st, "readyReplicas", "status"));
    rs.status.available_replicas = to_int(r.integer(st, "availableReplicas", "status"));
    rs.status.observed_generation = r.integer(st, "observedGeneration", "status");
    rs.revision = parse_revision(rs.metadata.annotations);
    if (r.failed()) {
        return r.error();
    }
    return rs;
}

Result<Pod> decode_pod(const json& object) {
    JsonReader r(describe(object, "Pod"));
    if (!r.expect_object(object, "")) {
        return r.error();
    }
    Pod p;
    p.metadata = read_metadata(r, object);
    const auto& spec = r.object(object, "spec", "");
    p.node_name = r.str(spec, "nodeName", "spec");
    p.containers = read_containers(r, spec, "containers", "spec");
    const auto& st = r.object(object, "status", "");
    p.phase = r.str(st, "phase", "status");
    p.conditions = read_conditions(r, st, "status");
    const auto& statuses = r.array(st, "containerStatuses", "status");
    for (std::size_t i = 0; i < statuses.size(); ++i) {
        const std::string path = fmt::format("status.containerStatuses[{}]", i);
        const auto& s = statuses[i];
        if (!r.expect_object(s, path)) {
            continue;
        }
        ContainerStatus c;
        c.name = r.str(s, "name", path);
        c.image = r.str(s, "image", path);
        c.image_id = r.str(s, "imageID", path);
        c.ready = r.boolean(s, "ready", path);
        c.restart_count = to_int(r.integer(s, "restartCount", path));
        const auto& state = r.object(s, "state", path);
        const std::string state_path = path + ".state";
        const auto& waiting = r.object(state, "waiting", state_path);
        c.waiting_reason = r.str(waiting, "reason", state_path + ".waiting");
        c.waiting_message = r.str(waiting, "message", state_path + ".waiting");
        const auto& terminated = r.object(state, "terminated", state_path);
        c.terminated_reason = r.str(terminated, "reason", state_path + ".terminated");
        const auto& last = r.object(s, "lastState", path);
        const auto& last_terminated = r.object(last, "terminated", path + ".lastState");
        c.last_terminated_reason = r.str(last_terminated, "reason", path + ".lastState.terminated");
        p.container_statuses.push_back(std::move(c));
    }
    if (r.failed()) {
        return r.error();
    }
    return p;
}

Result<Event> decode_event(const json& object) {
    JsonReader r(describe(object, "Event"));
    if (!r.expect_object(object, "")) {
        return r.error();
    }
    Event e;
    e.metadata = read_metadata(r, object);
    const auto& io = r.object(object, "involvedObject", "");
    e.involved_object.api_version = r.str(io, "apiVersion", "involvedObject");
    e.involved_object.kind = r.str(io, "kind", "involvedObject");
    e.involved_object.name = r.str(io, "name", "involvedObject");
    e.involved_object.namespace_name = r.str(io, "namespace", "involvedObject");
    e.involved_object.uid = r.str(io, "uid", "involvedObject");
    e.involved_object.resource_version = r.str(io, "resourceVersion", "involvedObject");
    e.type = r.str(object, "type", "");
    e.reason = r.str(object, "reason", "");
    e.message = r.str(object, "message", "");
    e.source_component = r.str(r.object(object, "source", ""), "component", "source");
    e.count = to_int(r.integer(object, "count", ""));
    e.first_timestamp = r.time(object, "firstTimestamp", "");
    e.last_timestamp = r.time(object, "lastTimestamp", "");
    if (!e.last_timestamp) {
        e.last_timestamp = r.time(object, "eventTime", "");
    }
    if (r.failed()) {
        return r.error();
    }
    return e;
}

bool same_template(const json& a, const json& b) {
    return without_hash(a) == without_hash(b);
}

std::vector<Revision> revisions_of(const Deployment& deployment,
                                   const std::vector<ReplicaSet>& replicasets) {
    std::vector<Revision> out;
    for (const auto& rs : replicasets) {
        const auto* owner = rs.metadata.controller();
        if (owner == nullptr || owner->uid != deployment.metadata.uid ||
            deployment.metadata.uid.empty() || !rs.revision) {
            continue;
        }
        Revision rev;
        rev.number = *rs.revision;
        for (const auto& c : rs.pod_template.containers) {
            rev.artifacts.push_back(c.image);
        }
        rev.deployed_at = rs.metadata.creation_timestamp;
        if (const auto it = rs.metadata.annotations.find(k_change_cause_annotation);
            it != rs.metadata.annotations.end()) {
            rev.change_cause = it->second;
        }
        rev.replicaset = rs.metadata.name;
        rev.replicas = rs.replicas;
        rev.annotations = rs.metadata.annotations;
        rev.pod_template = rs.pod_template;
        rev.current = same_template(rs.pod_template.raw, deployment.pod_template.raw);
        out.push_back(std::move(rev));
    }
    std::sort(out.begin(), out.end(),
              [](const Revision& a, const Revision& b) { return a.number > b.number; });
    const bool any_current =
        std::any_of(out.begin(), out.end(), [](const Revision& r) { return r.current; });
    if (!any_current && !out.empty()) {
        out.front().current = true;
    } else {
        // Only one revision can be current: the newest matching one.
        bool seen = false;
        for (auto& r : out) {
            if (r.current) {
                r.current = !seen;
                seen = true;
            }
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------

Error api_error(const http::Response& response, std::string_view what) {
    const int code = static_cast<int>(response.status);
    std::string message;
    std::string reason;
    std::vector<std::string> causes;
    bool is_status = false;
    try {
        const auto body = json::parse(response.body);
        if (body.is_object() && body.value("kind", "") == "Status") {
            is_status = true;
            if (const auto it = body.find("message"); it != body.end() && it->is_string()) {
                message = it->get<std::string>();
            }
            if (const auto it = body.find("reason"); it != body.end() && it->is_string()) {
                reason = it->get<std::string>();
            }
            const auto details = body.find("details");
            if (details != body.end() && details->is_object()) {
                const auto cs = details->find("causes");
                if (cs != details->end() && cs->is_array()) {
                    for (const auto& c : *cs) {
                        if (!c.is_object()) {
                            continue;
                        }
                        std::string text;
                        if (const auto f = c.find("field");
                            f != c.end() && f->is_string() && !f->empty()) {
                            text = f->get<std::string>() + ": ";
                        }
                        if (const auto m = c.find("message"); m != c.end() && m->is_string()) {
                            text += m->get<std::string>();
                        }
                        if (!text.empty()) {
                            causes.push_back(text);
                        }
                    }
                }
            }
        }
    } catch (const json::exception&) {
        is_status = false;
    }
    if (!is_status) {
        // Not a Status object: say what came back without echoing a page of HTML.
        std::string snippet = response.body.substr(0, 120);
        std::replace_if(
            snippet.begin(), snippet.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
        message = snippet.empty() ? "empty body" : fmt::format("unexpected body: {}", snippet);
    }
    if (!causes.empty()) {
        message = fmt::format("{} ({})", message, fmt::join(causes, "; "));
    }
    const std::string where = fmt::format("{} at {}", what, response.url);
    const bool test_failed = message.find("test failed") != std::string::npos ||
                             message.find("Testing value") != std::string::npos ||
                             message.find("testing value") != std::string::npos;
    if (code == 404) {
        return make_error(Errc::not_found, fmt::format("{}: not found ({})", what, message), code);
    }
    if (code == 401) {
        return make_error(
            Errc::access_denied,
            fmt::format("{}: the API server did not accept the credentials (401: {}); check the "
                        "context's token or request access",
                        what, message),
            code);
    }
    if (code == 403) {
        return make_error(Errc::access_denied,
                          fmt::format("{}: forbidden by the API server: {}", what, message), code);
    }
    if (code == 409 || ((code == 422 || code == 500) && test_failed)) {
        return make_error(
            Errc::conflict,
            fmt::format("{}: the object changed since it was read ({}); nothing was overwritten, "
                        "look at it again and retry",
                        what, message),
            code);
    }
    if (code == 422 || code == 400) {
        return make_error(Errc::invalid,
                          fmt::format("{}: the API server refused the request: {}", what, message),
                          code);
    }
    if (code == 410) {
        return make_error(Errc::conflict,
                          fmt::format("{}: {} (resource version expired)", what, message), code);
    }
    if (code == 429 || code >= 500) {
        return make_error(
            Errc::unavailable,
            fmt::format("{}: API server unavailable (HTTP {}: {})", where, code, message), code,
            true);
    }
    if (!is_status) {
        return make_error(Errc::bad_response, fmt::format("{}: HTTP {} ({})", where, code, message),
                          code);
    }
    return make_error(Errc::http_status,
                      fmt::format("{}: HTTP {} {}: {}", where, code, reason, message), code);
}

} // namespace oncall::kube
