// The Kubernetes API client: generic verbs over oncall::http and the typed helpers built on them.

#include "backends/kubernetes/exec_credential.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/http/json.h"

#include <algorithm>
#include <fmt/format.h>
#include <unistd.h>

namespace oncall::kube {
namespace {

using nlohmann::json;

http::ClientOptions client_options(const Connection& c, std::function<void(std::string_view)> log,
                                   std::chrono::milliseconds timeout) {
    http::ClientOptions o;
    o.name = fmt::format("kubernetes API server");
    o.total_timeout = timeout;
    o.tls = c.tls();
    o.proxy_url = c.proxy_url;
    o.bearer_token = c.token;
    o.log = std::move(log);
    return o;
}

std::string append_query(std::string path, std::string_view name, std::string_view value) {
    path += path.find('?') == std::string::npos ? '?' : '&';
    path += name;
    path += '=';
    path += http::url_encode(value);
    return path;
}

// Depth-limited and without exceptions: a nesting bomb would otherwise overflow the stack when the
// decoders copy the parsed document.
Result<json> parse_json(const http::Response& response, std::string_view what) {
    return http::parse_json_body(response, what);
}

std::string write_path(const std::string& path, const WriteOptions& options, bool field_manager) {
    std::string p = path;
    if (field_manager) {
        p = append_query(p, "fieldManager", "oncall");
    }
    if (options.dry_run) {
        p = append_query(p, "dryRun", "All");
    }
    return p;
}

template <class T, class F> Result<List<T>> decode_list(Result<List<json>> raw, F decode) {
    if (!raw) {
        return std::move(raw).error();
    }
    List<T> out;
    out.resource_version = raw->resource_version;
    for (const auto& item : raw->items) {
        auto v = decode(item);
        if (!v) {
            return std::move(v).error();
        }
        out.items.push_back(std::move(*v));
    }
    return out;
}

} // namespace

http::ClientOptions api_server_options(const Connection& connection,
                                       std::function<void(std::string_view)> log,
                                       std::chrono::milliseconds timeout) {
    return client_options(connection, std::move(log), timeout);
}

const char* patch_content_type(PatchType type) noexcept {
    switch (type) {
    case PatchType::json_patch:
        return "application/json-patch+json";
    case PatchType::merge_patch:
        return "application/merge-patch+json";
    case PatchType::strategic_merge_patch:
        return "application/strategic-merge-patch+json";
    }
    return "application/json-patch+json";
}

KubeClient::KubeClient(Connection connection, std::function<void(std::string_view)> log,
                       std::chrono::milliseconds timeout)
    : m_connection(std::move(connection)), m_log(std::move(log)), m_timeout(timeout),
      m_http(client_options(m_connection, m_log, timeout)), m_stream_http([&] {
          auto o = client_options(m_connection, m_log, std::chrono::hours(24));
          o.retry = http::RetryPolicy::none();
          return o;
      }()) {}

http::Client KubeClient::http_client() const {
    std::lock_guard lock(*m_mutex);
    return m_http;
}

http::Client KubeClient::stream_client() const {
    std::lock_guard lock(*m_mutex);
    return m_stream_http;
}

bool KubeClient::refresh_exec_credential() const {
    std::lock_guard lock(*m_mutex);
    if (*m_refreshed) {
        return false; // once per client: a second 401 is the answer
    }
    *m_refreshed = true;
    if (m_log) {
        m_log("kubernetes API server answered 401: dropping the cached exec credential and running "
              "the plugin again");
    }
    auto credential = exec_credential(m_connection, ExecRun{true, true, m_log});
    if (!credential) {
        if (m_log) {
            m_log(credential.error().message);
        }
        return false;
    }
    apply_exec_credential(m_connection, *credential);
    m_http = http::Client(client_options(m_connection, m_log, m_timeout));
    auto o = client_options(m_connection, m_log, std::chrono::hours(24));
    o.retry = http::RetryPolicy::none();
    m_stream_http = http::Client(o);
    return true;
}

Result<http::Response> KubeClient::send(const http::Request& request) const {
    auto response = http_client().perform(request);
    if (response && response->status == 401 && m_connection.exec && !request.bearer_token &&
        refresh_exec_credential()) {
        response = http_client().perform(request);
    }
    return response;
}

Result<KubeClient> KubeClient::create(const config::KubernetesConfig& settings,
                                      std::function<void(std::string_view)> log) {
    auto c = resolve_connection(settings, ResolveOptions{true, log});
    if (!c) {
        return std::move(c).error();
    }
    if (c->insecure_skip_tls_verify && log) {
        log("warning: TLS verification of the Kubernetes API server is disabled "
            "(insecure-skip-tls-verify)");
    }
    return KubeClient(std::move(*c), std::move(log));
}

http::Request KubeClient::make_request(http::Method method,
                                       const std::string& path_and_query) const {
    http::Request r;
    r.method = method;
    r.url = m_connection.server + path_and_query;
    r.headers.push_back({"Accept", "application/json"});
    return r;
}

std::string Api::deployment_path(const std::string& ns, const std::string& name) {
    return fmt::format("/apis/apps/v1/namespaces/{}/deployments/{}", http::url_encode(ns),
                       http::url_encode(name));
}

Result<json> KubeClient::get(const std::string& path) const {
    auto response = send(make_request(http::Method::get, path));
    if (!response) {
        return std::move(response).error();
    }
    if (!response->is_success()) {
        return api_error(*response, fmt::format("GET {}", path));
    }
    return parse_json(*response, fmt::format("GET {}", path));
}

Result<std::string> KubeClient::get_text(const std::string& path) const {
    auto request = make_request(http::Method::get, path);
    request.headers = {{"Accept", "text/plain, */*"}};
    auto response = send(request);
    if (!response) {
        return std::move(response).error();
    }
    if (!response->is_success()) {
        return api_error(*response, fmt::format("GET {}", path));
    }
    return std::move(response->body);
}

Result<List<json>> KubeClient::list(const std::string& path, const ListOptions& options) const {
    List<json> out;
    std::string token;
    for (int page = 0; page < 10000; ++page) {
        std::string p = path;
        if (!options.label_selector.empty()) {
            p = append_query(p, "labelSelector", options.label_selector);
        }
        if (!options.field_selector.empty()) {
            p = append_query(p, "fieldSelector", options.field_selector);
        }
        if (options.limit > 0) {
            p = append_query(p, "limit", std::to_string(options.limit));
        }
        if (!token.empty()) {
            p = append_query(p, "continue", token);
        }
        auto body = get(p);
        if (!body) {
            return std::move(body).error();
        }
        if (!body->is_object()) {
            return make_error(Errc::bad_response,
                              fmt::format("LIST {}: the answer is not a list object", path));
        }
        const auto items = body->find("items");
        if (items != body->end() && !items->is_null()) {
            if (!items->is_array()) {
                return make_error(Errc::bad_response,
                                  fmt::format("LIST {}: 'items' is not an array", path));
            }
            for (auto& item : *items) {
                out.items.push_back(std::move(item));
            }
        }
        std::string next;
        const auto md = body->find("metadata");
        if (md != body->end() && md->is_object()) {
            const auto rv = md->find("resourceVersion");
            if (rv != md->end() && rv->is_string()) {
                out.resource_version = rv->get<std::string>();
            }
            const auto cont = md->find("continue");
            if (cont != md->end() && cont->is_string()) {
                next = cont->get<std::string>();
            }
        }
        if (next.empty()) {
            return out;
        }
        if (next == token) {
            return make_error(
                Errc::bad_response,
                fmt::format("LIST {}: the server returned the same continue token twice", path));
        }
        token = std::move(next);
    }
    return make_error(Errc::bad_response, fmt::format("LIST {}: too many pages", path));
}

Result<json> KubeClient::post(const std::string& path, const json& body,
                              const WriteOptions& options) const {
    auto request = make_request(http::Method::post, write_path(path, options, true));
    request.headers.push_back({"Content-Type", "application/json"});
    request.body = body.dump();
    request.bearer_token = options.bearer_token;
    auto response = send(request);
    if (!response) {
        return std::move(response).error();
    }
    if (!response->is_success()) {
        return api_error(*response, fmt::format("POST {}", path));
    }
    return parse_json(*response, fmt::format("POST {}", path));
}

Result<json> KubeClient::patch(const std::string& path, PatchType type, const std::string& body,
                               const WriteOptions& options) const {
    auto request = make_request(http::Method::patch, write_path(path, options, true));
    request.headers.push_back({"Content-Type", patch_content_type(type)});
    request.body = body;
    request.bearer_token = options.bearer_token;
    auto response = send(request);
    if (!response) {
        return std::move(response).error();
    }
    if (!response->is_success()) {
        return api_error(*response, fmt::format("PATCH {}", path));
    }
    return parse_json(*response, fmt::format("PATCH {}", path));
}

Result<json> KubeClient::put(const std::string& path, const json& body,
                             const WriteOptions& options) const {
    auto request = make_request(http::Method::put, write_path(path, options, true));
    request.headers.push_back({"Content-Type", "application/json"});
    request.body = body.dump();
    request.bearer_token = options.bearer_token;
    auto response = m_http.perform(request);
    if (!response) {
        return std::move(response).error();
    }
    if (!response->is_success()) {
        return api_error(*response, fmt::format("PUT {}", path));
    }
    return parse_json(*response, fmt::format("PUT {}", path));
}

Result<void> KubeClient::del(const std::string& path, const WriteOptions& options) const {
    auto request = make_request(http::Method::del, write_path(path, options, false));
    request.bearer_token = options.bearer_token;
    auto response = send(request);
    if (!response) {
        return std::move(response).error();
    }
    if (!response->is_success()) {
        return api_error(*response, fmt::format("DELETE {}", path));
    }
    // kube-apiserver answers a deletion with the object or a Status: anything else (a proxy's HTML
    // page with 200) does not show that the object is gone, and a revocation must not pretend so.
    auto body = parse_json(*response, fmt::format("DELETE {}", path));
    if (!body) {
        return std::move(body).error();
    }
    if (!body->is_object()) {
        return make_error(Errc::bad_response,
                          fmt::format("DELETE {} at {}: the answer is not a Kubernetes object",
                                      path, response->url));
    }
    return ok_result();
}

Result<WatchEvent> decode_watch_event(std::string_view line, std::string_view what,
                                      std::string_view url) {
    auto event = http::parse_json_text(line, fmt::format("{} at {}", what, url));
    if (!event) {
        return std::move(event).error();
    }
    if (!event->is_object() || !event->contains("type") || !(*event)["type"].is_string()) {
        return make_error(Errc::bad_response,
                          fmt::format("{} at {}: an event has no type", what, url));
    }
    WatchEvent e{(*event)["type"].get<std::string>(), json::object()};
    if (const auto it = event->find("object"); it != event->end()) {
        e.object = std::move(*it);
    }
    if (e.type == "ERROR") {
        http::Response fake;
        fake.status = 500;
        if (const auto code = e.object.is_object() ? e.object.find("code") : e.object.end();
            code != e.object.end() && code->is_number_integer() &&
            code->get<std::int64_t>() >= 100 && code->get<std::int64_t>() <= 599) {
            fake.status = code->get<long>();
        }
        fake.body = e.object.dump(-1, ' ', false, json::error_handler_t::replace);
        fake.url = std::string(url);
        return api_error(fake, what);
    }
    return e;
}

Result<void> KubeClient::watch(const std::string& path, const WatchOptions& options,
                               const std::function<bool(const WatchEvent&)>& on_event) const {
    std::string p = append_query(path, "watch", "1");
    if (!options.resource_version.empty()) {
        p = append_query(p, "resourceVersion", options.resource_version);
    }
    if (!options.label_selector.empty()) {
        p = append_query(p, "labelSelector", options.label_selector);
    }
    if (!options.field_selector.empty()) {
        p = append_query(p, "fieldSelector", options.field_selector);
    }
    p = append_query(p, "allowWatchBookmarks", "true");
    p = append_query(p, "timeoutSeconds",
                     std::to_string(std::max<long long>(1, options.timeout.count())));
    auto request = make_request(http::Method::get, p);
    request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout) +
                      std::chrono::seconds(5);

    std::string buffer;
    bool stopped = false;
    std::optional<Error> failure;
    const std::string what = fmt::format("WATCH {}", path);
    const std::string url = http::redact_url(request.url);
    auto handle_line = [&](std::string_view line) -> bool {
        if (line.empty()) {
            return true;
        }
        auto event = decode_watch_event(line, what, url);
        if (!event) {
            failure = std::move(event).error();
            return false;
        }
        if (!on_event(*event)) {
            stopped = true;
            return false;
        }
        return true;
    };
    auto result = stream_client().stream(request, [&](std::string_view chunk) {
        buffer.append(chunk);
        std::size_t start = 0;
        for (;;) {
            const auto nl = buffer.find('\n', start);
            if (nl == std::string::npos) {
                break;
            }
            if (!handle_line(std::string_view(buffer).substr(start, nl - start))) {
                return false;
            }
            start = nl + 1;
        }
        buffer.erase(0, start);
        if (buffer.size() > k_max_watch_event_bytes) {
            failure = make_error(
                Errc::bad_response,
                fmt::format("{} at {}: an event is longer than {} bytes; the server or a proxy "
                            "is misbehaving",
                            what, url, k_max_watch_event_bytes));
            return false;
        }
        return true;
    });
    if (failure) {
        return *failure;
    }
    if (stopped) {
        return ok_result();
    }
    if (!result) {
        return std::move(result).error();
    }
    if (!result->is_success()) {
        return api_error(*result, fmt::format("WATCH {}", path));
    }
    if (!buffer.empty() && !handle_line(buffer)) {
        if (failure) {
            return *failure;
        }
    }
    return ok_result();
}

Result<Deployment> Api::get_deployment(const std::string& ns, const std::string& name) const {
    auto body = get(deployment_path(ns, name));
    if (!body) {
        auto e = std::move(body).error();
        if (e.code == Errc::not_found) {
            e.message = fmt::format(
                "deployment {}/{} not found at {} (check the service's namespace and deployment "
                "in the configuration)",
                ns, name, server());
        }
        return e;
    }
    return decode_deployment(*body);
}

Result<List<ReplicaSet>> Api::list_replicasets(const std::string& ns,
                                               const ListOptions& options) const {
    return decode_list<ReplicaSet>(
        list(fmt::format("/apis/apps/v1/namespaces/{}/replicasets", http::url_encode(ns)), options),
        decode_replicaset);
}

Result<List<Pod>> Api::list_pods(const std::string& ns, const ListOptions& options) const {
    return decode_list<Pod>(
        list(fmt::format("/api/v1/namespaces/{}/pods", http::url_encode(ns)), options), decode_pod);
}

Result<std::vector<Revision>> Api::deployment_revisions(const Deployment& deployment) const {
    ListOptions options;
    options.label_selector = deployment.selector_string();
    auto rs = list_replicasets(deployment.metadata.namespace_name, options);
    if (!rs) {
        return std::move(rs).error();
    }
    return revisions_of(deployment, rs->items);
}

Result<std::vector<Pod>> Api::replicaset_pods(const ReplicaSet& replicaset) const {
    ListOptions options;
    std::vector<std::string> parts;
    for (const auto& [k, v] : replicaset.pod_template.labels) {
        parts.push_back(fmt::format("{}={}", k, v));
    }
    options.label_selector = fmt::format("{}", fmt::join(parts, ","));
    auto pods = list_pods(replicaset.metadata.namespace_name, options);
    if (!pods) {
        return std::move(pods).error();
    }
    std::vector<Pod> out;
    for (auto& p : pods->items) {
        const auto* owner = p.metadata.controller();
        if (owner != nullptr && owner->uid == replicaset.metadata.uid) {
            out.push_back(std::move(p));
        }
    }
    return out;
}

Result<std::string> Api::pod_logs(const std::string& ns, const std::string& pod,
                                  const std::string& container, std::optional<int> tail_lines,
                                  std::optional<int> since_seconds) const {
    std::string p = fmt::format("/api/v1/namespaces/{}/pods/{}/log", http::url_encode(ns),
                                http::url_encode(pod));
    if (!container.empty()) {
        p = append_query(p, "container", container);
    }
    if (tail_lines) {
        p = append_query(p, "tailLines", std::to_string(*tail_lines));
    }
    if (since_seconds) {
        p = append_query(p, "sinceSeconds", std::to_string(*since_seconds));
    }
    return get_text(p);
}

Result<std::vector<Event>> Api::events_for(const std::string& ns, const std::string& kind,
                                           const std::string& name) const {
    ListOptions options;
    options.field_selector =
        fmt::format("involvedObject.kind={},involvedObject.name={}", kind, name);
    auto raw = decode_list<Event>(
        list(fmt::format("/api/v1/namespaces/{}/events", http::url_encode(ns)), options),
        decode_event);
    if (!raw) {
        return std::move(raw).error();
    }
    std::vector<Event> out;
    for (auto& e : raw->items) {
        if (e.involved_object.kind == kind && e.involved_object.name == name) {
            out.push_back(std::move(e));
        }
    }
    return out;
}

json event_body(const ObjectReference& object, const std::string& type, const std::string& reason,
                const std::string& message) {
    const auto t = now();
    const std::string stamp = format_rfc3339(std::chrono::time_point_cast<std::chrono::seconds>(t));
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    json involved = {{"apiVersion", object.api_version},
                     {"kind", object.kind},
                     {"name", object.name},
                     {"namespace", object.namespace_name},
                     {"uid", object.uid}};
    if (!object.resource_version.empty()) {
        involved["resourceVersion"] = object.resource_version;
    }
    return {
        {"apiVersion", "v1"},
        {"kind", "Event"},
        {"metadata",
         {{"name", fmt::format("{}.{:x}", object.name,
                               std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count())},
          {"namespace", object.namespace_name}}},
        {"involvedObject", involved},
        {"reason", reason},
        {"message", message},
        {"type", type},
        {"source", {{"component", "oncall"}}},
        {"reportingComponent", "oncall"},
        {"reportingInstance", std::string(host)},
        {"firstTimestamp", stamp},
        {"lastTimestamp", stamp},
        {"count", 1},
    };
}

Result<Event> KubeClient::create_event(const ObjectReference& object, const std::string& type,
                                       const std::string& reason, const std::string& message,
                                       const WriteOptions& options) const {
    const json body = event_body(object, type, reason, message);
    WriteOptions o = options;
    auto created = [&]() -> Result<json> {
        auto request = make_request(http::Method::post,
                                    write_path(fmt::format("/api/v1/namespaces/{}/events",
                                                           http::url_encode(object.namespace_name)),
                                               o, false));
        request.headers.push_back({"Content-Type", "application/json"});
        request.body = body.dump();
        request.bearer_token = o.bearer_token;
        auto response = send(request);
        if (!response) {
            return std::move(response).error();
        }
        if (!response->is_success()) {
            return api_error(*response, "create event");
        }
        return parse_json(*response, "create event");
    }();
    if (!created) {
        return std::move(created).error();
    }
    return decode_event(*created);
}

} // namespace oncall::kube
