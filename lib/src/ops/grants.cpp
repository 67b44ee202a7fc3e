#include "oncall/ops/grants.h"

#include "backends/text.h"
#include "oncall/core/duration.h"
#include "oncall/core/files.h"
#include "oncall/core/local_file.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace oncall::ops {
namespace {

constexpr int k_file_version = 2; // 2: server_identity
constexpr const char* k_file_suffix = ".json";
constexpr std::size_t k_max_reason_length = 1024;
constexpr std::size_t k_max_ticket_length = 128;

Error io_error(const std::string& what, const std::string& path) {
    return make_error(Errc::io, fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

// File-name component: letters, digits, '_' and '-' kept, everything else %XX (so '.' separates).
std::string encode_component(const std::string& text) {
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '_' || c == '-') {
            out += c;
        } else {
            out += fmt::format("%{:02X}", u);
        }
    }
    return out;
}

std::string mode_string(mode_t mode) {
    return fmt::format("{:04o}", mode & 07777);
}

// Refuses a grants directory that others can enter or that belongs to someone else.
Result<void> check_dir_private(const std::string& dir) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        return io_error("cannot inspect grant directory", dir);
    }
    if (!S_ISDIR(st.st_mode)) {
        return make_error(Errc::io, fmt::format("grant directory {} is not a directory; move it "
                                                "away so oncall can create it",
                                                dir));
    }
    if (st.st_uid != ::geteuid()) {
        return make_error(Errc::access_denied,
                          fmt::format("grant directory {} belongs to another user (uid {}); "
                                      "refusing to use it; remove it or fix its owner",
                                      dir, st.st_uid));
    }
    if ((st.st_mode & 077) != 0) {
        return make_error(Errc::access_denied,
                          fmt::format("grant directory {} is accessible by group or others "
                                      "(mode {}); refusing to use it; fix with: chmod 700 {}",
                                      dir, mode_string(st.st_mode), dir));
    }
    return ok_result();
}

// Refuses a grant file readable by others, owned by someone else, or not a regular file.
Result<void> check_file_private(const std::string& path, const struct stat& st) {
    if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
        return make_error(Errc::access_denied,
                          fmt::format("grant file {} is not a regular file; refusing to use it; "
                                      "remove it and request access again",
                                      path));
    }
    if (st.st_uid != ::geteuid()) {
        return make_error(Errc::access_denied,
                          fmt::format("grant file {} belongs to another user (uid {}); refusing "
                                      "to use it; remove it and request access again",
                                      path, st.st_uid));
    }
    if ((st.st_mode & 077) != 0) {
        return make_error(Errc::access_denied,
                          fmt::format("grant file {} is accessible by group or others (mode {}); "
                                      "its token may have leaked, so it is refused; fix with: "
                                      "chmod 600 {} (or revoke the grant and request a new one)",
                                      path, mode_string(st.st_mode), path));
    }
    return ok_result();
}

nlohmann::json to_json(const Grant& g) {
    return {{"version", k_file_version},
            {"context", g.context},
            {"server", g.server},
            {"server_identity", g.server_identity},
            {"service", g.service},
            {"namespace", g.namespace_name},
            {"role", g.role},
            {"service_account", g.service_account},
            {"grant", g.id},
            {"secret", g.secret_name},
            {"secret_uid", g.secret_uid},
            {"requester", g.requester},
            {"reason", g.reason},
            {"ticket", g.ticket},
            {"issued_at", format_rfc3339(g.issued_at)},
            {"expires_at", format_rfc3339(g.expires_at)},
            {"token", g.token},
            {"break_glass", g.break_glass},
            {"approver", g.approver}};
}

Result<Grant> from_json(const std::string& text, const std::string& path) {
    auto bad = [&](const std::string& why) {
        return make_error(Errc::io, fmt::format("grant file {} is unreadable ({}); remove it and "
                                                "request access again",
                                                path, why));
    };
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return bad("not JSON");
    }
    Grant g;
    const std::array<std::pair<const char*, std::string*>, 13> strings{{
        {"context", &g.context},
        {"server", &g.server},
        {"service", &g.service},
        {"namespace", &g.namespace_name},
        {"role", &g.role},
        {"service_account", &g.service_account},
        {"grant", &g.id},
        {"secret", &g.secret_name},
        {"secret_uid", &g.secret_uid},
        {"requester", &g.requester},
        {"reason", &g.reason},
        {"ticket", &g.ticket},
        {"token", &g.token},
    }};
    for (const auto& [key, out] : strings) {
        const auto it = j.find(key);
        if (it == j.end() || !it->is_string()) {
            return bad(fmt::format("field '{}' missing", key));
        }
        *out = it->get<std::string>();
    }
    for (const auto& [key, out] :
         {std::pair{"issued_at", &g.issued_at}, std::pair{"expires_at", &g.expires_at}}) {
        const auto it = j.find(key);
        if (it == j.end() || !it->is_string()) {
            return bad(fmt::format("field '{}' missing", key));
        }
        auto t = parse_rfc3339(it->get<std::string>());
        if (!t) {
            return bad(fmt::format("field '{}' is not a time", key));
        }
        *out = *t;
    }
    if (const auto it = j.find("break_glass"); it != j.end() && it->is_boolean()) {
        g.break_glass = it->get<bool>();
    }
    if (const auto it = j.find("approver"); it != j.end() && it->is_string()) {
        g.approver = it->get<std::string>();
    }
    // Written since version 2; an older grant loads without it and is refused for writes.
    if (const auto it = j.find("server_identity"); it != j.end() && it->is_string()) {
        g.server_identity = it->get<std::string>();
    }
    if (g.token.empty() || g.service.empty() || g.role.empty()) {
        return bad("empty token, service or role");
    }
    // The file is only a note; the token's own expiry is what the server enforces.
    if (const auto exp = token_expiry(g.token); exp && *exp < g.expires_at) {
        if (g.expires_at - *exp > std::chrono::minutes(1)) { // more than clock rounding
            g.claimed_expires_at = g.expires_at;
        }
        g.expires_at = *exp;
    }
    return g;
}

Result<std::string> read_private_file(const std::string& path, const struct stat& st) {
    if (auto r = check_file_private(path, st); !r) {
        return std::move(r).error();
    }
    auto file = read_local_file(path, "grant file", std::size_t{1} << 20, true);
    if (!file) {
        auto e = std::move(file).error();
        e.code = Errc::io;
        return e;
    }
    return std::move(file->text);
}

Result<Grant> load_file(const std::string& path, const struct stat& st) {
    auto text = read_private_file(path, st);
    if (!text) {
        return std::move(text).error();
    }
    return from_json(*text, path);
}

std::string to_lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    return text;
}

constexpr const char* k_reason_example =
    "say what is broken and why you need the role, e.g. --reason \"checkout 12% errors since "
    "revision 3, rolling back\"";

} // namespace

std::optional<TimePoint> token_expiry(std::string_view token) {
    const auto first = token.find('.');
    const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || second - first > 8192) {
        return std::nullopt;
    }
    std::string payload(token.substr(first + 1, second - first - 1));
    std::replace(payload.begin(), payload.end(), '-', '+');
    std::replace(payload.begin(), payload.end(), '_', '/');
    auto decoded = backends::base64_decode(payload);
    if (!decoded) {
        return std::nullopt;
    }
    const auto claims = nlohmann::json::parse(*decoded, nullptr, false);
    if (!claims.is_object() || !claims.contains("exp") || !claims["exp"].is_number()) {
        return std::nullopt;
    }
    const double exp = claims["exp"].get<double>();
    if (!(exp > 0 && exp < 1e11)) {
        return std::nullopt;
    }
    return TimePoint(std::chrono::milliseconds(static_cast<long long>(exp * 1000)));
}

std::optional<std::string> grant_expiry_doubt(const Grant& grant, std::chrono::seconds role_max) {
    if (grant.claimed_expires_at) {
        return fmt::format("warning: grant file of the {} grant for {} claims it expires at {}, "
                           "but its token expires at {}; the token's expiry is shown (was the "
                           "file edited?)",
                           grant.role, grant.service, format_rfc3339(*grant.claimed_expires_at),
                           format_rfc3339(grant.expires_at));
    }
    if (!token_expiry(grant.token) && role_max.count() > 0 &&
        grant.expires_at - grant.issued_at > role_max + std::chrono::seconds(60)) {
        using std::chrono::milliseconds;
        return fmt::format("warning: grant file of the {} grant for {} claims {} of access, more "
                           "than the role's maximum of {}; the server enforces the real expiry "
                           "(was the file edited?)",
                           grant.role, grant.service,
                           format_duration(std::chrono::duration_cast<milliseconds>(
                               grant.expires_at - grant.issued_at)),
                           format_duration(std::chrono::duration_cast<milliseconds>(role_max)));
    }
    return std::nullopt;
}

std::string normalize_server_url(std::string_view url) {
    std::string scheme;
    std::string_view rest = url;
    if (const auto at = url.find("://"); at != std::string_view::npos) {
        scheme = to_lower(url.substr(0, at));
        rest = url.substr(at + 3);
    }
    const auto path_at = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, path_at);
    std::string_view path =
        path_at == std::string_view::npos ? std::string_view{} : rest.substr(path_at);
    path = path.substr(0, path.find_first_of("?#"));
    if (const auto userinfo = authority.rfind('@'); userinfo != std::string_view::npos) {
        authority.remove_prefix(userinfo + 1);
    }
    std::string host;
    std::string port;
    const auto bracket = authority.find(']');
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
        host = to_lower(authority.substr(0, colon));
        port = std::string(authority.substr(colon + 1));
    } else {
        host = to_lower(authority);
    }
    while (port.size() > 1 && port.front() == '0') {
        port.erase(0, 1);
    }
    if (port.empty()) {
        port = scheme == "http" ? "80" : "443";
    }
    while (!path.empty() && path.back() == '/') {
        path.remove_suffix(1);
    }
    return fmt::format("{}://{}:{}{}", scheme, host, port, path);
}

// ---- GrantLookup ----

std::string GrantLookup::describe(const std::string& context, const std::string& service,
                                  const std::string& role, TimePoint ref) const {
    switch (status) {
    case GrantStatus::active:
        return {};
    case GrantStatus::none:
        return fmt::format("no {} grant for {} in context {}", role, service, context);
    case GrantStatus::expired:
        if (grant) {
            return fmt::format("the {} grant for {} (grant {}) expired {} (at {})", role, service,
                               grant->id, format_age(grant->expires_at, ref),
                               format_rfc3339(grant->expires_at));
        }
        return fmt::format("the {} grant for {} has expired", role, service);
    }
    return {};
}

// ---- GrantStore ----

GrantStore::GrantStore(std::string dir) : m_dir(std::move(dir)) {
    while (m_dir.size() > 1 && m_dir.back() == '/') {
        m_dir.pop_back();
    }
}

std::string GrantStore::path_for(const std::string& context, const std::string& service,
                                 const std::string& role) const {
    return fmt::format("{}/{}.{}.{}{}", m_dir, encode_component(context), encode_component(service),
                       encode_component(role), k_file_suffix);
}

Result<void> GrantStore::save(const Grant& grant) const {
    if (grant.context.empty() || grant.service.empty() || grant.role.empty()) {
        return make_error(Errc::internal, "a grant needs a context, a service and a role");
    }
    if (auto r = make_private_dirs(m_dir); !r) {
        return r;
    }
    if (auto r = check_dir_private(m_dir); !r) {
        return r;
    }
    const std::string path = path_for(grant.context, grant.service, grant.role);
    // A grant file is never written through a link planted at its name.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        return make_error(Errc::io,
                          fmt::format("{} is not a regular file; remove it and try again", path));
    }
    return write_file_atomic(path, to_json(grant).dump(2) + "\n", 0600);
}

namespace {

bool valid_request_id(const std::string& id) {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
        return std::islower(c) || std::isdigit(c);
    });
}

} // namespace

Result<void> GrantStore::save_request(const std::string& id, const std::string& text) const {
    if (!valid_request_id(id)) {
        return make_error(Errc::invalid, fmt::format("'{}' is not a grant id", id));
    }
    for (const auto& dir : {m_dir, requests_dir()}) {
        if (auto r = make_private_dirs(dir); !r) {
            return r;
        }
        if (auto r = check_dir_private(dir); !r) {
            return r;
        }
    }
    const std::string path = requests_dir() + "/" + id + ".request";
    // A request file is never written through a link planted at its name.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        return make_error(Errc::io,
                          fmt::format("{} is not a regular file; remove it and try again", path));
    }
    return write_file_atomic(path, text, 0600);
}

Result<std::optional<std::string>> GrantStore::load_request(const std::string& id) const {
    if (!valid_request_id(id)) {
        return make_error(
            Errc::invalid,
            fmt::format("'{}' is not a grant id (10 lowercase letters and digits)", id));
    }
    for (const auto& dir : {m_dir, requests_dir()}) {
        struct stat dst {};
        if (::lstat(dir.c_str(), &dst) != 0) {
            if (errno == ENOENT) {
                return std::optional<std::string>{};
            }
            return io_error("cannot inspect grant directory", dir);
        }
        if (auto r = check_dir_private(dir); !r) {
            return std::move(r).error();
        }
    }
    const std::string path = requests_dir() + "/" + id + ".request";
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return std::optional<std::string>{};
        }
        return io_error("cannot inspect request file", path);
    }
    auto text = read_private_file(path, st);
    if (!text) {
        return std::move(text).error();
    }
    return std::optional<std::string>{std::move(text).value()};
}

Result<bool> GrantStore::remove_request(const std::string& id) const {
    if (!valid_request_id(id)) {
        return false;
    }
    const std::string path = requests_dir() + "/" + id + ".request";
    if (::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) {
            return false;
        }
        return io_error("cannot delete request file", path);
    }
    return true;
}

Result<std::optional<Grant>> GrantStore::load(const std::string& context,
                                              const std::string& service,
                                              const std::string& role) const {
    struct stat dst {};
    if (::lstat(m_dir.c_str(), &dst) != 0) {
        if (errno == ENOENT) {
            return std::optional<Grant>{};
        }
        return io_error("cannot inspect grant directory", m_dir);
    }
    if (auto r = check_dir_private(m_dir); !r) {
        return std::move(r).error();
    }
    const std::string path = path_for(context, service, role);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return std::optional<Grant>{};
        }
        return io_error("cannot inspect grant file", path);
    }
    auto grant = load_file(path, st);
    if (!grant) {
        return std::move(grant).error();
    }
    if (grant->context != context || grant->service != service || grant->role != role) {
        return make_error(Errc::access_denied,
                          fmt::format("grant file {} holds a {} grant for {} in context {}, not "
                                      "the one its name says; refusing to use it; remove it",
                                      path, grant->role, grant->service, grant->context));
    }
    return std::optional<Grant>{std::move(grant).value()};
}

Result<GrantLookup> GrantStore::find_active(const std::string& context, const std::string& service,
                                            const std::string& role, TimePoint ref) const {
    auto stored = load(context, service, role);
    if (!stored) {
        return std::move(stored).error();
    }
    GrantLookup lookup;
    if (!stored->has_value()) {
        return lookup;
    }
    lookup.grant = std::move(**stored);
    lookup.time_left = lookup.grant->time_left(ref);
    lookup.status = lookup.grant->expired(ref) ? GrantStatus::expired : GrantStatus::active;
    return lookup;
}

Result<std::vector<Grant>> GrantStore::list(const std::string& context) const {
    std::vector<Grant> grants;
    struct stat dst {};
    if (::lstat(m_dir.c_str(), &dst) != 0) {
        if (errno == ENOENT) {
            return grants;
        }
        return io_error("cannot inspect grant directory", m_dir);
    }
    if (auto r = check_dir_private(m_dir); !r) {
        return std::move(r).error();
    }
    DIR* d = ::opendir(m_dir.c_str());
    if (d == nullptr) {
        return io_error("cannot list grant directory", m_dir);
    }
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        const std::string suffix = k_file_suffix;
        if (name.empty() || name[0] == '.' || name.size() <= suffix.size() ||
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
            continue;
        }
        names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        const std::string path = m_dir + "/" + name;
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) {
            continue; // removed meanwhile
        }
        auto grant = load_file(path, st);
        if (!grant) {
            return std::move(grant).error();
        }
        if (path != path_for(grant->context, grant->service, grant->role)) {
            return make_error(Errc::access_denied,
                              fmt::format("grant file {} holds a grant that does not match its "
                                          "name; remove it",
                                          path));
        }
        if (context.empty() || grant->context == context) {
            grants.push_back(std::move(grant).value());
        }
    }
    std::sort(grants.begin(), grants.end(), [](const Grant& a, const Grant& b) {
        return std::tie(a.context, a.service, a.role) < std::tie(b.context, b.service, b.role);
    });
    return grants;
}

Result<bool> GrantStore::remove(const std::string& context, const std::string& service,
                                const std::string& role) const {
    const std::string path = path_for(context, service, role);
    if (::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) {
            return false;
        }
        return io_error("cannot remove grant file", path);
    }
    const int dfd = ::open(m_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return true;
}

// ---- messages ----

std::string request_access_command(const std::string& service, const std::string& role,
                                   std::chrono::seconds role_max) {
    std::chrono::seconds duration = std::chrono::minutes(30);
    if (role_max.count() > 0 && role_max < duration) {
        duration = role_max;
    }
    return fmt::format("oncall request-access {} --role {} --for {} --reason \"...\"", service,
                       role, format_duration(duration));
}

Error no_grant_error(const GrantLookup& lookup, const std::string& context,
                     const std::string& service, const std::string& role,
                     std::chrono::seconds role_max) {
    std::string what = lookup.describe(context, service, role, now());
    if (what.empty()) {
        what = fmt::format("the {} grant for {} was not accepted", role, service);
    }
    return make_error(Errc::access_denied,
                      fmt::format("{}; writes to {} need an active {} grant for it; run:\n  {}",
                                  what, service, role,
                                  request_access_command(service, role, role_max)));
}

std::optional<std::string> grant_expiry_warning(const GrantLookup& lookup,
                                                const std::string& service) {
    if (!lookup.active() || !lookup.grant || lookup.time_left >= k_grant_warning_threshold) {
        return std::nullopt;
    }
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(lookup.time_left);
    return fmt::format(
        "warning: the {} grant for {} expires in {} (at {}); a rollout that takes "
        "longer may be cut off; renew with: {}",
        lookup.grant->role, service,
        format_duration(std::chrono::milliseconds(std::max<long long>(left.count(), 1) * 1000)),
        format_local(lookup.grant->expires_at),
        request_access_command(service, lookup.grant->role));
}

// ---- validation ----

std::map<std::string, config::Role> effective_roles(const config::AccessConfig& access) {
    if (!access.roles.empty()) {
        return access.roles;
    }
    return {{"deployer", config::Role{"deployer", "oncall-deployer", std::chrono::hours(1)}},
            {"triage", config::Role{"triage", "oncall-triage", std::chrono::hours(8)}}};
}

Result<config::Role> validate_role(const config::AccessConfig& access, const std::string& name) {
    const auto roles = effective_roles(access);
    const auto it = roles.find(name);
    if (it != roles.end()) {
        config::Role role = it->second;
        if (role.name.empty()) {
            role.name = name;
        }
        if (role.service_account.empty()) {
            return make_error(Errc::config,
                              fmt::format("role '{}' has no service-account in the context's "
                                          "access.roles; add one",
                                          name));
        }
        return role;
    }
    std::string known;
    for (const auto& [n, r] : roles) {
        known += known.empty() ? n : ", " + n;
    }
    return make_error(Errc::invalid,
                      fmt::format("unknown role '{}'; known roles: {}", name, known));
}

Result<void> validate_reason(std::string_view reason) {
    const std::string_view trimmed = trim(reason);
    if (trimmed.empty()) {
        return make_error(Errc::invalid, fmt::format("--reason is empty; {}", k_reason_example));
    }
    for (const char c : trimmed) {
        if (std::iscntrl(static_cast<unsigned char>(c))) {
            return make_error(Errc::invalid,
                              "--reason contains control characters; use one line of plain text");
        }
    }
    if (trimmed.size() > k_max_reason_length) {
        return make_error(Errc::invalid, fmt::format("--reason is longer than {} characters; "
                                                     "put details in the ticket (--ticket)",
                                                     k_max_reason_length));
    }
    // Lowercase, punctuation and spaces squeezed, for comparing against the trivial list.
    std::string norm;
    std::set<char> distinct;
    std::size_t letters = 0;
    for (const char c : to_lower(trimmed)) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u)) {
            norm += c;
            distinct.insert(c);
            letters += std::isalpha(u) ? 1 : 0;
        } else if (!norm.empty() && norm.back() != ' ') {
            norm += ' ';
        }
    }
    while (!norm.empty() && norm.back() == ' ') {
        norm.pop_back();
    }
    static const std::set<std::string> k_trivial = {"x",
                                                    "xx",
                                                    "xxx",
                                                    "a",
                                                    "test",
                                                    "tests",
                                                    "testing",
                                                    "test test",
                                                    "testing 123",
                                                    "test 123",
                                                    "asdf",
                                                    "asdfasdf",
                                                    "asdfgh",
                                                    "asdfghjkl",
                                                    "qwerty",
                                                    "qwertyuiop",
                                                    "fix",
                                                    "fixing",
                                                    "fix it",
                                                    "fixes",
                                                    "foo",
                                                    "bar",
                                                    "foobar",
                                                    "foo bar",
                                                    "tmp",
                                                    "temp",
                                                    "na",
                                                    "n a",
                                                    "none",
                                                    "no reason",
                                                    "nothing",
                                                    "reason",
                                                    "because",
                                                    "just because",
                                                    "why not",
                                                    "todo",
                                                    "wip",
                                                    "please",
                                                    "pls",
                                                    "plz",
                                                    "access",
                                                    "need access",
                                                    "i need access",
                                                    "give me access",
                                                    "deploy",
                                                    "rollback",
                                                    "roll back",
                                                    "redeploy",
                                                    "debug",
                                                    "debugging",
                                                    "stuff",
                                                    "things",
                                                    "incident",
                                                    "oncall",
                                                    "on call",
                                                    "urgent",
                                                    "emergency",
                                                    "help",
                                                    "ok",
                                                    "yes",
                                                    "hello",
                                                    "lorem ipsum",
                                                    "whatever",
                                                    "idk",
                                                    "dunno",
                                                    "123",
                                                    "1234",
                                                    "12345",
                                                    "123456"};
    if (k_trivial.count(norm) != 0 || letters == 0 || distinct.size() < 4) {
        return make_error(Errc::invalid,
                          fmt::format("--reason \"{}\" does not explain anything; {}", trimmed,
                                      k_reason_example));
    }
    if (trimmed.size() < k_min_reason_length) {
        return make_error(Errc::invalid,
                          fmt::format("--reason \"{}\" is too short ({} characters, at least {}); "
                                      "{}",
                                      trimmed, trimmed.size(), k_min_reason_length,
                                      k_reason_example));
    }
    return ok_result();
}

Result<void> validate_ticket(std::string_view ticket) {
    if (ticket.size() > k_max_ticket_length) {
        return make_error(Errc::invalid, fmt::format("--ticket is longer than {} characters",
                                                     k_max_ticket_length));
    }
    for (const char c : ticket) {
        if (std::iscntrl(static_cast<unsigned char>(c))) {
            return make_error(Errc::invalid, "--ticket contains control characters");
        }
    }
    return ok_result();
}

Result<std::chrono::seconds> parse_grant_duration(std::string_view text) {
    auto d = parse_duration(text);
    if (!d) {
        auto e = std::move(d).error();
        e.message = "--for: " + e.message;
        return e;
    }
    if (d->count() % 1000 != 0) {
        return make_error(Errc::invalid,
                          fmt::format("--for {}: grants last whole seconds; use s, m or h, like "
                                      "30m",
                                      text));
    }
    return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

Result<std::chrono::seconds> parse_max_duration_annotation(std::string_view value,
                                                           const std::string& account) {
    auto d = parse_duration(trim(value));
    if (!d || d->count() < 1000) {
        return make_error(Errc::invalid,
                          fmt::format("service account {} has an invalid {} annotation \"{}\" "
                                      "(expected a duration like 1h); refusing to issue an "
                                      "uncapped grant; ask the cluster administrators to fix it",
                                      account, k_max_duration_annotation, value));
    }
    return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

Result<void> check_duration_caps(std::chrono::seconds duration, const config::Role& role,
                                 const std::string& account_namespace,
                                 std::optional<std::chrono::seconds> account_cap) {
    const auto fmt_s = [](std::chrono::seconds s) {
        return format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(s));
    };
    if (duration > role.max) {
        return make_error(Errc::invalid,
                          fmt::format("--for {} is above the {} role's maximum of {} "
                                      "(access.roles.{}.max in the configuration); ask for {} "
                                      "or less",
                                      fmt_s(duration), role.name, fmt_s(role.max), role.name,
                                      fmt_s(role.max)));
    }
    if (account_cap && duration > *account_cap) {
        return make_error(Errc::invalid,
                          fmt::format("--for {} is above the cap of {} set on service account "
                                      "{}/{} (annotation {}); ask for {} or less",
                                      fmt_s(duration), fmt_s(*account_cap), account_namespace,
                                      role.service_account, k_max_duration_annotation,
                                      fmt_s(*account_cap)));
    }
    return ok_result();
}

std::string new_grant_id() {
    static constexpr char k_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::uniform_int_distribution<int> pick(0, 35);
    std::string id;
    // Starts with a letter so the id alone is a valid DNS-1123 label too.
    id += k_alphabet[std::uniform_int_distribution<int>(0, 25)(rd)];
    while (id.size() < 10) {
        id += k_alphabet[pick(rd)];
    }
    return id;
}

} // namespace oncall::ops
