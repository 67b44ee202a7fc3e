#include "tables.h"

#include <fmt/format.h>

namespace sandbox {

using nlohmann::json;

namespace {

json column(const char* name, const char* type, const char* description, int priority = 0,
            const char* format = "") {
    return json{{"name", name},
                {"type", type},
                {"format", format},
                {"description", description},
                {"priority", priority}};
}

std::string age(const json& object, SysTime now) {
    const std::string created = str_at(object, "metadata", "creationTimestamp");
    if (created.empty())
        return "<unknown>";
    return human_duration(
        std::chrono::duration_cast<std::chrono::seconds>(now - parse_k8s_time(created)));
}

std::string containers_of(const json& tmpl_spec, const char* field) {
    std::vector<std::string> out;
    if (tmpl_spec.contains("containers") && tmpl_spec["containers"].is_array()) {
        for (const auto& c : tmpl_spec["containers"])
            out.push_back(c.value(field, ""));
    }
    return fmt::format("{}", fmt::join(out, ","));
}

std::string selector_text(const json& selector) {
    std::vector<std::string> parts;
    if (selector.contains("matchLabels") && selector["matchLabels"].is_object()) {
        for (const auto& [k, v] : selector["matchLabels"].items()) {
            parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
        }
    }
    return fmt::format("{}", fmt::join(parts, ","));
}

int int_field(const json& o, const char* a, const char* b) {
    if (!o.contains(a) || !o[a].is_object())
        return 0;
    const auto& inner = o[a];
    return inner.contains(b) && inner[b].is_number_integer() ? inner[b].get<int>() : 0;
}

json deployment_row(const json& d, SysTime now) {
    const json& spec = d.value("spec", json::object());
    const json tmpl_spec =
        spec.contains("template") ? spec["template"].value("spec", json::object()) : json::object();
    return json::array(
        {str_at(d, "metadata", "name"),
         fmt::format("{}/{}", int_field(d, "status", "readyReplicas"), spec.value("replicas", 0)),
         int_field(d, "status", "updatedReplicas"), int_field(d, "status", "availableReplicas"),
         age(d, now), containers_of(tmpl_spec, "name"), containers_of(tmpl_spec, "image"),
         selector_text(spec.value("selector", json::object()))});
}

json replicaset_row(const json& rs, SysTime now) {
    const json& spec = rs.value("spec", json::object());
    const json tmpl_spec =
        spec.contains("template") ? spec["template"].value("spec", json::object()) : json::object();
    return json::array({str_at(rs, "metadata", "name"), spec.value("replicas", 0),
                        int_field(rs, "status", "replicas"),
                        int_field(rs, "status", "readyReplicas"), age(rs, now),
                        containers_of(tmpl_spec, "name"), containers_of(tmpl_spec, "image"),
                        selector_text(spec.value("selector", json::object()))});
}

json pod_row(const json& pod, SysTime now) {
    const json status = pod.value("status", json::object());
    const json statuses = status.value("containerStatuses", json::array());
    int ready = 0, restarts = 0;
    std::string reason = status.value("phase", "Unknown");
    std::string last_restart;
    for (const auto& cs : statuses) {
        if (cs.value("ready", false))
            ++ready;
        restarts += cs.value("restartCount", 0);
        if (cs.contains("state") && cs["state"].contains("waiting")) {
            const std::string r = cs["state"]["waiting"].value("reason", "");
            if (!r.empty())
                reason = r;
        }
        if (cs.contains("lastState") && cs["lastState"].contains("terminated")) {
            last_restart = cs["lastState"]["terminated"].value("finishedAt", "");
        }
    }
    const std::size_t total = pod.contains("spec") && pod["spec"].contains("containers")
                                  ? pod["spec"]["containers"].size()
                                  : 0;
    std::string restart_text = std::to_string(restarts);
    if (restarts > 0 && !last_restart.empty()) {
        restart_text += " (" +
                        human_duration(std::chrono::duration_cast<std::chrono::seconds>(
                            now - parse_k8s_time(last_restart))) +
                        " ago)";
    }
    return json::array({str_at(pod, "metadata", "name"), fmt::format("{}/{}", ready, total), reason,
                        restart_text, age(pod, now), status.value("podIP", "<none>"),
                        str_at(pod, "spec", "nodeName"), "<none>", "<none>"});
}

json event_row(const json& e, SysTime now) {
    const std::string last =
        e.value("lastTimestamp", json()).is_string() ? e["lastTimestamp"].get<std::string>() : "";
    const std::string last_seen =
        last.empty() ? "<unknown>"
                     : human_duration(std::chrono::duration_cast<std::chrono::seconds>(
                           now - parse_k8s_time(last)));
    const json io = e.value("involvedObject", json::object());
    std::string kind = io.value("kind", "");
    for (auto& ch : kind)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return json::array({last_seen, e.value("type", ""), e.value("reason", ""),
                        kind + "/" + io.value("name", ""), e.value("message", "")});
}

} // namespace

json to_table(const std::string& resource, const std::vector<json>& objects, SysTime now,
              IncludeObject include, const json& list_metadata) {
    json columns;
    std::function<json(const json&)> cells;
    if (resource == "deployments") {
        columns = json::array(
            {column("Name", "string", "Name must be unique within a namespace.", 0, "name"),
             column("Ready", "string", "Number of the pod with ready state"),
             column("Up-to-date", "integer",
                    "Total number of non-terminated pods targeted by this deployment that have the "
                    "desired template spec."),
             column("Available", "integer",
                    "Total number of available pods (ready for at least minReadySeconds) targeted "
                    "by this deployment."),
             column("Age", "string",
                    "CreationTimestamp is a timestamp representing the server time when this "
                    "object was created."),
             column("Containers", "string", "Names of each container in the template.", 1),
             column("Images", "string", "Images referenced by each container in the template.", 1),
             column("Selector", "string", "Label selector for pods.", 1)});
        cells = [&](const json& o) { return deployment_row(o, now); };
    } else if (resource == "replicasets") {
        columns = json::array(
            {column("Name", "string", "Name must be unique within a namespace.", 0, "name"),
             column("Desired", "integer", "Replicas is the number of desired replicas."),
             column("Current", "integer",
                    "Replicas is the most recently observed number of replicas."),
             column("Ready", "integer", "The number of ready replicas for this replica set."),
             column("Age", "string",
                    "CreationTimestamp is a timestamp representing the server time when this "
                    "object was created."),
             column("Containers", "string", "Names of each container in the template.", 1),
             column("Images", "string", "Images referenced by each container in the template.", 1),
             column("Selector", "string",
                    "Selector is a label query over pods that should match the replica count.",
                    1)});
        cells = [&](const json& o) { return replicaset_row(o, now); };
    } else if (resource == "pods") {
        columns = json::array(
            {column("Name", "string", "Name must be unique within a namespace.", 0, "name"),
             column("Ready", "string",
                    "The aggregate readiness state of this pod for accepting traffic."),
             column("Status", "string", "The aggregate status of the containers in this pod."),
             column("Restarts", "string",
                    "The number of times the containers in this pod have been restarted and when "
                    "the last container in this pod has restarted."),
             column("Age", "string",
                    "CreationTimestamp is a timestamp representing the server time when this "
                    "object was created."),
             column("IP", "string",
                    "IP address allocated to the pod. Routable at least within the cluster. Empty "
                    "if not yet allocated.",
                    1),
             column("Node", "string",
                    "NodeName is a request to schedule this pod onto a specific node.", 1),
             column("Nominated Node", "string",
                    "nominatedNodeName is set when this pod preempts other pods on the node.", 1),
             column("Readiness Gates", "string",
                    "If specified, all readiness gates will be evaluated for pod readiness.", 1)});
        cells = [&](const json& o) { return pod_row(o, now); };
    } else if (resource == "events") {
        columns = json::array(
            {column("Last Seen", "string",
                    "The time at which the most recent occurrence of this event was recorded."),
             column(
                 "Type", "string",
                 "Type of this event (Normal, Warning), new types could be added in the future."),
             column("Reason", "string",
                    "This should be a short, machine understandable string that gives the reason "
                    "for the transition into the object's current status."),
             column("Object", "string", "The object that this event is about."),
             column("Message", "string",
                    "A human-readable description of the status of this operation.")});
        cells = [&](const json& o) { return event_row(o, now); };
    } else if (resource == "secrets") {
        columns = json::array(
            {column("Name", "string", "Name must be unique within a namespace.", 0, "name"),
             column("Type", "string", "The type of the secret"),
             column("Data", "string", "The number of data entries in the secret"),
             column("Age", "string",
                    "CreationTimestamp is a timestamp representing the server time when this "
                    "object was created.")});
        cells = [&](const json& o) {
            const std::size_t n =
                o.contains("data") && o["data"].is_object() ? o["data"].size() : 0;
            return json::array(
                {str_at(o, "metadata", "name"), o.value("type", "Opaque"), n, age(o, now)});
        };
    } else if (resource == "serviceaccounts") {
        columns = json::array(
            {column("Name", "string", "Name must be unique within a namespace.", 0, "name"),
             column("Secrets", "string",
                    "Secrets is a list of the secrets in the same namespace that pods running "
                    "using this ServiceAccount are allowed to use."),
             column("Age", "string",
                    "CreationTimestamp is a timestamp representing the server time when this "
                    "object was created.")});
        cells = [&](const json& o) {
            const std::size_t n =
                o.contains("secrets") && o["secrets"].is_array() ? o["secrets"].size() : 0;
            return json::array({str_at(o, "metadata", "name"), n, age(o, now)});
        };
    } else if (resource == "certificatesigningrequests") {
        columns = json::array(
            {column("Name", "string", "Name must be unique within a namespace.", 0, "name"),
             column("Age", "string",
                    "CreationTimestamp is a timestamp representing the server time when this "
                    "object was created."),
             column("SignerName", "string", "Only the signer named here can sign this request."),
             column("Requestor", "string", "Name of the user who created the request."),
             column("RequestedDuration", "string",
                    "The requested duration of a signed certificate."),
             column("Condition", "string",
                    "The conditions of the request (Approved, Denied, Issued, Failed, Pending).")});
        cells = [&](const json& o) {
            std::string condition;
            const json& conditions = o.contains("status") && o["status"].is_object()
                                         ? o["status"].value("conditions", json::array())
                                         : json::array();
            for (const auto& c : conditions) {
                if (!c.is_object() || c.value("status", "") != "True")
                    continue;
                condition += (condition.empty() ? "" : ",") + c.value("type", std::string{});
            }
            if (o.contains("status") && o["status"].is_object() &&
                o["status"].contains("certificate")) {
                condition += condition.empty() ? "Issued" : ",Issued";
            }
            if (condition.empty())
                condition = "Pending";
            std::string requested = "<none>";
            if (o.contains("spec") && o["spec"].contains("expirationSeconds") &&
                o["spec"]["expirationSeconds"].is_number_integer()) {
                requested = human_duration(
                    std::chrono::seconds(o["spec"]["expirationSeconds"].get<long long>()));
            }
            return json::array({str_at(o, "metadata", "name"), age(o, now),
                                str_at(o, "spec", "signerName"), str_at(o, "spec", "username"),
                                requested, condition});
        };
    } else if (resource == "namespaces") {
        columns = json::array(
            {column("Name", "string", "Name must be unique within a namespace.", 0, "name"),
             column("Status", "string", "The status of the namespace"),
             column("Age", "string",
                    "CreationTimestamp is a timestamp representing the server time when this "
                    "object was created.")});
        cells = [&](const json& o) {
            return json::array(
                {str_at(o, "metadata", "name"), str_at(o, "status", "phase"), age(o, now)});
        };
    } else {
        columns = json::array(
            {column("Name", "string", "Name must be unique within a namespace.", 0, "name"),
             column("Created At", "date",
                    "CreationTimestamp is a timestamp representing the server time when this "
                    "object was created.")});
        cells = [&](const json& o) {
            return json::array(
                {str_at(o, "metadata", "name"), str_at(o, "metadata", "creationTimestamp")});
        };
    }
    json rows = json::array();
    for (const auto& o : objects) {
        json row = {{"cells", cells(o)}};
        if (include == IncludeObject::metadata) {
            row["object"] = {{"kind", "PartialObjectMetadata"},
                             {"apiVersion", "meta.k8s.io/v1"},
                             {"metadata", o.value("metadata", json::object())}};
        } else if (include == IncludeObject::object) {
            row["object"] = o;
        }
        rows.push_back(std::move(row));
    }
    return json{{"kind", "Table"},
                {"apiVersion", "meta.k8s.io/v1"},
                {"metadata", list_metadata},
                {"columnDefinitions", columns},
                {"rows", rows}};
}

} // namespace sandbox
