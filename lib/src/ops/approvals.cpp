#include "oncall/ops/approvals.h"

#include "access_internal.h"
#include "oncall/backends/kubernetes.h"
#include "oncall/backends/kubernetes_access.h"
#include "oncall/core/duration.h"
#include "oncall/core/exit_code.h"
#include "oncall/ops/audit.h"
#include "oncall/ops/grant_request.h"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace oncall::ops {

using namespace detail;
using nlohmann::json;

namespace {

constexpr int k_request_file_version = 1;

// The local record of a request made on this machine, private key included (0600 file).
struct LocalRequest {
    std::string context;
    std::string server;
    std::string id;
    std::string service;
    std::string namespace_name;
    std::string role;
    std::string service_account;
    std::string requester;
    std::string reason;
    std::string ticket;
    std::chrono::seconds duration{0};
    TimePoint requested_at{};
    std::string private_pem;
};

std::string local_request_json(const LocalRequest& r) {
    return json{{"version", k_request_file_version},
                {"context", r.context},
                {"server", r.server},
                {"grant", r.id},
                {"service", r.service},
                {"namespace", r.namespace_name},
                {"role", r.role},
                {"service_account", r.service_account},
                {"requester", r.requester},
                {"reason", r.reason},
                {"ticket", r.ticket},
                {"duration_seconds", r.duration.count()},
                {"requested_at", format_rfc3339(r.requested_at)},
                {"private_key", r.private_pem}}
               .dump(2) +
           "\n";
}

Result<LocalRequest> load_local_request(const GrantStore& store, const std::string& id) {
    auto text = store.load_request(id);
    if (!text) {
        return std::move(text).error();
    }
    if (!text->has_value()) {
        return make_error(Errc::access_denied,
                          fmt::format("no request key for grant {} on this machine (looked in {}); "
                                      "only the machine that made the request can receive its "
                                      "token: request access again",
                                      id, store.requests_dir()));
    }
    const auto j = json::parse(**text, nullptr, false);
    const auto bad = [&](const std::string& why) {
        return make_error(Errc::access_denied,
                          fmt::format("the request file of grant {} in {} is unreadable ({}); "
                                      "request access again",
                                      id, store.requests_dir(), why));
    };
    if (!j.is_object()) {
        return bad("not JSON");
    }
    LocalRequest r;
    try {
        r.context = j.at("context").get<std::string>();
        r.server = j.at("server").get<std::string>();
        r.id = j.at("grant").get<std::string>();
        r.service = j.at("service").get<std::string>();
        r.namespace_name = j.at("namespace").get<std::string>();
        r.role = j.at("role").get<std::string>();
        r.service_account = j.at("service_account").get<std::string>();
        r.requester = j.at("requester").get<std::string>();
        r.reason = j.at("reason").get<std::string>();
        r.ticket = j.at("ticket").get<std::string>();
        r.duration = std::chrono::seconds(j.at("duration_seconds").get<long long>());
        r.private_pem = j.at("private_key").get<std::string>();
        auto t = parse_rfc3339(j.at("requested_at").get<std::string>());
        if (t) {
            r.requested_at = *t;
        }
    } catch (const json::exception&) {
        return bad("fields missing");
    }
    if (r.id != id) {
        return bad("it names another grant");
    }
    if (auto pub = grant_public_key(r.private_pem); !pub) {
        return bad("its key is not an Ed25519 private key");
    }
    return r;
}

std::string strip_prefix(const std::string& grant) {
    const std::string prefix = k_grant_secret_prefix;
    return grant.rfind(prefix, 0) == 0 ? grant.substr(prefix.size()) : grant;
}

Result<std::string> checked_id(const std::string& grant) {
    const std::string id = strip_prefix(grant);
    if (id.empty() || id.size() > 32 || !std::all_of(id.begin(), id.end(), [](unsigned char c) {
            return std::islower(c) || std::isdigit(c);
        })) {
        return make_error(Errc::usage,
                          fmt::format("'{}' is not a grant id; see the ids with: oncall access "
                                      "pending",
                                      grant.substr(0, 64)));
    }
    return id;
}

kube::ObjectReference csr_ref(const kube::CertificateRequest& csr, const std::string& ns) {
    kube::ObjectReference ref;
    ref.api_version = "certificates.k8s.io/v1";
    ref.kind = "CertificateSigningRequest";
    ref.name = csr.metadata.name;
    ref.namespace_name = ns;
    ref.uid = csr.metadata.uid;
    return ref;
}

// Reads a CSR by grant id, refusing one that is not a grant request.
Result<kube::CertificateRequest> read_grant_csr(const kube::KubeClient& client,
                                                const std::string& id) {
    auto csr = kube::get_csr(client, k_grant_secret_prefix + id);
    if (!csr) {
        auto e = std::move(csr).error();
        if (e.code == Errc::not_found) {
            e.message = fmt::format("there is no access request {} on {} (CSR {}{} not found); "
                                    "see the pending ones with: oncall access pending",
                                    id, client.connection().server, k_grant_secret_prefix, id);
        }
        return e;
    }
    if (csr->signer_name != kube::k_grant_signer) {
        return make_error(Errc::invalid,
                          fmt::format("CSR {} is not an access request (its signer is {}, not "
                                      "{}); oncall does not touch it",
                                      csr->metadata.name, csr->signer_name, kube::k_grant_signer));
    }
    return csr;
}

// The parsed request of a grant CSR, or why it is invalid.
Result<ParsedGrantCsr> parse_request_of(const kube::CertificateRequest& csr,
                                        const std::string& id) {
    if (!csr.request_decodes) {
        return make_error(Errc::invalid, "spec.request is not base64");
    }
    auto parsed = parse_grant_csr(csr.request_pem);
    if (!parsed) {
        return parsed;
    }
    if (parsed->grant.id != id) {
        return make_error(Errc::invalid,
                          fmt::format("its subject CN ({}) is not the grant id of its name ({})",
                                      parsed->grant.id, id));
    }
    return parsed;
}

std::string condition_words(const kube::CsrCondition& c) {
    std::string words = c.reason.empty() ? "" : c.reason;
    if (!c.message.empty()) {
        words += words.empty() ? c.message : ": " + c.message;
    }
    if (words.size() > 512) {
        words = words.substr(0, 512) + "...";
    }
    // Someone else wrote it: no control characters reach the terminal.
    for (char& ch : words) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
            ch = ' ';
        }
    }
    return words.empty() ? "no reason given" : words;
}

// A notification of `event` about the request `r` (a pending, approved or denied one).
template <class Request>
Notification notification_about(std::string event, const Request& r,
                                const config::Context& context) {
    Notification n;
    n.event = std::move(event);
    n.service = r.service;
    n.role = r.role;
    n.grant = r.grant;
    n.requester = r.requester;
    n.context = context.name;
    return n;
}

} // namespace

std::string approve_command(const std::string& grant_id, const std::string& context) {
    return fmt::format("oncall access approve {} --context {}", grant_id, context);
}

Result<RequestedApproval> request_approval(const kube::KubeClient& client,
                                           const config::Context& context,
                                           const config::Service& service,
                                           const AccessRequest& request, const AccessStores& stores,
                                           const std::function<void(std::string_view)>& progress) {
    auto valid = validate_request(context.access, request);
    if (!valid) {
        return std::move(valid).error();
    }
    if (!valid->role.approval_required) {
        return make_error(Errc::internal, "request_approval on a role that needs no approval");
    }
    auto identity = kube::self_subject_review(client);
    if (!identity) {
        return std::move(identity).error();
    }
    say(progress, fmt::format("you are {} (SelfSubjectReview)", identity->username));

    LocalRequest local;
    local.context = context.name;
    local.server = client.connection().server;
    local.id = new_grant_id();
    local.service = service.name;
    local.namespace_name = service.namespace_name;
    local.role = valid->role.name;
    local.service_account = valid->role.service_account;
    local.requester = identity->username;
    local.reason = valid->reason;
    local.ticket = valid->ticket;
    local.duration = valid->duration;
    local.requested_at = now();

    auto key = generate_grant_key();
    if (!key) {
        return std::move(key).error();
    }
    local.private_pem = key->private_pem;
    RequestedGrant asked{local.id,       local.service, local.namespace_name, local.role,
                         local.duration, local.reason,  local.ticket};
    auto pem = make_grant_csr(*key, asked);
    if (!pem) {
        return std::move(pem).error();
    }
    // The key is on disk (0600) before the request exists anywhere.
    if (auto saved = stores.grants.save_request(local.id, local_request_json(local)); !saved) {
        return std::move(saved).error();
    }
    say(progress, fmt::format("request key stored in {}/{}.request (0600)",
                              stores.grants.requests_dir(), local.id));
    const std::string csr_name = k_grant_secret_prefix + local.id;
    json record = {{"user", local.requester},    {"context", context.name},
                   {"service", local.service},   {"namespace", local.namespace_name},
                   {"action", "request-access"}, {"role", local.role},
                   {"grant", local.id},          {"requested_for", fmt_seconds(local.duration)},
                   {"reason", local.reason}};
    if (!local.ticket.empty()) {
        record["ticket"] = local.ticket;
    }
    // Write-ahead: the intent is on disk before the request exists in the cluster.
    const std::string attempt = new_attempt_id();
    if (auto written = audit_intent(stores.audit_path, record, attempt); !written) {
        (void)stores.grants.remove_request(local.id);
        return std::move(written).error();
    }
    auto csr = kube::create_grant_csr(client, csr_name, *pem,
                                      {{kube::k_managed_by_label, "oncall"},
                                       {"oncall.dev/service", local.service},
                                       {"oncall.dev/role", local.role}});
    if (!csr) {
        (void)stores.grants.remove_request(local.id);
        auto e = std::move(csr).error();
        if (e.code == Errc::access_denied) {
            e.message = fmt::format("the API server at {} does not let {} create "
                                    "CertificateSigningRequests ({}); nothing was requested; ask "
                                    "the cluster administrators for the requester role of "
                                    "examples/rbac/",
                                    client.connection().server, local.requester, e.message);
        }
        record["result"] = "failed";
        record["error"] = e.message;
        record["exit_code"] = static_cast<int>(exit_code_for(e));
        (void)audit_result(stores.audit_path, record, attempt);
        return e;
    }
    say(progress, fmt::format("created CertificateSigningRequest {} (signer {})", csr_name,
                              kube::k_grant_signer));
    const std::string message =
        fmt::format("{} asks for role {} on {} for {}: {}{}; approve with: {}", local.requester,
                    local.role, local.service, fmt_seconds(local.duration), local.reason,
                    local.ticket.empty() ? "" : fmt::format(" [ticket {}]", local.ticket),
                    approve_command(local.id, context.name));
    if (auto event = client.create_event(csr_ref(*csr, local.namespace_name), "Normal",
                                         "AccessRequested", message);
        !event) {
        say(progress, "could not record the AccessRequested event: " + event.error().message);
    }

    RequestedApproval out;
    out.grant = local.id;
    out.csr_name = csr_name;
    out.service = local.service;
    out.namespace_name = local.namespace_name;
    out.role = local.role;
    out.requester = local.requester;
    out.reason = local.reason;
    out.ticket = local.ticket;
    out.duration = local.duration;
    out.requested_at = local.requested_at;

    Notification n = notification_about("access_requested", out, context);
    n.reason = out.reason;
    n.ticket = out.ticket;
    out.notified = send_notification(context.access.notify, n);

    record["result"] = "pending";
    record["notification"] = out.notified.audit_value();
    record["exit_code"] = 0;
    if (auto audited = audit_result(stores.audit_path, record, attempt); !audited) {
        return std::move(audited).error();
    }
    return out;
}

Result<IssuedGrant> wait_for_grant(const kube::KubeClient& client, const config::Context& context,
                                   const std::string& grant_id, const AccessStores& stores,
                                   const GrantWaitOptions& options) {
    auto id = checked_id(grant_id);
    if (!id) {
        return std::move(id).error();
    }
    auto local = load_local_request(stores.grants, *id);
    if (!local) {
        return std::move(local).error();
    }
    if (local->context != context.name || local->server != client.connection().server) {
        return make_error(Errc::usage,
                          fmt::format("grant {} was requested in context {} ({}); wait for it "
                                      "there: oncall access wait {} --context {}",
                                      *id, local->context, local->server, *id, local->context));
    }
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    const auto remaining = [&] {
        return std::chrono::ceil<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
    };
    const std::string name = k_grant_secret_prefix + *id;
    bool told_no_token = false;
    for (;;) {
        auto csr = kube::get_csr(client, name);
        if (!csr) {
            auto e = std::move(csr).error();
            if (e.code == Errc::not_found) {
                e.code = Errc::access_denied;
                e.message = fmt::format("the access request {} no longer exists (CSR {} was "
                                        "deleted); nothing was granted: request access again",
                                        *id, name);
            }
            return e;
        }
        if (const auto* denied = csr->condition("Denied")) {
            // Intent and result together: the only change is the local request key's removal.
            json record = {{"user", local->requester},  {"context", context.name},
                           {"service", local->service}, {"action", "request-access"},
                           {"role", local->role},       {"grant", *id}};
            const std::string attempt = new_attempt_id();
            if (auto written = audit_intent(stores.audit_path, record, attempt); !written) {
                return std::move(written).error();
            }
            (void)stores.grants.remove_request(*id);
            record["result"] = "denied";
            record["exit_code"] = 4;
            (void)audit_result(stores.audit_path, record, attempt);
            return make_error(Errc::access_denied,
                              fmt::format("the request {} for role {} on {} was denied ({}); "
                                          "nothing was granted",
                                          *id, local->role, local->service,
                                          condition_words(*denied)));
        }
        if (const auto* failed = csr->condition("Failed")) {
            return make_error(Errc::access_denied,
                              fmt::format("the request {} failed ({}); nothing was granted", *id,
                                          condition_words(*failed)));
        }
        std::string watch_rv;
        if (const auto* approved = csr->condition("Approved")) {
            auto secret = kube::get_secret_object(client, local->namespace_name, name);
            if (!secret && secret.error().code != Errc::not_found) {
                return std::move(secret).error();
            }
            const json* sealed = nullptr;
            if (secret && secret->contains("data") && (*secret)["data"].is_object() &&
                (*secret)["data"].contains(k_sealed_token_key) &&
                (*secret)["data"][k_sealed_token_key].is_string()) {
                sealed = &(*secret)["data"][k_sealed_token_key];
            }
            if (sealed != nullptr) {
                auto meta = kube::decode_metadata(*secret);
                if (!meta) {
                    return std::move(meta).error();
                }
                const auto& a = meta->annotations;
                const auto annotation = [&](const char* key) {
                    const auto it = a.find(key);
                    return it == a.end() ? std::string{} : it->second;
                };
                if (annotation("oncall.dev/requester") != local->requester ||
                    annotation("oncall.dev/role") != local->role ||
                    annotation("oncall.dev/service") != local->service) {
                    return make_error(Errc::access_denied,
                                      fmt::format("the grant secret {}/{} does not describe "
                                                  "this request (requester, role or service "
                                                  "differ); nothing was stored",
                                                  local->namespace_name, name));
                }
                auto box = base64_decode(sealed->get<std::string>());
                if (!box) {
                    return make_error(Errc::access_denied,
                                      fmt::format("the sealed token in secret {}/{} is not "
                                                  "base64; nothing was stored",
                                                  local->namespace_name, name));
                }
                auto token = open_sealed_token(*box, local->private_pem);
                if (!token) {
                    auto e = std::move(token).error();
                    e.message = fmt::format("secret {}/{}: {}; nothing was stored",
                                            local->namespace_name, name, e.message);
                    return e;
                }
                auto expires = parse_rfc3339(annotation("oncall.dev/expires-at"));
                if (!expires) {
                    return make_error(Errc::bad_response,
                                      fmt::format("the grant secret {}/{} has no valid "
                                                  "oncall.dev/expires-at; nothing was stored",
                                                  local->namespace_name, name));
                }
                auto pinned = grant_on_server(client, context.name);
                if (!pinned) {
                    return std::move(pinned).error();
                }
                Grant grant = std::move(*pinned);
                grant.service = local->service;
                grant.namespace_name = local->namespace_name;
                grant.role = local->role;
                grant.service_account = annotation("oncall.dev/service-account");
                grant.id = *id;
                grant.secret_name = name;
                grant.secret_uid = meta->uid;
                grant.requester = local->requester;
                grant.approver = annotation("oncall.dev/approver");
                grant.reason = local->reason;
                grant.ticket = local->ticket;
                grant.issued_at = now();
                grant.expires_at = *expires;
                grant.token = std::move(token).value();
                IssuedGrant issued;
                auto existing = stores.grants.load(grant.context, grant.service, grant.role);
                if (existing && existing->has_value()) {
                    issued.replaced = std::move(**existing);
                }
                // Write-ahead: the intent is on disk before the grant is stored.
                const std::string attempt = new_attempt_id();
                {
                    auto intent = grant_audit_record(grant, "request-access", "");
                    intent.erase("result");
                    intent.erase("exit_code");
                    if (auto written = audit_intent(stores.audit_path, std::move(intent), attempt);
                        !written) {
                        return std::move(written).error();
                    }
                }
                if (auto saved = stores.grants.save(grant); !saved) {
                    auto e = std::move(saved).error();
                    auto failed = grant_audit_record(grant, "request-access", "failed");
                    failed["error"] = e.message;
                    failed["exit_code"] = static_cast<int>(exit_code_for(e));
                    (void)audit_result(stores.audit_path, std::move(failed), attempt);
                    return e;
                }
                (void)stores.grants.remove_request(*id);
                say(options.progress, "grant stored; request key deleted");
                if (auto audited = audit_result(
                        stores.audit_path, grant_audit_record(grant, "request-access", "granted"),
                        attempt);
                    !audited) {
                    (void)stores.grants.remove(grant.context, grant.service, grant.role);
                    return std::move(audited).error();
                }
                issued.grant = std::move(grant);
                return issued;
            }
            if (approved->reason != kube::k_oncall_approve_reason && !told_no_token) {
                told_no_token = true;
                if (options.notice) {
                    options.notice(k_approved_without_token);
                }
            }
            if (secret) {
                auto meta = kube::decode_metadata(*secret);
                watch_rv = meta ? meta->resource_version : std::string{};
            } else {
                auto rv = kube::secrets_resource_version(client, local->namespace_name);
                if (!rv) {
                    return std::move(rv).error();
                }
                watch_rv = *rv;
            }
        }
        const auto left = remaining();
        if (std::chrono::steady_clock::now() >= deadline) {
            return make_error(Errc::wait_timeout,
                              fmt::format("{} within {}; the request stays pending: resume with "
                                          "oncall access wait {}, or ask a second person to run "
                                          "{}",
                                          told_no_token ? "no token was issued" : "no approval",
                                          fmt_seconds(options.timeout), *id,
                                          approve_command(*id, context.name)));
        }
        auto changed =
            csr->approved()
                ? kube::wait_secret_change(client, local->namespace_name, name, watch_rv, left)
                : kube::wait_csr_change(client, name, csr->metadata.resource_version, left);
        if (!changed) {
            return std::move(changed).error();
        }
    }
}

Result<std::vector<PendingRequest>> list_pending(const kube::KubeClient& client,
                                                 const std::string& service) {
    auto list = kube::list_grant_csrs(client);
    if (!list) {
        return std::move(list).error();
    }
    std::vector<PendingRequest> out;
    for (const auto& csr : list->items) {
        if (csr.approved() || csr.denied() || csr.failed()) {
            continue;
        }
        PendingRequest p;
        p.csr_name = csr.metadata.name;
        p.grant = strip_prefix(csr.metadata.name);
        p.requester = csr.username;
        p.requested_at = csr.metadata.creation_timestamp;
        auto parsed = parse_request_of(csr, p.grant);
        if (parsed) {
            p.service = parsed->grant.service;
            p.namespace_name = parsed->grant.namespace_name;
            p.role = parsed->grant.role;
            p.reason = parsed->grant.reason;
            p.ticket = parsed->grant.ticket;
            p.requested_for = parsed->grant.duration;
        } else {
            p.valid = false;
            p.problem = parsed.error().message;
        }
        if (!service.empty() && p.valid && p.service != service) {
            continue;
        }
        out.push_back(std::move(p));
    }
    std::sort(out.begin(), out.end(), [](const PendingRequest& a, const PendingRequest& b) {
        if (a.requested_at != b.requested_at) {
            return a.requested_at < b.requested_at;
        }
        return a.grant < b.grant;
    });
    return out;
}

Result<ApprovedGrant> approve_request(const kube::KubeClient& client,
                                      const config::Context& context, const ServiceLookup& services,
                                      const ApproveRequest& request, const std::string& audit_path,
                                      const std::function<void(std::string_view)>& progress) {
    auto id = checked_id(request.grant);
    if (!id) {
        return std::move(id).error();
    }
    std::optional<std::chrono::seconds> asked_for;
    if (!request.duration.empty()) {
        auto d = parse_grant_duration(request.duration);
        if (!d) {
            return std::move(d).error();
        }
        asked_for = *d;
    }
    auto csr = read_grant_csr(client, *id);
    if (!csr) {
        return std::move(csr).error();
    }
    auto parsed = parse_request_of(*csr, *id);
    if (!parsed) {
        return make_error(Errc::invalid,
                          fmt::format("request {} is invalid ({}); it can never be approved; "
                                      "deny it with: oncall access deny {} --reason \"...\"",
                                      *id, parsed.error().message, *id));
    }
    if (const auto* denied = csr->condition("Denied")) {
        return make_error(Errc::conflict,
                          fmt::format("request {} was denied ({}); a denied request cannot be "
                                      "approved: the requester asks again",
                                      *id, condition_words(*denied)));
    }
    if (csr->approved()) {
        return make_error(Errc::conflict,
                          fmt::format("request {} is already approved; nothing was done (its "
                                      "grant is secret {}/{}{})",
                                      *id, parsed->grant.namespace_name, k_grant_secret_prefix,
                                      *id));
    }
    if (csr->failed()) {
        return make_error(Errc::conflict, fmt::format("request {} has failed; it cannot be "
                                                      "approved",
                                                      *id));
    }
    const RequestedGrant& asked = parsed->grant;
    auto role = validate_role(context.access, asked.role);
    if (!role) {
        return make_error(Errc::invalid,
                          fmt::format("request {} asks for role {}, which context {} does not "
                                      "define; it cannot be approved here",
                                      *id, asked.role, context.name));
    }
    if (!role->approval_required) {
        return make_error(Errc::invalid,
                          fmt::format("request {} asks for role {}, which needs no approval in "
                                      "context {}; refusing to mint a token for it",
                                      *id, asked.role, context.name));
    }
    auto service = services(asked.service);
    if (!service) {
        return std::move(service).error();
    }
    if (service->namespace_name != asked.namespace_name) {
        return make_error(Errc::invalid,
                          fmt::format("request {} is for {} in namespace {}, but {} lives in "
                                      "namespace {} in context {}; refusing",
                                      *id, asked.service, asked.namespace_name, asked.service,
                                      service->namespace_name, context.name));
    }
    auto identity = kube::self_subject_review(client);
    if (!identity) {
        return std::move(identity).error();
    }
    if (csr->username.empty()) {
        return make_error(Errc::invalid, fmt::format("request {} names no requester "
                                                     "(spec.username is empty); refusing",
                                                     *id));
    }
    if (identity->username == csr->username) {
        return make_error(Errc::access_denied,
                          fmt::format("request {} was made by {} (attested by the API server), "
                                      "and you are {}: nobody approves their own request; ask "
                                      "a second person to run: {}",
                                      *id, csr->username, identity->username,
                                      approve_command(*id, context.name)));
    }
    const std::string& ns = asked.namespace_name;
    const std::string& account = role->service_account;
    auto sa = kube::get_service_account(client, ns, account);
    if (!sa) {
        return std::move(sa).error();
    }
    // The most this approval may grant: the role's max and the service account's cap.
    std::chrono::seconds limit = role->max;
    std::string limit_by = fmt::format("role {}'s max {}", role->name, fmt_seconds(role->max));
    if (const auto it = sa->annotations.find(k_max_duration_annotation);
        it != sa->annotations.end()) {
        auto cap = parse_max_duration_annotation(it->second, ns + "/" + account);
        if (!cap) {
            return std::move(cap).error();
        }
        if (*cap < limit) {
            limit = *cap;
            limit_by =
                fmt::format("service account {}/{}'s cap {}", ns, account, fmt_seconds(*cap));
        }
    }
    std::chrono::seconds granted = std::min(asked.duration, limit);
    if (asked_for) {
        granted = std::min(granted, *asked_for);
    }
    const bool capped = asked.duration > limit || (asked_for && *asked_for > limit);
    const std::string capped_by = capped ? limit_by : std::string{};
    const std::string secret_name = k_grant_secret_prefix + *id;
    if (auto existing = kube::get_secret(client, ns, secret_name); existing) {
        return make_error(Errc::conflict,
                          fmt::format("a secret {}/{} already exists although request {} is not "
                                      "approved; it was not made by an approval (planted?), so "
                                      "nothing was approved: inspect and delete it first",
                                      ns, secret_name, *id));
    } else if (existing.error().code != Errc::not_found) {
        return std::move(existing).error();
    }

    json audit = {{"user", identity->username},
                  {"context", context.name},
                  {"service", asked.service},
                  {"namespace", ns},
                  {"action", "access-approve"},
                  {"role", role->name},
                  {"service_account", account},
                  {"grant", *id},
                  {"requester", csr->username},
                  {"approver", identity->username},
                  {"requested_for", fmt_seconds(asked.duration)},
                  {"granted_for", fmt_seconds(granted)},
                  {"capped", capped},
                  {"reason", asked.reason}};
    if (!asked.ticket.empty()) {
        audit["ticket"] = asked.ticket;
    }
    // Write-ahead: the intent is on disk before the CSR is approved; every failure from here on
    // leaves a result line beside it.
    const std::string attempt = new_attempt_id();
    if (auto written = audit_intent(audit_path, audit, attempt); !written) {
        return std::move(written).error();
    }
    auto failed = [&](Error e) {
        auto record = audit;
        record["result"] = "failed";
        record["error"] = e.message;
        record["exit_code"] = static_cast<int>(exit_code_for(e));
        (void)audit_result(audit_path, std::move(record), attempt);
        return e;
    };
    auto approved =
        kube::add_csr_condition(client, *csr, "Approved", kube::k_oncall_approve_reason,
                                fmt::format("approved by {} for {} with oncall access approve",
                                            identity->username, fmt_seconds(granted)));
    if (!approved) {
        auto e = std::move(approved).error();
        if (e.code == Errc::access_denied) {
            e.message = fmt::format("the API server does not let {} approve access requests "
                                    "({}); an approver needs 'approve' on signers {} (see "
                                    "examples/rbac/); nothing was approved",
                                    identity->username, e.message, kube::k_grant_signer);
        }
        return failed(std::move(e));
    }
    say(progress, fmt::format("CSR {} approved", csr->metadata.name));
    // From here on a failure leaves the request approved with no token, which nothing can undo
    // (kube keeps the Approved condition): say what that means for the requester.
    auto failed_after_approval = [&](Error e) {
        e.message += fmt::format("; request {} stays approved without a token, so {}'s wait "
                                 "ends at its deadline: once this is fixed, they ask again",
                                 *id, csr->username);
        return failed(std::move(e));
    };

    const TimePoint issued_at = now();
    kube::GrantSecret record;
    record.namespace_name = ns;
    record.name = secret_name;
    record.grant_id = *id;
    record.service = asked.service;
    record.role = role->name;
    record.service_account = account;
    record.requester = csr->username;
    record.reason = asked.reason;
    record.ticket = asked.ticket;
    record.expires_at = std::chrono::time_point_cast<std::chrono::seconds>(issued_at) + granted;
    record.approver = identity->username;
    auto secret = kube::create_grant_secret(client, record);
    if (!secret) {
        auto e = std::move(secret).error();
        if (e.http_status == 409) {
            e.code = Errc::conflict;
            e.message = fmt::format("secret {}/{} appeared meanwhile (planted?); the request is "
                                    "approved but no token was issued",
                                    ns, secret_name);
            return failed_after_approval(std::move(e));
        }
        return failed_after_approval(
            explain_secret_refusal(std::move(e), client, ns, identity->username));
    }
    auto token =
        kube::request_bound_token(client, ns, account, granted.count(), secret_name, secret->uid);
    if (!token) {
        return failed_after_approval(
            undo_secret(explain_token_refusal(std::move(token).error(), ns, account, granted,
                                              identity->username),
                        client, ns, secret_name, progress));
    }
    TimePoint expires_at = record.expires_at;
    if (token->expires_at && *token->expires_at < expires_at) {
        expires_at = *token->expires_at;
    }
    auto sealed = seal_token(token->token, parsed->public_key);
    token->token.assign(token->token.size(), '\0');
    if (!sealed) {
        return failed_after_approval(
            undo_secret(std::move(sealed).error(), client, ns, secret_name, progress));
    }
    // The Secret's expiry annotation is what the requester stores: the server's, when earlier.
    std::map<std::string, std::string> annotations;
    if (expires_at < record.expires_at) {
        annotations["oncall.dev/expires-at"] = format_rfc3339(expires_at);
    }
    if (auto patched = kube::patch_secret_data(client, ns, secret_name, k_sealed_token_key,
                                               base64_encode(*sealed), annotations);
        !patched) {
        return failed_after_approval(
            undo_secret(std::move(patched).error(), client, ns, secret_name, progress));
    }
    say(progress,
        fmt::format("token sealed to the requester's key in secret {}/{}", ns, secret_name));

    ApprovedGrant out;
    out.grant = *id;
    out.service = asked.service;
    out.namespace_name = ns;
    out.role = role->name;
    out.requester = csr->username;
    out.approver = identity->username;
    out.requested = asked.duration;
    out.granted = granted;
    out.capped = capped;
    out.capped_by = capped ? capped_by : std::string{};
    out.expires_at = expires_at;

    kube::ObjectReference ref;
    ref.api_version = "v1";
    ref.kind = "Secret";
    ref.name = secret_name;
    ref.namespace_name = ns;
    ref.uid = secret->uid;
    const std::string message = fmt::format(
        "{} approved role {} on {} for {} for {} (until {}{}): {}", out.approver, out.role,
        out.service, out.requester, fmt_seconds(granted), format_rfc3339(expires_at),
        capped ? ", capped by " + out.capped_by : "", asked.reason);
    if (auto event = client.create_event(ref, "Normal", "AccessApproved", message); !event) {
        say(progress, "could not record the AccessApproved event: " + event.error().message);
    }
    Notification n = notification_about("access_approved", out, context);
    n.approver = out.approver;
    n.reason = asked.reason;
    n.ticket = asked.ticket;
    n.expires_at = format_rfc3339(expires_at);
    out.notified = send_notification(context.access.notify, n);
    audit["expires_at"] = format_rfc3339(expires_at);
    audit["result"] = "approved";
    audit["notification"] = out.notified.audit_value();
    audit["exit_code"] = 0;
    if (auto audited = audit_result(audit_path, audit, attempt); !audited) {
        auto e = std::move(audited).error();
        e.message = "cannot write the audit line, so the grant is withdrawn: " + e.message;
        return undo_secret(std::move(e), client, ns, secret_name, progress);
    }
    return out;
}

Result<DeniedRequest> deny_request(const kube::KubeClient& client, const config::Context& context,
                                   const std::string& grant, const std::string& reason,
                                   const std::string& audit_path) {
    auto id = checked_id(grant);
    if (!id) {
        return std::move(id).error();
    }
    if (auto r = validate_reason(reason); !r) {
        return std::move(r).error();
    }
    auto csr = read_grant_csr(client, *id);
    if (!csr) {
        return std::move(csr).error();
    }
    if (csr->approved()) {
        return make_error(Errc::conflict,
                          fmt::format("request {} is already approved; to end its grant delete "
                                      "the grant secret {}{} (the requester can run oncall "
                                      "access revoke)",
                                      *id, k_grant_secret_prefix, *id));
    }
    if (csr->denied()) {
        return make_error(Errc::conflict, fmt::format("request {} is already denied", *id));
    }
    auto identity = kube::self_subject_review(client);
    if (!identity) {
        return std::move(identity).error();
    }
    auto parsed = parse_request_of(*csr, *id);
    DeniedRequest out;
    out.grant = *id;
    out.requester = csr->username;
    out.approver = identity->username;
    out.reason = trimmed(reason);
    if (parsed) {
        out.service = parsed->grant.service;
        out.role = parsed->grant.role;
    }
    json audit = {{"user", out.approver},       {"context", context.name}, {"service", out.service},
                  {"action", "access-deny"},    {"role", out.role},        {"grant", out.grant},
                  {"requester", out.requester}, {"reason", out.reason}};
    // Write-ahead: the intent is on disk before the CSR is denied.
    const std::string attempt = new_attempt_id();
    if (auto written = audit_intent(audit_path, audit, attempt); !written) {
        return std::move(written).error();
    }
    auto denied =
        kube::add_csr_condition(client, *csr, "Denied", "OncallDeny",
                                fmt::format("denied by {}: {}", out.approver, out.reason));
    if (!denied) {
        auto e = std::move(denied).error();
        if (e.code == Errc::access_denied) {
            e.message = fmt::format("the API server does not let {} deny access requests ({}); "
                                    "an approver needs 'approve' on signers {}",
                                    out.approver, e.message, kube::k_grant_signer);
        }
        auto record = audit;
        record["result"] = "failed";
        record["error"] = e.message;
        record["exit_code"] = static_cast<int>(exit_code_for(e));
        (void)audit_result(audit_path, std::move(record), attempt);
        return e;
    }
    if (parsed) {
        (void)client.create_event(
            csr_ref(*csr, parsed->grant.namespace_name), "Normal", "AccessDenied",
            fmt::format("{} denied {}'s request for role {} on {}: {}", out.approver, out.requester,
                        out.role, out.service, out.reason));
        Notification n = notification_about("access_denied", out, context);
        n.approver = out.approver;
        n.reason = out.reason;
        n.ticket = parsed->grant.ticket;
        out.notified = send_notification(context.access.notify, n);
    }
    audit["result"] = "denied";
    audit["notification"] = out.notified.audit_value();
    audit["exit_code"] = 0;
    if (auto audited = audit_result(audit_path, audit, attempt); !audited) {
        return std::move(audited).error();
    }
    return out;
}

} // namespace oncall::ops
