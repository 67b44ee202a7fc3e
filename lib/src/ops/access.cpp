#include "oncall/ops/access.h"

#include "access_internal.h"
#include "backends/text.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/backends/kubernetes_access.h"
#include "oncall/core/duration.h"
#include "oncall/core/exit_code.h"
#include "oncall/core/local_file.h"
#include "oncall/core/time.h"
#include "oncall/ops/approvals.h"
#include "oncall/ops/audit.h"
#include "oncall/ops/notify.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace oncall::ops {
namespace detail {

std::string fmt_seconds(std::chrono::seconds s) {
    return format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(s));
}

std::string trimmed(const std::string& text) {
    std::size_t b = 0;
    std::size_t e = text.size();
    while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) {
        ++b;
    }
    while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) {
        --e;
    }
    return text.substr(b, e - b);
}

std::chrono::seconds role_max_of(const config::Context& context, const std::string& role) {
    const auto roles = effective_roles(context.access);
    const auto it = roles.find(role);
    return it == roles.end() ? std::chrono::seconds(0) : it->second.max;
}

void say(const std::function<void(std::string_view)>& progress, const std::string& line) {
    if (progress) {
        progress(line);
    }
}

// Words for a refusal of the grant Secret.
Error explain_secret_refusal(Error e, const kube::KubeClient& client, const std::string& ns,
                             const std::string& user) {
    if (e.code == Errc::access_denied) {
        e.message = fmt::format("the API server at {} does not let {} create grant secrets in "
                                "namespace {} ({}); nothing was created; ask the cluster "
                                "administrators to allow creating secrets there",
                                client.connection().server, user, ns, e.message);
    } else if (e.code == Errc::not_found) {
        e.message = fmt::format("namespace {} does not exist on {} ({}); check the service's "
                                "namespace in the configuration",
                                ns, client.connection().server, e.message);
    } else {
        e.message =
            fmt::format("cannot create the grant secret in namespace {}: {}", ns, e.message);
    }
    return e;
}

// Words for a refusal of the TokenRequest.
Error explain_token_refusal(Error e, const std::string& ns, const std::string& account,
                            std::chrono::seconds duration, const std::string& user) {
    if (e.code == Errc::access_denied) {
        e.message = fmt::format("the API server does not let {} request tokens for service "
                                "account {}/{} ({}); ask the cluster administrators for "
                                "'create serviceaccounts/token' on it",
                                user, ns, account, e.message);
    } else if (e.code == Errc::invalid || e.http_status == 422) {
        e.code = Errc::invalid;
        e.message = fmt::format("the API server refused a token lasting {} for service account "
                                "{}/{} ({}); Kubernetes clusters usually require at least 10m: "
                                "ask for a longer --for",
                                fmt_seconds(duration), ns, account, e.message);
    } else {
        e.message = fmt::format("cannot request a token for service account {}/{}: {}", ns, account,
                                e.message);
    }
    return e;
}

// Deletes the grant Secret after a later step failed; appends what happened to `error`.
Error undo_secret(Error error, const kube::KubeClient& client, const std::string& ns,
                  const std::string& name, const std::function<void(std::string_view)>& progress) {
    auto deleted = kube::delete_secret(client, ns, name);
    if (deleted || deleted.error().code == Errc::not_found) {
        say(progress, fmt::format("deleted secret {}/{} again (nothing half-created)", ns, name));
        error.message += fmt::format(" (the grant secret {}/{} was deleted again; nothing was "
                                     "granted)",
                                     ns, name);
    } else {
        error.message += fmt::format(" (and the grant secret {}/{} could not be deleted: {}; "
                                     "delete it with: kubectl delete secret -n {} {})",
                                     ns, name, deleted.error().message, ns, name);
    }
    return error;
}

Result<Grant> grant_on_server(const kube::KubeClient& client, const std::string& context_name) {
    auto identity_of_server = server_identity(client.connection());
    if (!identity_of_server) {
        return std::move(identity_of_server).error();
    }
    Grant grant;
    grant.context = context_name;
    grant.server = normalize_server_url(client.connection().server);
    grant.server_identity = std::move(*identity_of_server);
    return grant;
}

nlohmann::json grant_audit_record(const Grant& g, const std::string& action,
                                  const std::string& result) {
    nlohmann::json record = {{"user", g.requester},
                             {"context", g.context},
                             {"service", g.service},
                             {"namespace", g.namespace_name},
                             {"action", action},
                             {"role", g.role},
                             {"service_account", g.service_account},
                             {"grant", g.id},
                             {"expires_at", format_rfc3339(g.expires_at)},
                             {"reason", g.reason},
                             {"result", result},
                             {"exit_code", 0}};
    if (!g.ticket.empty()) {
        record["ticket"] = g.ticket;
    }
    if (g.break_glass) {
        record["break_glass"] = true;
    }
    if (!g.approver.empty()) {
        record["approver"] = g.approver;
    }
    return record;
}

} // namespace detail

using namespace detail;

Result<ValidatedRequest> validate_request(const config::AccessConfig& access,
                                          const AccessRequest& request) {
    auto role = validate_role(access, request.role);
    if (!role) {
        return std::move(role).error();
    }
    if (auto r = validate_reason(request.reason); !r) {
        return std::move(r).error();
    }
    if (role->break_glass && trimmed(request.reason).size() < k_min_break_glass_reason_length) {
        return make_error(Errc::usage,
                          fmt::format("role {} is break-glass: its --reason must say in at least "
                                      "{} characters what is broken and why no approver can be "
                                      "reached (got {}); nothing was requested",
                                      role->name, k_min_break_glass_reason_length,
                                      trimmed(request.reason).size()));
    }
    if (auto r = validate_ticket(request.ticket); !r) {
        return std::move(r).error();
    }
    auto duration = parse_grant_duration(request.duration);
    if (!duration) {
        return std::move(duration).error();
    }
    if (auto r = check_duration_caps(*duration, *role, "", std::nullopt); !r) {
        return std::move(r).error();
    }
    return ValidatedRequest{*role, *duration, trimmed(request.reason), trimmed(request.ticket)};
}

Result<IssuedGrant> request_access(const kube::KubeClient& client, const config::Context& context,
                                   const config::Service& service, const AccessRequest& request,
                                   const AccessStores& stores,
                                   const std::function<void(std::string_view)>& progress) {
    auto valid = validate_request(context.access, request);
    if (!valid) {
        return std::move(valid).error();
    }
    if (valid->role.approval_required) {
        return make_error(Errc::access_denied,
                          fmt::format("role {} needs a second person's approval; file a request "
                                      "with request-access (it waits for the approval)",
                                      valid->role.name));
    }
    const std::string& ns = service.namespace_name;
    const std::string& account = valid->role.service_account;

    // The local store must be usable before anything is created on the server.
    auto existing = stores.grants.load(context.name, service.name, valid->role.name);
    if (!existing) {
        return std::move(existing).error();
    }
    IssuedGrant issued;
    issued.replaced = std::move(*existing);

    auto identity = kube::self_subject_review(client);
    if (!identity) {
        return std::move(identity).error();
    }
    say(progress, fmt::format("you are {} (SelfSubjectReview)", identity->username));

    auto sa = kube::get_service_account(client, ns, account);
    if (!sa) {
        return std::move(sa).error();
    }
    std::optional<std::chrono::seconds> cap;
    if (const auto it = sa->annotations.find(k_max_duration_annotation);
        it != sa->annotations.end()) {
        auto parsed = parse_max_duration_annotation(it->second, ns + "/" + account);
        if (!parsed) {
            return std::move(parsed).error();
        }
        cap = *parsed;
        say(progress,
            fmt::format("service account {}/{} caps grants at {}", ns, account, fmt_seconds(*cap)));
    }
    if (auto r = check_duration_caps(valid->duration, valid->role, ns, cap); !r) {
        return std::move(r).error();
    }

    auto pinned = grant_on_server(client, context.name);
    if (!pinned) {
        return std::move(pinned).error();
    }
    Grant grant = std::move(*pinned);
    grant.service = service.name;
    grant.namespace_name = ns;
    grant.role = valid->role.name;
    grant.service_account = account;
    grant.id = new_grant_id();
    grant.secret_name = k_grant_secret_prefix + grant.id;
    grant.requester = identity->username;
    grant.reason = valid->reason;
    grant.ticket = valid->ticket;
    grant.issued_at = now();
    grant.expires_at =
        grant.issued_at + std::chrono::duration_cast<std::chrono::milliseconds>(valid->duration);
    grant.break_glass = valid->role.break_glass;

    kube::GrantSecret record{ns,
                             grant.secret_name,
                             grant.id,
                             grant.service,
                             grant.role,
                             account,
                             grant.requester,
                             grant.reason,
                             grant.ticket,
                             grant.expires_at,
                             {},
                             false};
    record.break_glass = grant.break_glass;
    // Write-ahead: the intent is on disk before the Secret (and with it the grant) exists.
    const std::string attempt = new_attempt_id();
    {
        auto intent = grant_audit_record(grant, "request-access", "");
        intent.erase("result");
        intent.erase("exit_code");
        if (auto written = audit_intent(stores.audit_path, std::move(intent), attempt); !written) {
            return std::move(written).error();
        }
    }
    // Every failure from here on leaves a result line beside the intent.
    auto failed = [&](Error e) {
        auto record = grant_audit_record(grant, "request-access", "failed");
        record["error"] = e.message;
        record["exit_code"] = static_cast<int>(exit_code_for(e));
        (void)audit_result(stores.audit_path, std::move(record), attempt);
        return e;
    };
    auto secret = kube::create_grant_secret(client, record);
    if (!secret) {
        return failed(
            explain_secret_refusal(std::move(secret).error(), client, ns, grant.requester));
    }
    grant.secret_uid = secret->uid;
    say(progress,
        fmt::format("created secret {}/{} (uid {})", ns, grant.secret_name, grant.secret_uid));

    auto token = kube::request_bound_token(client, ns, account, valid->duration.count(),
                                           grant.secret_name, grant.secret_uid);
    if (!token) {
        return failed(undo_secret(explain_token_refusal(std::move(token).error(), ns, account,
                                                        valid->duration, grant.requester),
                                  client, ns, grant.secret_name, progress));
    }
    grant.token = std::move(token->token);
    if (token->expires_at && *token->expires_at < grant.expires_at) {
        grant.expires_at = *token->expires_at;
    }
    say(progress, fmt::format("token for service account {}/{} issued, bound to secret {}, "
                              "expires {}",
                              ns, account, grant.secret_name, format_rfc3339(grant.expires_at)));

    kube::ObjectReference ref;
    ref.api_version = "v1";
    ref.kind = "Secret";
    ref.name = grant.secret_name;
    ref.namespace_name = ns;
    ref.uid = grant.secret_uid;
    const std::string message = fmt::format(
        "{} was granted role {} on {} for {} (until {}): {}{}", grant.requester, grant.role,
        grant.service, fmt_seconds(valid->duration), format_rfc3339(grant.expires_at), grant.reason,
        grant.ticket.empty() ? "" : fmt::format(" [ticket {}]", grant.ticket));
    auto event = grant.break_glass
                     ? client.create_event(ref, "Warning", "BreakGlass", "BREAK-GLASS: " + message)
                     : client.create_event(ref, "Normal", "AccessGranted", message);
    if (!event) {
        auto e = std::move(event).error();
        e.message = "cannot record the grant as an Event: " + e.message;
        return failed(undo_secret(std::move(e), client, ns, grant.secret_name, progress));
    }
    say(progress,
        fmt::format("recorded event AccessGranted on secret {}/{}", ns, grant.secret_name));

    if (auto saved = stores.grants.save(grant); !saved) {
        return failed(
            undo_secret(std::move(saved).error(), client, ns, grant.secret_name, progress));
    }
    auto audit_record = grant_audit_record(grant, "request-access", "granted");
    if (grant.break_glass) {
        Notification n;
        n.event = "break_glass";
        n.service = grant.service;
        n.role = grant.role;
        n.grant = grant.id;
        n.requester = grant.requester;
        n.reason = grant.reason;
        n.ticket = grant.ticket;
        n.expires_at = format_rfc3339(grant.expires_at);
        n.context = context.name;
        issued.notified = send_notification(context.access.notify, n);
        audit_record["notification"] = issued.notified.audit_value();
        say(progress, fmt::format("notification: {}", issued.notified.audit_value()));
    }
    if (auto audited = audit_result(stores.audit_path, audit_record, attempt); !audited) {
        (void)stores.grants.remove(grant.context, grant.service, grant.role);
        auto e = std::move(audited).error();
        e.message = "cannot write the audit line, so the grant is withdrawn: " + e.message;
        return undo_secret(std::move(e), client, ns, grant.secret_name, progress);
    }
    // The new grant replaced the old one's file; its token must not outlive it unnoticed.
    if (issued.replaced && issued.replaced->secret_name != grant.secret_name &&
        normalize_server_url(issued.replaced->server) == grant.server) {
        auto deleted = kube::delete_secret(client, issued.replaced->namespace_name,
                                           issued.replaced->secret_name);
        issued.replaced_revoked = deleted || deleted.error().code == Errc::not_found;
        say(progress, issued.replaced_revoked
                          ? fmt::format("revoked the earlier grant {} (secret {}/{} deleted)",
                                        issued.replaced->id, issued.replaced->namespace_name,
                                        issued.replaced->secret_name)
                          : fmt::format("could not revoke the earlier grant {}: {}",
                                        issued.replaced->id, deleted.error().message));
        if (issued.replaced_revoked) {
            (void)append_audit(stores.audit_path,
                               grant_audit_record(*issued.replaced, "revoke-access", "replaced"));
        }
    }
    issued.grant = std::move(grant);
    return issued;
}

Result<std::vector<RevokeResult>>
revoke_access(const kube::KubeClient& client, const config::Context& context,
              const config::Service& service, const std::string& role, const AccessStores& stores) {
    auto all = stores.grants.list(context.name);
    if (!all) {
        return std::move(all).error();
    }
    std::vector<Grant> targets;
    for (auto& g : *all) {
        if (g.service == service.name && (role.empty() || g.role == role)) {
            targets.push_back(std::move(g));
        }
    }
    if (targets.empty()) {
        return make_error(Errc::not_found,
                          fmt::format("no {}grant for {} in context {}; nothing to revoke (see "
                                      "'oncall access list')",
                                      role.empty() ? "" : role + " ", service.name, context.name));
    }
    std::vector<RevokeResult> results;
    for (auto& g : targets) {
        if (!g.server.empty() &&
            normalize_server_url(g.server) != normalize_server_url(client.connection().server)) {
            return make_error(Errc::config,
                              fmt::format("the {} grant for {} was issued by {}, but context {} "
                                          "now points at {}; revoke it there or delete its "
                                          "secret {}/{} by hand",
                                          g.role, g.service, g.server, context.name,
                                          client.connection().server, g.namespace_name,
                                          g.secret_name));
        }
        RevokeResult r;
        auto deleted = kube::delete_secret(client, g.namespace_name, g.secret_name);
        if (deleted) {
            r.secret_deleted = true;
        } else if (deleted.error().code != Errc::not_found) {
            auto e = std::move(deleted).error();
            e.message = fmt::format("cannot delete grant secret {}/{}: {}; the grant stays valid "
                                    "until {} (kept in the local store)",
                                    g.namespace_name, g.secret_name, e.message,
                                    format_rfc3339(g.expires_at));
            return e;
        }
        if (auto removed = stores.grants.remove(g.context, g.service, g.role); !removed) {
            return std::move(removed).error();
        }
        auto record =
            grant_audit_record(g, "revoke-access", r.secret_deleted ? "revoked" : "already-gone");
        if (auto audited = append_audit(stores.audit_path, record); !audited) {
            return std::move(audited).error();
        }
        r.grant = std::move(g);
        results.push_back(std::move(r));
    }
    return results;
}

Result<std::string> server_identity(const kube::Connection& connection) {
    if (connection.insecure_skip_tls_verify) {
        return std::string("insecure-skip-tls-verify");
    }
    if (normalize_server_url(connection.server).rfind("http://", 0) == 0) {
        return std::string("plain-http");
    }
    if (connection.ca_file.empty() && connection.ca_pem.empty()) {
        return std::string("system-roots");
    }
    auto ca = connection.ca_bundle(); // a file, or certificate-authority-data
    if (!ca) {
        return std::move(ca).error();
    }
    return "ca-sha256:" + backends::sha256_hex(*ca);
}

Result<WriteAccess> write_access_for(const config::Context& context, const config::Service& service,
                                     const kube::Connection& connection, const GrantStore& store) {
    WriteAccess access;
    if (!context.access.require_grant) {
        return access;
    }
    const auto role_max = role_max_of(context, k_deployer_role);
    const auto ref = now();
    auto lookup = store.find_active(context.name, service.name, k_deployer_role, ref);
    if (!lookup) {
        return std::move(lookup).error();
    }
    if (!lookup->active()) {
        return no_grant_error(*lookup, context.name, service.name, k_deployer_role, role_max);
    }
    const Grant& g = *lookup->grant;
    const std::string server = normalize_server_url(connection.server);
    std::string mismatch;
    if (g.service != service.name) {
        mismatch = fmt::format("was issued for {}", g.service);
    } else if (!service.namespace_name.empty() && g.namespace_name != service.namespace_name) {
        mismatch = fmt::format("was issued for namespace {}, but {} is in {}", g.namespace_name,
                               service.name, service.namespace_name);
    } else if (g.server.empty() || g.server_identity.empty()) {
        mismatch = "does not record which server minted it (it was issued by an older oncall), so "
                   "its token is not sent anywhere";
    } else if (normalize_server_url(g.server) != server) {
        mismatch = fmt::format("was issued by {}, but context {} now points at {} ({}); its token "
                               "only goes to the server that minted it",
                               http::redact_url(g.server), context.name, http::redact_url(server),
                               connection.origin);
    } else {
        auto identity = server_identity(connection);
        if (!identity) {
            return std::move(identity).error();
        }
        if (*identity != g.server_identity) {
            mismatch = fmt::format("was issued by {} trusted as {}, but the connection now trusts "
                                   "it as {} (the CA bundle or TLS settings changed); its token "
                                   "only goes to the server that minted it",
                                   http::redact_url(server), g.server_identity, *identity);
        }
    }
    if (!mismatch.empty()) {
        return make_error(
            Errc::access_denied,
            fmt::format("the deployer grant for {} {}; writes to {} need a grant "
                        "for it; run:\n  {}",
                        service.name, mismatch, service.name,
                        request_access_command(service.name, k_deployer_role, role_max)));
    }
    access.warning = grant_expiry_warning(*lookup, service.name);
    access.bearer_token = g.token;
    access.grant = g;
    return access;
}

Result<WriteAccess> write_access_for(const config::Context& context, const config::Service& service,
                                     const kube::Connection& connection) {
    return write_access_for(context, service, connection, GrantStore::open_default());
}

Error explain_grant_refusal(Error error, const config::Context& context,
                            const std::string& service) {
    const bool refused =
        error.code == Errc::access_denied || error.http_status == 401 || error.http_status == 403;
    if (!refused) {
        return error;
    }
    error.code = Errc::access_denied;
    error.message = fmt::format(
        "the API server refused the deployer grant for {} (it was "
        "revoked, has expired, or does not cover this service): {}; run:"
        "\n  {}",
        service, error.message,
        request_access_command(service, k_deployer_role, role_max_of(context, k_deployer_role)));
    return error;
}

} // namespace oncall::ops
