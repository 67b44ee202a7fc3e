// Pure planners of rollback and redeploy.

#include "oncall/ops/deploy_plan.h"

#include "oncall/config/config.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

namespace oncall::ops {
namespace {

using nlohmann::json;

// Annotations a rollback keeps from the Deployment instead of copying them from the ReplicaSet
// (kubectl's annotationsToSkip).
const std::set<std::string, std::less<>> k_annotations_to_skip = {
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
};

std::string join_revisions(const std::vector<kube::Revision>& revisions) {
    std::vector<std::string> numbers;
    for (const auto& r : revisions) {
        numbers.push_back(std::to_string(r.number));
    }
    return fmt::format("{}", fmt::join(numbers, ", "));
}

std::string escape_pointer(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

} // namespace

const kube::Revision* current_revision(const std::vector<kube::Revision>& revisions) {
    for (const auto& r : revisions) {
        if (r.current) {
            return &r;
        }
    }
    return nullptr;
}

Result<TargetChoice> choose_rollback_target(const std::vector<kube::Revision>& revisions,
                                            std::optional<long> to_revision) {
    if (revisions.empty()) {
        return make_error(Errc::not_found,
                          "the deployment has no revisions (no ReplicaSets it controls)");
    }
    const auto* current = current_revision(revisions);
    if (to_revision) {
        for (const auto& r : revisions) {
            if (r.number == *to_revision) {
                return TargetChoice{&r,
                                    fmt::format("requested with --to-revision {}", *to_revision)};
            }
        }
        return make_error(Errc::not_found,
                          fmt::format("revision {} does not exist; known revisions: {} (see "
                                      "'oncall history')",
                                      *to_revision, join_revisions(revisions)));
    }
    if (current == nullptr) {
        return make_error(Errc::not_found, "no revision matches the deployment's current template");
    }
    for (const auto& r : revisions) {
        if (r.number < current->number && r.artifacts != current->artifacts) {
            return TargetChoice{
                &r, fmt::format("previous revision: the newest revision before {} with different "
                                "artifacts",
                                current->number)};
        }
    }
    return make_error(
        Errc::not_found,
        fmt::format("no revision older than {} runs different artifacts; known revisions: {}",
                    current->number, join_revisions(revisions)));
}

std::optional<GitOpsOwner> gitops_owner_of(const kube::Deployment& deployment) {
    const auto& labels = deployment.metadata.labels;
    const auto& annotations = deployment.metadata.annotations;
    auto value = [](const std::map<std::string, std::string>& m, const char* key) {
        const auto it = m.find(key);
        return it == m.end() ? std::string() : it->second;
    };
    if (auto app = value(labels, "argocd.argoproj.io/instance"); !app.empty()) {
        return GitOpsOwner{GitOpsOwner::Tool::argocd, app, ""};
    }
    if (auto id = value(annotations, "argocd.argoproj.io/tracking-id"); !id.empty()) {
        return GitOpsOwner{GitOpsOwner::Tool::argocd, id.substr(0, id.find(':')), ""};
    }
    if (auto name = value(labels, "kustomize.toolkit.fluxcd.io/name"); !name.empty()) {
        return GitOpsOwner{GitOpsOwner::Tool::flux_kustomization, name,
                           value(labels, "kustomize.toolkit.fluxcd.io/namespace")};
    }
    if (auto name = value(labels, "helm.toolkit.fluxcd.io/name"); !name.empty()) {
        return GitOpsOwner{GitOpsOwner::Tool::flux_helmrelease, name,
                           value(labels, "helm.toolkit.fluxcd.io/namespace")};
    }
    return std::nullopt;
}

std::optional<std::string> gitops_owner(const kube::Deployment& deployment) {
    auto scan = [](const std::map<std::string, std::string>& m,
                   const char* where) -> std::optional<std::string> {
        for (const auto& [k, v] : m) {
            if (k.rfind("argocd.argoproj.io/", 0) == 0) {
                return fmt::format("Argo CD ({} {}={})", where, k, v);
            }
            if (k.rfind("kustomize.toolkit.fluxcd.io/", 0) == 0 ||
                k.rfind("helm.toolkit.fluxcd.io/", 0) == 0 || k.rfind("fluxcd.io/", 0) == 0) {
                return fmt::format("Flux ({} {}={})", where, k, v);
            }
        }
        return std::nullopt;
    };
    if (auto o = scan(deployment.metadata.labels, "label")) {
        return o;
    }
    if (auto o = scan(deployment.metadata.annotations, "annotation")) {
        return o;
    }
    const auto managed = deployment.metadata.labels.find("app.kubernetes.io/managed-by");
    if (managed != deployment.metadata.labels.end()) {
        std::string v = managed->second;
        std::transform(v.begin(), v.end(), v.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (v == "argocd" || v == "argo-cd") {
            return fmt::format("Argo CD (label app.kubernetes.io/managed-by={})", managed->second);
        }
        if (v == "flux" || v == "fluxcd") {
            return fmt::format("Flux (label app.kubernetes.io/managed-by={})", managed->second);
        }
    }
    return std::nullopt;
}

std::string change_cause(const std::string& action, const std::string& actor,
                         const std::string& reason) {
    std::string text = fmt::format("oncall {} by {}", action, actor.empty() ? "unknown" : actor);
    if (!reason.empty()) {
        text += ": " + reason;
    }
    return text;
}

json build_rollback_patch(const kube::Deployment& deployment, const kube::Revision& target,
                          const std::string& cause) {
    json tmpl = target.pod_template.raw;
    if (tmpl.is_object() && tmpl.contains("metadata") && tmpl["metadata"].is_object() &&
        tmpl["metadata"].contains("labels") && tmpl["metadata"]["labels"].is_object()) {
        tmpl["metadata"]["labels"].erase(kube::k_pod_template_hash_label);
    }
    json annotations = json::object();
    for (const auto& [k, v] : deployment.metadata.annotations) {
        if (k_annotations_to_skip.count(k) > 0) {
            annotations[k] = v;
        }
    }
    for (const auto& [k, v] : target.annotations) {
        if (k_annotations_to_skip.count(k) == 0) {
            annotations[k] = v;
        }
    }
    annotations[kube::k_change_cause_annotation] = cause;
    return json::array({
        {{"op", "test"},
         {"path", "/metadata/resourceVersion"},
         {"value", deployment.metadata.resource_version}},
        {{"op", "replace"}, {"path", "/spec/template"}, {"value", tmpl}},
        {{"op", "replace"}, {"path", "/metadata/annotations"}, {"value", annotations}},
    });
}

json build_restart_patch(const kube::Deployment& deployment, const std::string& restarted_at,
                         const std::string& cause) {
    return {
        {"metadata",
         {{"resourceVersion", deployment.metadata.resource_version},
          {"annotations", {{kube::k_change_cause_annotation, cause}}}}},
        {"spec",
         {{"template",
           {{"metadata",
             {{"annotations", {{"kubectl.kubernetes.io/restartedAt", restarted_at}}}}}}}}},
    };
}

Result<ImageChange> parse_image_change(const std::string& text) {
    ImageChange change;
    std::string ref = text;
    const auto eq = text.find('=');
    if (eq != std::string::npos) {
        change.container = text.substr(0, eq);
        ref = text.substr(eq + 1);
        if (!config::is_dns1123_label(change.container)) {
            return make_error(Errc::invalid,
                              fmt::format("--image {}: '{}' is not a container name (use "
                                          "CONTAINER=REF or just REF)",
                                          text, change.container));
        }
    }
    auto parsed = registry::parse_image_reference(ref);
    if (!parsed) {
        return std::move(parsed).error();
    }
    change.reference = std::move(*parsed);
    return change;
}

Result<std::vector<ImageChange>> assign_containers(const kube::Deployment& deployment,
                                                   std::vector<ImageChange> changes) {
    const auto& containers = deployment.pod_template.containers;
    std::vector<std::string> names;
    for (const auto& c : containers) {
        names.push_back(c.name);
    }
    std::set<std::string> seen;
    for (auto& change : changes) {
        if (change.container.empty()) {
            if (containers.size() != 1) {
                return make_error(
                    Errc::usage,
                    fmt::format(
                        "deployment {} has {} containers ({}); name one: --image CONTAINER=REF",
                        deployment.metadata.name, containers.size(), fmt::join(names, ", ")));
            }
            change.container = containers[0].name;
        }
        if (std::find(names.begin(), names.end(), change.container) == names.end()) {
            return make_error(Errc::usage,
                              fmt::format("deployment {} has no container '{}' (containers: {})",
                                          deployment.metadata.name, change.container,
                                          fmt::join(names, ", ")));
        }
        if (!seen.insert(change.container).second) {
            return make_error(Errc::usage, fmt::format("container '{}' is given twice with --image",
                                                       change.container));
        }
    }
    return changes;
}

Result<std::vector<std::string>> allowed_repositories(const std::vector<std::string>& configured,
                                                      const kube::Deployment& deployment) {
    std::vector<std::string> out;
    if (!configured.empty()) {
        for (const auto& r : configured) {
            auto n = registry::normalize_repository(r);
            if (!n) {
                auto e = std::move(n).error();
                e.code = Errc::config;
                e.message = fmt::format("services.{}.repositories: {}", deployment.metadata.name,
                                        e.message);
                return e;
            }
            out.push_back(*n);
        }
    } else {
        for (const auto& c : deployment.pod_template.containers) {
            const std::string repo = registry::repository_of(c.image);
            if (!repo.empty() && std::find(out.begin(), out.end(), repo) == out.end()) {
                out.push_back(repo);
            }
        }
    }
    return out;
}

Result<void> check_reference_allowed(const registry::ImageReference& reference,
                                     const std::vector<std::string>& allowed,
                                     const std::string& service) {
    if (std::find(allowed.begin(), allowed.end(), reference.name()) != allowed.end()) {
        return ok_result();
    }
    return make_error(
        Errc::access_denied,
        fmt::format("{} may only run images from {}; '{}' is not one of them (add it to "
                    "services.{}.repositories in the configuration if it belongs there)",
                    service,
                    allowed.empty() ? std::string("(no repository)")
                                    : fmt::format("{}", fmt::join(allowed, ", ")),
                    reference.name(), service));
}

Result<json> build_image_patch(const kube::Deployment& deployment,
                               const std::vector<ImageChange>& changes, const std::string& cause) {
    json ops = json::array();
    ops.push_back({{"op", "test"},
                   {"path", "/metadata/resourceVersion"},
                   {"value", deployment.metadata.resource_version}});
    const auto& containers = deployment.pod_template.containers;
    for (const auto& change : changes) {
        if (change.reference.digest.empty()) {
            return make_error(Errc::internal, fmt::format("{} is not resolved to a digest",
                                                          change.reference.to_string()));
        }
        const auto it =
            std::find_if(containers.begin(), containers.end(),
                         [&](const kube::Container& c) { return c.name == change.container; });
        if (it == containers.end()) {
            return make_error(Errc::usage, fmt::format("no container '{}'", change.container));
        }
        const auto index = static_cast<std::size_t>(it - containers.begin());
        const std::string base = fmt::format("/spec/template/spec/containers/{}", index);
        ops.push_back({{"op", "test"}, {"path", base + "/name"}, {"value", change.container}});
        ops.push_back(
            {{"op", "replace"}, {"path", base + "/image"}, {"value", change.reference.pinned()}});
    }
    if (deployment.metadata.annotations.empty()) {
        ops.push_back({{"op", "add"},
                       {"path", "/metadata/annotations"},
                       {"value", {{kube::k_change_cause_annotation, cause}}}});
    } else {
        ops.push_back(
            {{"op", "add"},
             {"path", "/metadata/annotations/" + escape_pointer(kube::k_change_cause_annotation)},
             {"value", cause}});
    }
    return ops;
}

std::vector<std::string> images_after(const kube::Deployment& deployment,
                                      const std::vector<ImageChange>& changes) {
    std::vector<std::string> out;
    for (const auto& c : deployment.pod_template.containers) {
        std::string image = c.image;
        for (const auto& change : changes) {
            if (change.container == c.name) {
                image = change.reference.digest.empty() ? change.reference.to_string()
                                                        : change.reference.pinned();
            }
        }
        out.push_back(image);
    }
    return out;
}

} // namespace oncall::ops
