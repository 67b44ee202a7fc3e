// Two-person grants without a server: the request key, the PKCS#10 request and its SAN URI (made,
// parsed, refused when forged or malformed), the sealed token, and the notification body.

#include "oncall/core/exit_code.h"
#include "oncall/ops/grant_request.h"
#include "oncall/ops/notify.h"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

using namespace oncall;
using namespace oncall::ops;
using namespace std::chrono_literals;

namespace {

RequestedGrant sample_request() {
    RequestedGrant g;
    g.id = "k3j9x0abcd";
    g.service = "checkout";
    g.namespace_name = "shop";
    g.role = "deployer";
    g.duration = 30min;
    g.reason = "checkout 12% errors & p99 5s since rev 3 = rollback?";
    g.ticket = "INC-4711";
    return g;
}

// A CSR made with OpenSSL directly: any key type, any CN and SAN URI.
std::string foreign_csr(const char* key_type, const std::string& cn, const std::string& uri) {
    const std::string type = key_type;
    EVP_PKEY* key = type == "RSA"
                        ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                    : type == "EC" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                   : EVP_PKEY_Q_keygen(nullptr, nullptr, key_type);
    REQUIRE(key != nullptr);
    X509_REQ* req = X509_REQ_new();
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_REQ_set_pubkey(req, key);
    if (!uri.empty()) {
        STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
        const std::string value = "URI:" + uri;
        X509_EXTENSION* ext =
            X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, value.c_str());
        REQUIRE(ext != nullptr);
        sk_X509_EXTENSION_push(exts, ext);
        X509_REQ_add_extensions(req, exts);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    }
    const EVP_MD* md = std::string(key_type) == "ED25519" ? nullptr : EVP_sha256();
    REQUIRE(X509_REQ_sign(req, key, md) > 0);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(bio, req);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    return pem;
}

} // namespace

TEST_CASE("a grant request round-trips through its signed PKCS#10 request") {
    const auto key = generate_grant_key().value();
    CHECK(key.public_key.size() == 32);
    CHECK(key.private_pem.find("BEGIN PRIVATE KEY") != std::string::npos);
    CHECK(grant_public_key(key.private_pem).value() == key.public_key);
    const auto pem = make_grant_csr(key, sample_request()).value();
    CHECK(pem.find("BEGIN CERTIFICATE REQUEST") != std::string::npos);
    const auto parsed = parse_grant_csr(pem).value();
    CHECK(parsed.public_key == key.public_key);
    CHECK(parsed.grant.id == "k3j9x0abcd");
    CHECK(parsed.grant.service == "checkout");
    CHECK(parsed.grant.namespace_name == "shop");
    CHECK(parsed.grant.role == "deployer");
    CHECK(parsed.grant.duration == 30min);
    CHECK(parsed.grant.reason == sample_request().reason); // & = ? survive percent-encoding
    CHECK(parsed.grant.ticket == "INC-4711");
}

TEST_CASE("the SAN URI percent-encodes every value") {
    const std::string uri = grant_uri(sample_request());
    CHECK(uri.rfind("oncall://grant?service=checkout&namespace=shop&role=deployer&for=30m&reason=",
                    0) == 0);
    CHECK(uri.find("%26") != std::string::npos); // '&' inside the reason
    CHECK(uri.find("%3D") != std::string::npos); // '='
    CHECK(uri.find(' ') == std::string::npos);
    auto back = parse_grant_uri(uri).value();
    CHECK(back.reason == sample_request().reason);
}

TEST_CASE("malformed request URIs are refused with the reason") {
    const std::string good = "oncall://grant?service=checkout&namespace=shop&role=deployer&for=30m&"
                             "reason=checkout%20is%20down%20since%20rev%203&ticket=";
    REQUIRE(parse_grant_uri(good));
    for (const std::string& bad : {
             std::string("https://grant?service=checkout"),
             good + "&service=other", // repeated key
             good + "&admin=true",    // unknown key
             std::string(
                 "oncall://grant?service=checkout&namespace=shop&role=deployer&for=30m"), // no
                                                                                          // reason
             std::string("oncall://"
                         "grant?service=Check_out&namespace=shop&role=deployer&for=30m&reason="
                         "checkout%20is%20down%20now"),
             std::string("oncall://"
                         "grant?service=checkout&namespace=shop&role=deployer&for=forever&reason="
                         "checkout%20is%20down%20now"),
             std::string("oncall://"
                         "grant?service=checkout&namespace=shop&role=deployer&for=30m&reason="
                         "checkout%2is%20down%20now"),
             std::string("oncall://"
                         "grant?service=checkout&namespace=shop&role=deployer&for=30m&reason=line%"
                         "0Abreak%20in%20reason"),
             std::string(
                 "oncall://grant?service=checkout&namespace=shop&role=deployer&for=30m&reason=raw "
                 "space here please"),
         }) {
        INFO(bad);
        auto parsed = parse_grant_uri(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == Errc::invalid);
        CHECK(parsed.error().message.rfind("malformed request URI", 0) == 0);
    }
}

TEST_CASE("requests that are not Ed25519, not parseable or malformed are invalid") {
    const std::string uri = grant_uri(sample_request());
    SECTION("an ECDSA key") {
        auto r = parse_grant_csr(foreign_csr("EC", "k3j9x0abcd", uri));
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("not Ed25519") != std::string::npos);
    }
    SECTION("an RSA key") {
        auto r = parse_grant_csr(foreign_csr("RSA", "k3j9x0abcd", uri));
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("not Ed25519") != std::string::npos);
    }
    SECTION("Ed25519 but a malformed URI") {
        auto r = parse_grant_csr(
            foreign_csr("ED25519", "k3j9x0abcd", "oncall://grant?service=x&rm=-rf"));
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("malformed request URI") != std::string::npos);
    }
    SECTION("Ed25519 without a SAN URI") {
        auto r = parse_grant_csr(foreign_csr("ED25519", "k3j9x0abcd", ""));
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("SAN URI") != std::string::npos);
    }
    SECTION("a CN that is not a grant id") {
        auto r = parse_grant_csr(foreign_csr("ED25519", "../../etc", uri));
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("CN") != std::string::npos);
    }
    SECTION("garbage") {
        auto r = parse_grant_csr(
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("does not parse") != std::string::npos);
    }
    SECTION("a request changed after signing") {
        const auto key = generate_grant_key().value();
        std::string pem = make_grant_csr(key, sample_request()).value();
        // Flip one base64 character in the middle of the body: the signature no longer verifies
        // (or the DER no longer parses); either way it is refused.
        const auto pos = pem.size() / 2;
        pem[pos] = pem[pos] == 'A' ? 'B' : 'A';
        CHECK_FALSE(parse_grant_csr(pem));
    }
}

TEST_CASE("a sealed token opens only with the requester's key") {
    const auto requester = generate_grant_key().value();
    const auto other = generate_grant_key().value();
    const std::string token = "eyJhbGciOiJSUzI1NiJ9.payload-of-a-service-account-token.signature";
    const auto sealed = seal_token(token, requester.public_key).value();
    CHECK(sealed.find(token) == std::string::npos);
    CHECK(sealed.size() == token.size() + 48);
    CHECK(open_sealed_token(sealed, requester.private_pem).value() == token);

    auto wrong = open_sealed_token(sealed, other.private_pem);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == Errc::access_denied);
    CHECK(exit_code_for(wrong.error()) == ExitCode::access_denied);

    std::string tampered = sealed;
    tampered.back() = static_cast<char>(tampered.back() ^ 1);
    CHECK_FALSE(open_sealed_token(tampered, requester.private_pem));
    CHECK_FALSE(open_sealed_token("short", requester.private_pem));
    CHECK_FALSE(seal_token(token, "not a key"));
}

TEST_CASE("base64 of sealed boxes round-trips") {
    const std::string bytes("\x00\x01\xfe\xffhello", 9);
    CHECK(base64_decode(base64_encode(bytes)).value() == bytes);
    CHECK(base64_encode("ab") == "YWI=");
    CHECK_FALSE(base64_decode("not base64!"));
}

TEST_CASE("a notification carries every field and a one-line text") {
    Notification n;
    n.event = "break_glass";
    n.service = "checkout";
    n.role = "breakglass";
    n.grant = "k3j9x0abcd";
    n.requester = "alice";
    n.reason = "checkout down at 3am,\nno approver answers the page";
    n.ticket = "INC-9";
    n.expires_at = "2026-11-26T03:30:00Z";
    n.context = "prod";
    const auto body = notification_body(n);
    for (const char* key : {"event", "service", "role", "grant", "requester", "approver", "reason",
                            "ticket", "expires_at", "context", "text"}) {
        CHECK(body.contains(key));
    }
    CHECK(body["approver"].is_null());
    CHECK(body["reason"] == n.reason); // exact bytes in JSON
    const std::string text = body["text"];
    CHECK(text.find('\n') == std::string::npos);
    CHECK(text.rfind("BREAK-GLASS: alice took role breakglass on checkout", 0) == 0);
}

TEST_CASE("an unconfigured webhook is not attempted, a bad one fails without throwing") {
    config::NotifyConfig none;
    Notification n;
    n.event = "access_requested";
    auto outcome = send_notification(none, n);
    CHECK_FALSE(outcome.attempted);
    CHECK(outcome.audit_value() == "not-configured");
    config::NotifyConfig env;
    env.webhook_url_env = "ONCALL_TEST_SURELY_UNSET_WEBHOOK";
    outcome = send_notification(env, n);
    CHECK(outcome.attempted);
    CHECK_FALSE(outcome.ok);
    CHECK(outcome.audit_value().rfind("failed: ", 0) == 0);
}
