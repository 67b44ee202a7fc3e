#pragma once
// Pure planners of rollback and redeploy: which revision to go back to and why, who else owns the
// Deployment (GitOps), which images may run, and the exact patches (with their preconditions).

#include "oncall/backends/kubernetes.h"
#include "oncall/backends/registry.h"
#include "oncall/core/result.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace oncall::ops {

/// A revision and its artifacts, as plans and JSON show them.
struct RevisionRef {
    long revision = 0;
    std::vector<std::string> artifacts;
};

/// The revision a rollback goes to and the rule that chose it.
struct TargetChoice {
    const kube::Revision* revision = nullptr;
    std::string rule; // "requested with --to-revision 1", "previous revision (no metrics ...)", ...
};

/// The revision currently running (the one marked current), or nullptr.
const kube::Revision* current_revision(const std::vector<kube::Revision>& revisions);

/// Picks the target of --to-revision N (Errc::not_found listing the known revisions), else the
/// newest revision older than the current one whose artifacts differ from it ("previous revision"
/// rule). `revisions` is newest first as kube::revisions_of returns it.
Result<TargetChoice> choose_rollback_target(const std::vector<kube::Revision>& revisions,
                                            std::optional<long> to_revision);

/// Who else manages this Deployment: "Argo CD (label app.kubernetes.io/instance ...)" or
/// "Flux (label kustomize.toolkit.fluxcd.io/name=...)"; nullopt when nobody.
std::optional<std::string> gitops_owner(const kube::Deployment& deployment);

/// The GitOps object that owns a Deployment, as its own CLI names it.
struct GitOpsOwner {
    enum class Tool { argocd, flux_kustomization, flux_helmrelease } tool = Tool::argocd;
    std::string name;           // Argo CD application / Flux Kustomization or HelmRelease
    std::string namespace_name; // Flux: the object's namespace when the labels say ("" otherwise)
};

/// The owner by DESIGN.md's labels: Argo CD `argocd.argoproj.io/instance` (label) or
/// `argocd.argoproj.io/tracking-id` (annotation, "APP:group/kind:ns/name"); Flux
/// `kustomize.toolkit.fluxcd.io/name` or `helm.toolkit.fluxcd.io/name` (+ `.../namespace`).
std::optional<GitOpsOwner> gitops_owner_of(const kube::Deployment& deployment);

/// The change-cause text recorded with a write: "oncall rollback by alice: <reason>".
std::string change_cause(const std::string& action, const std::string& actor,
                         const std::string& reason);

/// The rollback patch of DESIGN.md: JSON patch testing /metadata/resourceVersion, then replacing
/// /spec/template (the revision's template without pod-template-hash) and /metadata/annotations
/// (kept: the Deployment's own revision bookkeeping; copied: the ReplicaSet's other annotations;
/// set: change-cause).
nlohmann::json build_rollback_patch(const kube::Deployment& deployment,
                                    const kube::Revision& target, const std::string& cause);

/// The restart patch (strategic merge): template annotation kubectl.kubernetes.io/restartedAt,
/// change-cause, and metadata.resourceVersion as the precondition.
nlohmann::json build_restart_patch(const kube::Deployment& deployment,
                                   const std::string& restarted_at, const std::string& cause);

/// One --image argument: optional container name and the reference as typed.
struct ImageChange {
    std::string container;
    registry::ImageReference reference;
};

/// Parses `[CONTAINER=]REF` (container names are DNS-1123 labels).
Result<ImageChange> parse_image_change(const std::string& text);

/// Fills in the container of changes that name none (allowed when the template has exactly one)
/// and refuses unknown or repeated containers.
Result<std::vector<ImageChange>> assign_containers(const kube::Deployment& deployment,
                                                   std::vector<ImageChange> changes);

/// The repositories the service may run: the configured list (normalized), else the repositories
/// of the current template's images.
Result<std::vector<std::string>> allowed_repositories(const std::vector<std::string>& configured,
                                                      const kube::Deployment& deployment);

/// Refuses (Errc::access_denied, exit 4) a reference outside the allowed repositories, listing
/// them.
Result<void> check_reference_allowed(const registry::ImageReference& reference,
                                     const std::vector<std::string>& allowed,
                                     const std::string& service);

/// The image patch: JSON patch testing resourceVersion and each container's name, replacing each
/// changed container's image with its pinned (name@sha256) reference, and setting change-cause.
/// Every change must carry a digest.
Result<nlohmann::json> build_image_patch(const kube::Deployment& deployment,
                                         const std::vector<ImageChange>& changes,
                                         const std::string& cause);

/// The images of the template after applying the changes (for the plan's "to" side).
std::vector<std::string> images_after(const kube::Deployment& deployment,
                                      const std::vector<ImageChange>& changes);

} // namespace oncall::ops
