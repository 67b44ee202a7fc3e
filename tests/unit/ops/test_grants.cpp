// The local grant store (permissions, atomic writes, keys, expiry) and request validation.

#include "oncall/core/exit_code.h"
#include "oncall/ops/grants.h"
#include "process.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

using namespace oncall;
using namespace oncall::ops;
using namespace std::chrono_literals;

namespace {

Grant sample_grant(const std::string& service = "checkout", const std::string& role = "deployer") {
    Grant g;
    g.context = "sandbox";
    g.server = "https://127.0.0.1:6443";
    g.service = service;
    g.namespace_name = "shop";
    g.role = role;
    g.service_account = "oncall-" + role;
    g.id = "abcde12345";
    g.secret_name = "oncall-grant-abcde12345";
    g.secret_uid = "6f1c0a8e-0000-4000-8000-000000000001";
    g.requester = "alice";
    g.reason = "checkout 12% errors since revision 3";
    g.ticket = "INC-42";
    g.issued_at = parse_rfc3339("2026-11-26T02:00:00Z").value();
    g.expires_at = parse_rfc3339("2026-11-26T02:30:00Z").value();
    g.token = "eyJhbGciOiJSUzI1NiJ9.secret-token-value.sig";
    g.server_identity = "ca-sha256:0123";
    return g;
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

config::Role deployer_role(std::chrono::seconds max = 1h) {
    config::Role r;
    r.name = "deployer";
    r.service_account = "oncall-deployer";
    r.max = max;
    return r;
}

} // namespace

TEST_CASE("a saved grant is found again by context, service and role", "[grants]") {
    test::TempDir tmp;
    const GrantStore store(tmp.path() + "/state/grants");
    const Grant g = sample_grant();
    REQUIRE(store.save(g));

    auto loaded = store.load("sandbox", "checkout", "deployer");
    REQUIRE(loaded);
    REQUIRE(loaded->has_value());
    const Grant& l = **loaded;
    CHECK(l.token == g.token);
    CHECK(l.id == g.id);
    CHECK(l.secret_uid == g.secret_uid);
    CHECK(l.reason == g.reason);
    CHECK(l.ticket == g.ticket);
    CHECK(l.expires_at == g.expires_at);
    CHECK(l.issued_at == g.issued_at);
    CHECK(l.namespace_name == "shop");
    CHECK(l.server_identity == g.server_identity);

    SECTION("another service, role or context has no grant") {
        CHECK_FALSE(store.load("sandbox", "payments", "deployer")->has_value());
        CHECK_FALSE(store.load("sandbox", "checkout", "triage")->has_value());
        CHECK_FALSE(store.load("prod", "checkout", "deployer")->has_value());
    }
}

TEST_CASE("grant directory is 0700 and grant files 0600, with no temporary files left",
          "[grants]") {
    test::TempDir tmp;
    const std::string dir = tmp.path() + "/state/grants";
    const GrantStore store(dir);
    REQUIRE(store.save(sample_grant()));
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(tmp.path() + "/state") == 0700);
    const std::string path = store.path_for("sandbox", "checkout", "deployer");
    CHECK(mode_of(path) == 0600);
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        (void)e;
        ++entries;
    }
    CHECK(entries == 1);

    SECTION("saving again replaces the file atomically and keeps the mode") {
        Grant g2 = sample_grant();
        g2.id = "zzzzz99999";
        REQUIRE(store.save(g2));
        CHECK(mode_of(path) == 0600);
        CHECK(store.load("sandbox", "checkout", "deployer")->value().id == "zzzzz99999");
    }
}

TEST_CASE("a grant file readable by others is refused with the path and the fix", "[grants]") {
    test::TempDir tmp;
    const GrantStore store(tmp.path() + "/grants");
    REQUIRE(store.save(sample_grant()));
    const std::string path = store.path_for("sandbox", "checkout", "deployer");
    REQUIRE(::chmod(path.c_str(), 0644) == 0);

    auto loaded = store.load("sandbox", "checkout", "deployer");
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().code == Errc::access_denied);
    CHECK_THAT(loaded.error().message, Catch::Contains(path));
    CHECK_THAT(loaded.error().message, Catch::Contains("0644"));
    CHECK_THAT(loaded.error().message, Catch::Contains("chmod 600 " + path));
    CHECK_THAT(loaded.error().message, !Catch::Contains("secret-token-value"));

    auto lookup = store.find_active("sandbox", "checkout", "deployer", sample_grant().issued_at);
    REQUIRE_FALSE(lookup);
    auto listed = store.list();
    REQUIRE_FALSE(listed);
    CHECK_THAT(listed.error().message, Catch::Contains(path));
}

TEST_CASE("a grant directory open to others is refused, for reading and writing", "[grants]") {
    test::TempDir tmp;
    const std::string dir = tmp.path() + "/grants";
    const GrantStore store(dir);
    REQUIRE(store.save(sample_grant()));
    REQUIRE(::chmod(dir.c_str(), 0755) == 0);

    auto loaded = store.load("sandbox", "checkout", "deployer");
    REQUIRE_FALSE(loaded);
    CHECK_THAT(loaded.error().message, Catch::Contains("chmod 700 " + dir));
    auto saved = store.save(sample_grant("payments"));
    REQUIRE_FALSE(saved);
    CHECK_THAT(saved.error().message, Catch::Contains(dir));
    CHECK_FALSE(std::filesystem::exists(store.path_for("sandbox", "payments", "deployer")));
}

TEST_CASE("a symlinked grant file is refused", "[grants]") {
    test::TempDir tmp;
    const GrantStore store(tmp.path() + "/grants");
    REQUIRE(store.save(sample_grant("payments")));
    const std::string target = store.path_for("sandbox", "payments", "deployer");
    const std::string link = store.path_for("sandbox", "checkout", "deployer");
    std::filesystem::create_symlink(target, link);
    auto loaded = store.load("sandbox", "checkout", "deployer");
    REQUIRE_FALSE(loaded);
    CHECK_THAT(loaded.error().message, Catch::Contains("not a regular file"));
}

TEST_CASE("a grant file whose content names another service is never used", "[grants]") {
    test::TempDir tmp;
    const GrantStore store(tmp.path() + "/grants");
    REQUIRE(store.save(sample_grant("checkout")));
    // Someone copies checkout's grant over to payments' name.
    std::filesystem::copy_file(store.path_for("sandbox", "checkout", "deployer"),
                               store.path_for("sandbox", "payments", "deployer"));
    auto lookup = store.find_active("sandbox", "payments", "deployer", sample_grant().issued_at);
    REQUIRE_FALSE(lookup);
    CHECK(lookup.error().code == Errc::access_denied);
    CHECK_THAT(lookup.error().message, Catch::Contains("not the one its name says"));
}

TEST_CASE("a corrupt grant file is an error naming the file, not a crash", "[grants]") {
    test::TempDir tmp;
    const std::string dir = tmp.path() + "/grants";
    const GrantStore store(dir);
    REQUIRE(store.save(sample_grant()));
    const std::string path = store.path_for("sandbox", "checkout", "deployer");
    {
        std::ofstream out(path, std::ios::trunc);
        out << "{\"context\": \"sandbox\", truncated";
    }
    auto loaded = store.load("sandbox", "checkout", "deployer");
    REQUIRE_FALSE(loaded);
    CHECK_THAT(loaded.error().message, Catch::Contains(path));
}

TEST_CASE("find_active tells active, expired and none apart, with time left", "[grants]") {
    test::TempDir tmp;
    const GrantStore store(tmp.path() + "/grants");
    const Grant g = sample_grant();
    REQUIRE(store.save(g));

    auto active = store.find_active("sandbox", "checkout", "deployer", g.issued_at + 10min);
    REQUIRE(active);
    CHECK(active->status == GrantStatus::active);
    CHECK(active->time_left == 20min);
    CHECK(active->describe("sandbox", "checkout", "deployer", g.issued_at).empty());
    CHECK_FALSE(grant_expiry_warning(*active, "checkout"));

    auto near_end = store.find_active("sandbox", "checkout", "deployer", g.expires_at - 4min);
    REQUIRE(near_end);
    CHECK(near_end->active());
    const auto warning = grant_expiry_warning(*near_end, "checkout");
    REQUIRE(warning);
    CHECK_THAT(*warning, Catch::Contains("expires in 4m"));
    CHECK_THAT(*warning, Catch::Contains("oncall request-access checkout --role deployer"));

    const auto ref = g.expires_at + 3min;
    auto expired = store.find_active("sandbox", "checkout", "deployer", ref);
    REQUIRE(expired);
    CHECK(expired->status == GrantStatus::expired);
    CHECK(expired->time_left == -3min);
    CHECK_THAT(expired->describe("sandbox", "checkout", "deployer", ref),
               Catch::Contains("expired 3m ago"));
    CHECK_FALSE(grant_expiry_warning(*expired, "checkout"));

    auto exactly = store.find_active("sandbox", "checkout", "deployer", g.expires_at);
    REQUIRE(exactly);
    CHECK(exactly->status == GrantStatus::expired);

    auto none = store.find_active("sandbox", "payments", "deployer", g.issued_at);
    REQUIRE(none);
    CHECK(none->status == GrantStatus::none);
    CHECK_FALSE(none->grant);
    CHECK(none->describe("sandbox", "payments", "deployer", g.issued_at) ==
          "no deployer grant for payments in context sandbox");
}

TEST_CASE("a missing grant directory means no grants, and is not created by reading", "[grants]") {
    test::TempDir tmp;
    const std::string dir = tmp.path() + "/nothing/grants";
    const GrantStore store(dir);
    auto lookup = store.find_active("sandbox", "checkout", "deployer", now());
    REQUIRE(lookup);
    CHECK(lookup->status == GrantStatus::none);
    auto listed = store.list();
    REQUIRE(listed);
    CHECK(listed->empty());
    CHECK_FALSE(std::filesystem::exists(dir));
    auto removed = store.remove("sandbox", "checkout", "deployer");
    REQUIRE(removed);
    CHECK_FALSE(*removed);
}

TEST_CASE("list filters by context and sorts, remove deletes one grant", "[grants]") {
    test::TempDir tmp;
    const GrantStore store(tmp.path() + "/grants");
    Grant prod = sample_grant("checkout");
    prod.context = "prod/eu west"; // context names may hold any character
    REQUIRE(store.save(prod));
    REQUIRE(store.save(sample_grant("payments")));
    REQUIRE(store.save(sample_grant("checkout")));
    REQUIRE(store.save(sample_grant("checkout", "triage")));

    auto all = store.list();
    REQUIRE(all);
    REQUIRE(all->size() == 4);
    CHECK((*all)[0].context == "prod/eu west");

    auto sandbox = store.list("sandbox");
    REQUIRE(sandbox);
    REQUIRE(sandbox->size() == 3);
    CHECK((*sandbox)[0].service == "checkout");
    CHECK((*sandbox)[0].role == "deployer");
    CHECK((*sandbox)[1].role == "triage");
    CHECK((*sandbox)[2].service == "payments");

    auto removed = store.remove("sandbox", "checkout", "deployer");
    REQUIRE(removed);
    CHECK(*removed);
    CHECK(store.list("sandbox")->size() == 2);
    CHECK(store.load("prod/eu west", "checkout", "deployer")->has_value());
    CHECK_FALSE(store.load("sandbox", "checkout", "deployer")->has_value());
}

TEST_CASE("the refusal names the exact request-access command", "[grants]") {
    CHECK(request_access_command("checkout") ==
          "oncall request-access checkout --role deployer --for 30m --reason \"...\"");
    CHECK(request_access_command("payments", "deployer", 15min) ==
          "oncall request-access payments --role deployer --for 15m --reason \"...\"");
    CHECK(request_access_command("payments", "deployer", 8h) ==
          "oncall request-access payments --role deployer --for 30m --reason \"...\"");

    GrantLookup none;
    const Error e = no_grant_error(none, "sandbox", "checkout", "deployer");
    CHECK(e.code == Errc::access_denied);
    CHECK(exit_code_for(e) == ExitCode::access_denied);
    CHECK_THAT(e.message, Catch::StartsWith("no deployer grant for checkout in context sandbox"));
    CHECK_THAT(e.message,
               Catch::EndsWith("\n  oncall request-access checkout --role deployer --for 30m "
                               "--reason \"...\""));
}

TEST_CASE("roles must be configured", "[grants][validation]") {
    config::AccessConfig access;
    access.roles["deployer"] = deployer_role();
    access.roles["triage"] = config::Role{"triage", "oncall-triage", 8h};

    auto ok = validate_role(access, "deployer");
    REQUIRE(ok);
    CHECK(ok->service_account == "oncall-deployer");
    CHECK(ok->name == "deployer");

    auto bad = validate_role(access, "admin");
    REQUIRE_FALSE(bad);
    CHECK(exit_code_for(bad.error()) == ExitCode::usage);
    CHECK_THAT(bad.error().message, Catch::Contains("unknown role 'admin'"));
    CHECK_THAT(bad.error().message, Catch::Contains("deployer, triage"));

    config::AccessConfig empty; // no roles configured: the defaults apply
    auto deployer = validate_role(empty, "deployer");
    REQUIRE(deployer);
    CHECK(deployer->service_account == "oncall-deployer");
    CHECK(deployer->max == 1h);
    CHECK(validate_role(empty, "triage")->max == 8h);
    CHECK_FALSE(validate_role(empty, "admin"));
}

TEST_CASE("trivial or empty reasons are refused", "[grants][validation]") {
    for (const char* reason :
         {"", "   ", "x", "test", "Test!", "asdf", "fix", "FIX.", "testing 123", "aaaaaaaaaaaa",
          "ababababab", "....", "12345678901", "need access", "rollback", "because", "fix it"}) {
        INFO("reason: '" << reason << "'");
        auto r = validate_reason(reason);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == Errc::invalid);
        CHECK_THAT(r.error().message, Catch::Contains("--reason"));
    }
    auto short_reason = validate_reason("db down");
    REQUIRE_FALSE(short_reason);
    CHECK_THAT(short_reason.error().message, Catch::Contains("too short"));
    CHECK_FALSE(validate_reason("checkout errors\nrm -rf"));
    CHECK_FALSE(validate_reason(std::string(2000, 'a') + "bcd"));

    for (const char* reason : {"checkout 12% errors since revision 3, rolling back",
                               "INC-1234 payments latency", "roll back bad deploy of search"}) {
        INFO("reason: '" << reason << "'");
        CHECK(validate_reason(reason));
    }
}

TEST_CASE("grant durations parse to whole seconds", "[grants][validation]") {
    CHECK(parse_grant_duration("30m").value() == 30min);
    CHECK(parse_grant_duration("1h30m").value() == 90min);
    CHECK(parse_grant_duration("5s").value() == 5s);
    for (const char* bad : {"", "0s", "-5m", "30", "abc", "1500ms", "5x"}) {
        INFO("duration: '" << bad << "'");
        auto r = parse_grant_duration(bad);
        REQUIRE_FALSE(r);
        CHECK(exit_code_for(r.error()) == ExitCode::usage);
        CHECK_THAT(r.error().message, Catch::StartsWith("--for"));
    }
}

TEST_CASE("duration caps: the role's max and the service account's annotation",
          "[grants][validation]") {
    const auto role = deployer_role(1h);
    CHECK(check_duration_caps(30min, role, "shop", std::nullopt));
    CHECK(check_duration_caps(1h, role, "shop", std::nullopt));

    auto over_role = check_duration_caps(2h, role, "shop", std::nullopt);
    REQUIRE_FALSE(over_role);
    CHECK(exit_code_for(over_role.error()) == ExitCode::usage);
    CHECK_THAT(over_role.error().message, Catch::Contains("maximum of 1h"));
    CHECK_THAT(over_role.error().message, Catch::Contains("access.roles.deployer.max"));

    auto over_account = check_duration_caps(45min, role, "shop", 20min);
    REQUIRE_FALSE(over_account);
    CHECK_THAT(over_account.error().message, Catch::Contains("cap of 20m"));
    CHECK_THAT(over_account.error().message, Catch::Contains("shop/oncall-deployer"));
    CHECK_THAT(over_account.error().message, Catch::Contains("oncall.dev/max-duration"));
    CHECK(check_duration_caps(20min, role, "shop", 20min));

    CHECK(parse_max_duration_annotation("45m", "shop/oncall-deployer").value() == 45min);
    CHECK(parse_max_duration_annotation(" 1h ", "shop/oncall-deployer").value() == 1h);
    auto bad = parse_max_duration_annotation("forever", "shop/oncall-deployer");
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains("shop/oncall-deployer"));
    CHECK_THAT(bad.error().message, Catch::Contains("forever"));
}

TEST_CASE("tickets and grant ids", "[grants][validation]") {
    CHECK(validate_ticket(""));
    CHECK(validate_ticket("INC-1234"));
    CHECK_FALSE(validate_ticket("INC\x1b[31m"));
    CHECK_FALSE(validate_ticket(std::string(200, 'A')));

    const auto a = new_grant_id();
    const auto b = new_grant_id();
    CHECK(a != b);
    CHECK(a.size() == 10);
    const std::string name = k_grant_secret_prefix + a;
    CHECK(std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    }));
}

namespace {

std::string base64url(const std::string& in) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned val = 0;
    int bits = -6;
    for (const unsigned char c : in) {
        val = (val << 8) + c;
        bits += 8;
        while (bits >= 0) {
            out.push_back(k[(val >> bits) & 0x3F]);
            bits -= 6;
        }
    }
    if (bits > -6) {
        out.push_back(k[((val << 8) >> (bits + 8)) & 0x3F]);
    }
    return out;
}

std::string jwt_expiring(long long exp) {
    return base64url(R"({"alg":"RS256","kid":"k"})") + "." +
           base64url(R"({"aud":["https://kubernetes.default.svc"],"exp":)" + std::to_string(exp) +
                     R"(,"sub":"system:serviceaccount:shop:oncall-deployer"})") +
           ".c2lnbmF0dXJl";
}

} // namespace

TEST_CASE("a token's exp claim is its expiry, opaque tokens have none", "[grants]") {
    const auto exp = token_expiry(jwt_expiring(1795000000));
    REQUIRE(exp);
    CHECK(format_rfc3339(*exp) == format_rfc3339(TimePoint(std::chrono::seconds(1795000000))));
    CHECK_FALSE(token_expiry("opaque-token-without-dots"));
    CHECK_FALSE(token_expiry("a.b.c"));
    CHECK_FALSE(token_expiry(base64url("{}") + "." + base64url(R"({"exp":"soon"})") + ".x"));
}

TEST_CASE("a grant file claiming more than its token is believed only as far as the token",
          "[grants]") {
    test::TempDir tmp;
    const GrantStore store(tmp.path() + "/grants");
    Grant g = sample_grant();
    g.issued_at = now() - 1min;
    const auto real = std::chrono::time_point_cast<std::chrono::seconds>(now() + 10min);
    g.token = jwt_expiring(real.time_since_epoch().count());
    g.expires_at = now() + 24h * 30; // edited by hand
    REQUIRE(store.save(g));
    auto loaded = store.load("sandbox", "checkout", "deployer");
    REQUIRE(loaded);
    REQUIRE(loaded->has_value());
    const Grant& l = **loaded;
    CHECK(l.expires_at == TimePoint(real));
    REQUIRE(l.claimed_expires_at);
    const auto doubt = grant_expiry_doubt(l, 1h);
    REQUIRE(doubt);
    CHECK_THAT(*doubt, Catch::Contains("claims it expires at") && !Catch::Contains(g.token));
    auto lookup = store.find_active("sandbox", "checkout", "deployer", now() + 11min);
    REQUIRE(lookup);
    CHECK(lookup->status == GrantStatus::expired);

    // An opaque token: the role's max is the yardstick.
    Grant opaque = sample_grant();
    opaque.expires_at = opaque.issued_at + 10h;
    CHECK(grant_expiry_doubt(opaque, 1h));
    opaque.expires_at = opaque.issued_at + 30min;
    CHECK_FALSE(grant_expiry_doubt(opaque, 1h));
}
