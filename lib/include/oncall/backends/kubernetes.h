#pragma once
// Kubernetes API client: connection settings (from the oncall context or a kubeconfig file),
// generic verbs (get, list following `continue`, post, patch, delete, watch), kube-apiserver Status
// objects decoded into Errors, and typed models of the objects oncall reads (apps/v1 Deployments
// and ReplicaSets, core/v1 Pods and Events) with tolerant, type-strict decoders.

#include "oncall/backends/kubeconfig.h"
#include "oncall/config/config.h"
#include "oncall/core/result.h"
#include "oncall/core/time.h"
#include "oncall/core/untrusted.h"
#include "oncall/http/client.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oncall::kube {

// ---------------------------------------------------------------------------------------------
// Connection

/// Where the API server is and how to authenticate, after the context or kubeconfig is resolved
/// (and, for an exec plugin, after the plugin ran or its cached credential was read).
struct Connection {
    std::string server; // https://host:port[/path] (no trailing slash)
    std::string
        namespace_name;  // the kubeconfig context's namespace, else the context's, else "default"
    std::string token;   // bearer token ("" for none); never logged
    std::string ca_file; // CA bundle path ("" for the system store or ca_pem)
    std::string ca_pem;  // CA bundle in memory (certificate-authority-data)
    std::string client_cert_file;
    std::string client_cert_pem;
    std::string client_key_file;
    std::string client_key_pem; // a secret; never logged
    std::string tls_server_name;
    std::string proxy_url;
    bool insecure_skip_tls_verify = false;
    std::optional<ExecConfig> exec; // the plugin the credential came from (401 runs it again)
    std::string exec_cluster_json;  // KUBERNETES_EXEC_INFO's cluster, when provideClusterInfo
    std::string origin; // what it came from, for messages ("kubeconfig ~/.kube/config context x")
    std::string kube_context; // the kubeconfig context used ("" with server:)

    /// The HTTP layer's TLS options for this server.
    http::TlsOptions tls() const;
    /// The CA bundle that verifies the server, as PEM ("" when the system store is used); reads
    /// ca_file when the bundle is not in memory. For binding records to this server's identity.
    Result<std::string> ca_bundle() const;
};

/// How resolve_connection may obtain credentials.
struct ResolveOptions {
    /// False during shell completion: a plugin that needs the terminal is not started.
    bool allow_interactive = true;
    /// Receives redacted diagnostic lines (-v).
    std::function<void(std::string_view)> log;
    /// When non-zero, the exec plugin's deadline (completion keeps a TAB short).
    std::chrono::milliseconds exec_deadline{0};
};

/// Resolves the context's Kubernetes settings: `server:` with its own credentials, or a kubeconfig
/// (`kubeconfig:` files, else $KUBECONFIG, else ~/.kube/config; `kube-context:`, else its
/// current-context) with the context's keys (token-env, ca-file, cert-file, ...) applied on top.
/// Runs the user's exec plugin, or reads its cached credential, when nothing else authenticates.
Result<Connection> resolve_connection(const config::KubernetesConfig& settings,
                                      const ResolveOptions& options = {});

/// The kubeconfig part of resolve_connection without running any plugin (the exec config is
/// left in Connection::exec): for the namespace, `config view` and tests.
Result<Connection> resolve_connection_settings(const config::KubernetesConfig& settings);

/// Fills what a context leaves to the kubeconfig, without running any plugin: the namespace
/// (kubernetes.namespace, else the kubeconfig context's, else "default") and, for the implicit
/// context, its name (the kubeconfig context's). An unreadable kubeconfig leaves "default" and the
/// error for the first connection.
void complete_context(config::Context& context);

/// A connection from a merged kubeconfig's context (empty `context_name`: its current-context).
/// Refuses auth-provider users (naming the exec form of kubelogin), basic auth, and what kubectl's
/// validation refuses (a certificate without a key, both a file and data, missing files).
Result<Connection> connection_from_kubeconfig(const Kubeconfig& kubeconfig,
                                              const std::string& context_name);

/// Parses kubeconfig YAML text of one file; `path` resolves relative file references and names the
/// file in errors. An empty `context_name` means the file's current-context. No plugin is run.
Result<Connection> parse_kubeconfig(const std::string& text, const std::string& path,
                                    const std::string& context_name);

// ---------------------------------------------------------------------------------------------
// Errors

/// Decodes a non-2xx response (a kube-apiserver Status object, or anything else) into an Error:
/// 404 not_found, 401/403 access_denied, 409 and failed json-patch `test` ops conflict, 422 invalid
/// (with the causes), 5xx unavailable, garbage bad_response. `what` names the request ("get
/// deployment shop/checkout").
Error api_error(const http::Response& response, std::string_view what);

/// HTTP client options that reach the connection's API server (the URL aside): its TLS settings
/// and credentials, named "kubernetes API server" in messages. Services reached through the API
/// server's service proxy use them too.
http::ClientOptions api_server_options(const Connection& connection,
                                       std::function<void(std::string_view)> log,
                                       std::chrono::milliseconds timeout);

// ---------------------------------------------------------------------------------------------
// Models

struct OwnerReference {
    std::string api_version;
    std::string kind;
    std::string name;
    std::string uid;
    bool controller = false;
};

struct ObjectMeta {
    std::string name;
    std::string namespace_name;
    std::string uid;
    std::string resource_version;
    std::int64_t generation = 0;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    std::optional<TimePoint> creation_timestamp;
    std::vector<OwnerReference> owner_references;

    /// The owner reference with controller=true, if any.
    const OwnerReference* controller() const;
};

struct Container {
    std::string name;
    std::string image;
};

/// A pod template: labels, annotations and containers, plus the raw JSON (for patches).
struct PodTemplate {
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    std::vector<Container> containers;
    std::vector<Container> init_containers;
    nlohmann::json raw = nlohmann::json::object();
};

struct Condition {
    std::string type;
    std::string status; // "True", "False", "Unknown"
    std::string reason;
    std::string message;
    std::optional<TimePoint> last_update_time;
    std::optional<TimePoint> last_transition_time;
};

struct DeploymentStatus {
    std::int64_t observed_generation = 0;
    int replicas = 0;
    int updated_replicas = 0;
    int ready_replicas = 0;
    int available_replicas = 0;
    int unavailable_replicas = 0;
    std::vector<Condition> conditions;

    /// The condition of this type, if present.
    const Condition* condition(std::string_view type) const;
};

struct Deployment {
    ObjectMeta metadata;
    int replicas = 1;                              // spec.replicas (default 1)
    std::map<std::string, std::string> selector;   // spec.selector.matchLabels
    std::vector<std::string> selector_expressions; // matchExpressions rendered as selector text
    bool paused = false;
    std::optional<int> progress_deadline_seconds;
    PodTemplate pod_template;
    DeploymentStatus status;
    nlohmann::json raw = nlohmann::json::object();

    /// The label selector as `a=b,c in (d)` for list requests.
    std::string selector_string() const;
};

struct ReplicaSetStatus {
    int replicas = 0;
    int ready_replicas = 0;
    int available_replicas = 0;
    std::int64_t observed_generation = 0;
};

struct ReplicaSet {
    ObjectMeta metadata;
    int replicas = 0;
    PodTemplate pod_template;
    ReplicaSetStatus status;
    std::optional<long> revision; // annotation deployment.kubernetes.io/revision
};

struct ContainerStatus {
    std::string name;
    std::string image;
    std::string image_id;
    bool ready = false;
    int restart_count = 0;
    std::string waiting_reason; // CrashLoopBackOff, ImagePullBackOff, ErrImagePull, ...
    std::string waiting_message;
    std::string terminated_reason;
    std::string last_terminated_reason;
};

struct Pod {
    ObjectMeta metadata;
    std::string phase;
    std::string node_name;
    std::vector<Container> containers;
    std::vector<ContainerStatus> container_statuses;
    std::vector<Condition> conditions;

    /// True when the pod's Ready condition is True.
    bool ready() const;
};

struct ObjectReference {
    std::string api_version;
    std::string kind;
    std::string name;
    std::string namespace_name;
    std::string uid;
    std::string resource_version;
};

struct Event {
    ObjectMeta metadata;
    ObjectReference involved_object;
    std::string type; // Normal, Warning
    std::string reason;
    std::string message;
    std::string source_component;
    int count = 0;
    std::optional<TimePoint> first_timestamp;
    std::optional<TimePoint> last_timestamp;
};

/// A list's items and the resourceVersion to watch from.
template <class T> struct List {
    std::vector<T> items;
    std::string resource_version;
};

/// Decoders: tolerant of missing fields (defaults), strict about wrong types (Errc::bad_response
/// naming the field), never throwing.
Result<ObjectMeta> decode_metadata(const nlohmann::json& object);
Result<Deployment> decode_deployment(const nlohmann::json& object);
Result<ReplicaSet> decode_replicaset(const nlohmann::json& object);
Result<Pod> decode_pod(const nlohmann::json& object);
Result<Event> decode_event(const nlohmann::json& object);

// ---------------------------------------------------------------------------------------------
// Revisions (DESIGN.md: "Kubernetes semantics")

inline constexpr const char* k_revision_annotation = "deployment.kubernetes.io/revision";
inline constexpr const char* k_change_cause_annotation = "kubernetes.io/change-cause";
inline constexpr const char* k_pod_template_hash_label = "pod-template-hash";

/// One revision of a Deployment: a ReplicaSet it controls.
struct Revision {
    long number = 0;
    std::vector<std::string> artifacts;   // container images of the template, in order
    std::optional<TimePoint> deployed_at; // the ReplicaSet's creation time
    Untrusted change_cause;               // whoever annotated the ReplicaSet wrote it
    bool current = false;
    std::string replicaset;                         // name
    int replicas = 0;                               // spec.replicas of the ReplicaSet
    std::map<std::string, std::string> annotations; // the ReplicaSet's own annotations
    PodTemplate pod_template;
};

/// The revisions of `deployment` among `replicasets` (only those controlled by its uid and carrying
/// a revision annotation), newest first; the current one is the ReplicaSet whose template matches
/// the Deployment's (ignoring pod-template-hash), else the highest revision.
std::vector<Revision> revisions_of(const Deployment& deployment,
                                   const std::vector<ReplicaSet>& replicasets);

/// True when two pod templates are equal ignoring the pod-template-hash label.
bool same_template(const nlohmann::json& a, const nlohmann::json& b);

// ---------------------------------------------------------------------------------------------
// Client

/// Content type of a PATCH.
enum class PatchType { json_patch, merge_patch, strategic_merge_patch };

/// "application/json-patch+json", ...
const char* patch_content_type(PatchType type) noexcept;

/// Options of a write request.
struct WriteOptions {
    bool dry_run = false;                    // ?dryRun=All
    std::optional<std::string> bearer_token; // overrides the connection's token (grant tokens)
};

struct ListOptions {
    std::string label_selector;
    std::string field_selector;
    int limit = 500; // page size; `continue` is followed until the end
};

struct WatchEvent {
    std::string type; // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
    nlohmann::json object;
};

/// Longest event line a watch stream may send; a longer one is Errc::bad_response.
inline constexpr std::size_t k_max_watch_event_bytes = 16u << 20u;

/// Decodes one line of a watch stream: a JSON object with a string `type` and an `object`. An ERROR
/// event becomes the Error its Status describes; a line that is not such an object (or is nested
/// deeper than http::k_max_json_depth) is Errc::bad_response. `what` and `url` name the stream.
Result<WatchEvent> decode_watch_event(std::string_view line, std::string_view what,
                                      std::string_view url);

struct WatchOptions {
    std::string resource_version;
    std::string label_selector;
    std::string field_selector;
    std::chrono::seconds timeout{300}; // server-side timeoutSeconds and the client's bound
};

/// The Kubernetes API as the use cases see it: the generic verbs (implemented by KubeClient over
/// HTTP, and by in-memory fakes in tests) and typed helpers built on them. Requests go to paths
/// like
/// "/apis/apps/v1/namespaces/shop/deployments".
class Api {
public:
    virtual ~Api() = default;

    /// The API server's URL, for messages.
    virtual std::string server() const = 0;
    /// GET a JSON object.
    virtual Result<nlohmann::json> get(const std::string& path) const = 0;
    /// GET text (pod logs).
    virtual Result<std::string> get_text(const std::string& path) const = 0;
    /// LIST a collection following `continue`; returns every item and the list's resourceVersion.
    virtual Result<List<nlohmann::json>> list(const std::string& path,
                                              const ListOptions& options = {}) const = 0;
    /// POST an object; returns the created object.
    virtual Result<nlohmann::json> post(const std::string& path, const nlohmann::json& body,
                                        const WriteOptions& options = {}) const = 0;
    /// PATCH with fieldManager=oncall (and dryRun=All when asked); returns the patched object.
    virtual Result<nlohmann::json> patch(const std::string& path, PatchType type,
                                         const std::string& body,
                                         const WriteOptions& options = {}) const = 0;
    /// PUT an object (replace, e.g. a CSR's approval subresource); returns the stored object.
    /// A client without PUT (an in-memory fake) answers Errc::internal.
    virtual Result<nlohmann::json> put(const std::string& /*path*/, const nlohmann::json& /*body*/,
                                       const WriteOptions& /*options*/ = {}) const {
        return make_error(Errc::internal, "this Kubernetes client does not support PUT");
    }
    /// DELETE an object.
    virtual Result<void> del(const std::string& path, const WriteOptions& options = {}) const = 0;
    /// WATCH a collection from a resourceVersion; each event goes to on_event, which returns false
    /// to stop. Returns when stopped, when the server ends the stream, or on error (410 Gone is
    /// Errc::conflict).
    virtual Result<void> watch(const std::string& path, const WatchOptions& options,
                               const std::function<bool(const WatchEvent&)>& on_event) const = 0;
    /// Creates a core/v1 Event on an object (reason, message, type Normal/Warning).
    virtual Result<Event> create_event(const ObjectReference& object, const std::string& type,
                                       const std::string& reason, const std::string& message,
                                       const WriteOptions& options = {}) const = 0;

    // Typed helpers over the verbs.
    Result<Deployment> get_deployment(const std::string& ns, const std::string& name) const;
    Result<List<ReplicaSet>> list_replicasets(const std::string& ns,
                                              const ListOptions& options) const;
    Result<List<Pod>> list_pods(const std::string& ns, const ListOptions& options) const;
    /// The revisions of a Deployment (ReplicaSets by its selector, owned by its uid), newest first.
    Result<std::vector<Revision>> deployment_revisions(const Deployment& deployment) const;
    /// Pods of one ReplicaSet (by its pod-template-hash and controller uid).
    Result<std::vector<Pod>> replicaset_pods(const ReplicaSet& replicaset) const;
    /// Last lines of a container's log (tail_lines / since_seconds when set).
    Result<std::string> pod_logs(const std::string& ns, const std::string& pod,
                                 const std::string& container, std::optional<int> tail_lines,
                                 std::optional<int> since_seconds) const;
    /// Events whose involvedObject is the named object.
    Result<std::vector<Event>> events_for(const std::string& ns, const std::string& kind,
                                          const std::string& name) const;

    /// Path of a Deployment: /apis/apps/v1/namespaces/<ns>/deployments/<name>.
    static std::string deployment_path(const std::string& ns, const std::string& name);
};

/// The body of a core/v1 Event on `object` as create_event posts it.
nlohmann::json event_body(const ObjectReference& object, const std::string& type,
                          const std::string& reason, const std::string& message);

/// A Kubernetes API client over HTTP.
class KubeClient final : public Api {
public:
    /// Builds a client for a resolved connection; `log` receives redacted diagnostic lines.
    explicit KubeClient(Connection connection, std::function<void(std::string_view)> log = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(15));

    /// Resolves the context's settings and builds the client.
    static Result<KubeClient> create(const config::KubernetesConfig& settings,
                                     std::function<void(std::string_view)> log = {});

    const Connection& connection() const { return m_connection; }

    std::string server() const override { return m_connection.server; }
    Result<nlohmann::json> get(const std::string& path) const override;
    Result<std::string> get_text(const std::string& path) const override;
    Result<List<nlohmann::json>> list(const std::string& path,
                                      const ListOptions& options = {}) const override;
    Result<nlohmann::json> post(const std::string& path, const nlohmann::json& body,
                                const WriteOptions& options = {}) const override;
    Result<nlohmann::json> patch(const std::string& path, PatchType type, const std::string& body,
                                 const WriteOptions& options = {}) const override;
    Result<nlohmann::json> put(const std::string& path, const nlohmann::json& body,
                               const WriteOptions& options = {}) const override;
    Result<void> del(const std::string& path, const WriteOptions& options = {}) const override;
    Result<void> watch(const std::string& path, const WatchOptions& options,
                       const std::function<bool(const WatchEvent&)>& on_event) const override;
    Result<Event> create_event(const ObjectReference& object, const std::string& type,
                               const std::string& reason, const std::string& message,
                               const WriteOptions& options = {}) const override;

private:
    http::Request make_request(http::Method method, const std::string& path_and_query) const;
    /// Sends a request; a 401 to a credential from an exec plugin runs the plugin again (once per
    /// client, the cached credential dropped) and sends the request once more.
    Result<http::Response> send(const http::Request& request) const;
    bool refresh_exec_credential() const;
    http::Client http_client() const;
    http::Client stream_client() const;

    mutable Connection m_connection;
    std::function<void(std::string_view)> m_log;
    std::chrono::milliseconds m_timeout;
    mutable http::Client m_http;
    mutable http::Client m_stream_http;
    std::shared_ptr<std::mutex> m_mutex = std::make_shared<std::mutex>();
    std::shared_ptr<bool> m_refreshed = std::make_shared<bool>(false);
};

} // namespace oncall::kube
