#include "oncall/ops/grant_request.h"

#include "oncall/config/config.h"
#include "oncall/core/duration.h"
#include "oncall/ops/grants.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

namespace oncall::ops {
namespace {

template <class T, void (*Free)(T*)> struct Deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

void free_extensions(STACK_OF(X509_EXTENSION) * exts) {
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}
using ExtsPtr =
    std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<STACK_OF(X509_EXTENSION), free_extensions>>;

constexpr std::size_t k_ed25519_bytes = 32;
constexpr std::size_t k_max_request_bytes = 16 * 1024;
constexpr const char* k_uri_prefix = "oncall://grant?";

Error crypto_error(const std::string& what) {
    return make_error(Errc::internal, fmt::format("{} (OpenSSL)", what));
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string{};
}

Result<PkeyPtr> read_private_key(std::string_view pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
        return make_error(Errc::invalid, "the local request key is not an Ed25519 private key");
    }
    return key;
}

Result<std::string> raw_public(EVP_PKEY* key) {
    std::string out(k_ed25519_bytes, '\0');
    std::size_t len = out.size();
    if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
        len != k_ed25519_bytes) {
        return crypto_error("cannot read the Ed25519 public key");
    }
    return out;
}

bool unreserved(unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string encode_uri_value(std::string_view text) {
    std::string out;
    for (const unsigned char c : text) {
        if (unreserved(c)) {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

Result<std::string> decode_uri_value(std::string_view text, std::string_view key) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            const bool complete = i + 2 < text.size();
            const int hi = complete ? hex_value(text[i + 1]) : -1;
            const int lo = complete ? hex_value(text[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return make_error(Errc::invalid,
                                  fmt::format("the value of '{}' has a bad percent-escape", key));
            }
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (unreserved(static_cast<unsigned char>(c))) {
            out += c;
        } else {
            return make_error(Errc::invalid,
                              fmt::format("the value of '{}' has an unencoded character", key));
        }
    }
    return out;
}

bool has_control(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

} // namespace

Result<GrantKey> generate_grant_key() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!key) {
        return crypto_error("cannot generate an Ed25519 key");
    }
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1) {
        return crypto_error("cannot encode the Ed25519 key");
    }
    GrantKey out;
    out.private_pem = bio_text(bio.get());
    auto pub = raw_public(key.get());
    if (!pub) {
        return std::move(pub).error();
    }
    out.public_key = std::move(pub).value();
    return out;
}

Result<std::string> grant_public_key(std::string_view private_pem) {
    auto key = read_private_key(private_pem);
    if (!key) {
        return std::move(key).error();
    }
    return raw_public(key->get());
}

std::string grant_uri(const RequestedGrant& g) {
    std::string uri = k_uri_prefix;
    uri += "service=" + encode_uri_value(g.service);
    uri += "&namespace=" + encode_uri_value(g.namespace_name);
    uri += "&role=" + encode_uri_value(g.role);
    uri += "&for=" + encode_uri_value(format_duration(std::chrono::milliseconds(g.duration)));
    uri += "&reason=" + encode_uri_value(g.reason);
    uri += "&ticket=" + encode_uri_value(g.ticket);
    return uri;
}

Result<RequestedGrant> parse_grant_uri(std::string_view uri) {
    const auto bad = [](const std::string& why) {
        return make_error(Errc::invalid, "malformed request URI: " + why);
    };
    if (uri.size() > 4096) {
        return bad("longer than 4096 bytes");
    }
    if (uri.substr(0, std::string_view(k_uri_prefix).size()) != k_uri_prefix) {
        return bad("it does not start with oncall://grant?");
    }
    std::string_view query = uri.substr(std::string_view(k_uri_prefix).size());
    std::map<std::string, std::string> values;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos) {
            return bad(fmt::format("'{}' is not key=value", pair.substr(0, 40)));
        }
        const std::string key(pair.substr(0, eq));
        static const std::array<const char*, 6> known{"service", "namespace", "role",
                                                      "for",     "reason",    "ticket"};
        if (std::find_if(known.begin(), known.end(), [&](const char* k) { return key == k; }) ==
            known.end()) {
            return bad(fmt::format("unknown key '{}'", key.substr(0, 40)));
        }
        auto value = decode_uri_value(pair.substr(eq + 1), key);
        if (!value) {
            return bad(value.error().message);
        }
        if (!values.emplace(key, std::move(value).value()).second) {
            return bad(fmt::format("key '{}' appears twice", key));
        }
    }
    for (const char* required : {"service", "namespace", "role", "for", "reason"}) {
        if (values.count(required) == 0) {
            return bad(fmt::format("no '{}'", required));
        }
    }
    RequestedGrant g;
    g.service = values["service"];
    g.namespace_name = values["namespace"];
    g.role = values["role"];
    g.reason = values["reason"];
    g.ticket = values["ticket"];
    if (!config::is_dns1123_label(g.service)) {
        return bad("the service is not a DNS-1123 label");
    }
    if (!config::is_dns1123_label(g.namespace_name)) {
        return bad("the namespace is not a DNS-1123 label");
    }
    if (g.role.empty() || g.role.size() > 63 || has_control(g.role)) {
        return bad("the role is not a role name");
    }
    if (has_control(g.reason)) {
        return bad("the reason holds control characters");
    }
    if (auto r = validate_reason(g.reason); !r) {
        return bad(r.error().message);
    }
    if (auto r = validate_ticket(g.ticket); !r) {
        return bad(r.error().message);
    }
    auto duration = parse_grant_duration(values["for"]);
    if (!duration) {
        return bad(duration.error().message);
    }
    g.duration = *duration;
    return g;
}

Result<std::string> make_grant_csr(const GrantKey& key, const RequestedGrant& grant) {
    auto pkey = read_private_key(key.private_pem);
    if (!pkey) {
        return std::move(pkey).error();
    }
    ReqPtr req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1) {
        return crypto_error("cannot create a certificate request");
    }
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(grant.id.c_str()), -1, -1,
                                   0) != 1 ||
        X509_REQ_set_pubkey(req.get(), pkey->get()) != 1) {
        return crypto_error("cannot fill the certificate request");
    }
    NamesPtr names(sk_GENERAL_NAME_new_null());
    GENERAL_NAME* gen = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    const std::string uri = grant_uri(grant);
    if (!names || gen == nullptr || ia5 == nullptr ||
        ASN1_STRING_set(ia5, uri.data(), static_cast<int>(uri.size())) != 1) {
        GENERAL_NAME_free(gen);
        ASN1_IA5STRING_free(ia5);
        return crypto_error("cannot build the request's SAN URI");
    }
    GENERAL_NAME_set0_value(gen, GEN_URI, ia5);
    sk_GENERAL_NAME_push(names.get(), gen);
    ExtsPtr exts(sk_X509_EXTENSION_new_null());
    X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get());
    if (!exts || ext == nullptr) {
        X509_EXTENSION_free(ext);
        return crypto_error("cannot encode the SAN extension");
    }
    sk_X509_EXTENSION_push(exts.get(), ext);
    if (X509_REQ_add_extensions(req.get(), exts.get()) != 1 ||
        X509_REQ_sign(req.get(), pkey->get(), nullptr) <= 0) {
        return crypto_error("cannot sign the certificate request");
    }
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
        return crypto_error("cannot encode the certificate request");
    }
    return bio_text(bio.get());
}

Result<ParsedGrantCsr> parse_grant_csr(std::string_view pem) {
    const auto bad = [](const std::string& why) { return make_error(Errc::invalid, why); };
    if (pem.size() > k_max_request_bytes) {
        return bad("the certificate request is larger than 16 KiB");
    }
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    ReqPtr req(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!req) {
        return bad("the certificate request does not parse (not a PEM CERTIFICATE REQUEST)");
    }
    EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
    if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        return bad("the certificate request's key is not Ed25519");
    }
    if (X509_REQ_verify(req.get(), key) != 1) {
        return bad("the certificate request's signature does not verify");
    }
    ParsedGrantCsr out;
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    const int cn_index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (cn_index < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, cn_index) >= 0) {
        return bad("the certificate request needs exactly one subject CN (the grant id)");
    }
    const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn_index));
    const std::string id(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                         static_cast<std::size_t>(ASN1_STRING_length(cn)));
    if (id.empty() || id.size() > 32 || !std::all_of(id.begin(), id.end(), [](unsigned char c) {
            return std::islower(c) || std::isdigit(c);
        })) {
        return bad("the certificate request's CN is not a grant id");
    }
    ExtsPtr exts(X509_REQ_get_extensions(req.get()));
    NamesPtr names(exts ? static_cast<GENERAL_NAMES*>(
                              X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr))
                        : nullptr);
    std::string uri;
    int uris = 0;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names.get(), i);
        if (gen->type == GEN_URI) {
            ++uris;
            const ASN1_IA5STRING* s = gen->d.uniformResourceIdentifier;
            uri.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
        }
    }
    if (uris != 1) {
        return bad("the certificate request needs exactly one SAN URI oncall://grant?...");
    }
    auto grant = parse_grant_uri(uri);
    if (!grant) {
        return std::move(grant).error();
    }
    out.grant = std::move(grant).value();
    out.grant.id = id;
    auto pub = raw_public(key);
    if (!pub) {
        return std::move(pub).error();
    }
    out.public_key = std::move(pub).value();
    return out;
}

Result<std::string> seal_token(std::string_view token, std::string_view ed25519_public_key) {
    if (sodium_init() < 0) {
        return make_error(Errc::internal, "libsodium cannot initialise");
    }
    if (ed25519_public_key.size() != crypto_sign_PUBLICKEYBYTES) {
        return make_error(Errc::invalid, "the requester's public key is not 32 bytes");
    }
    std::array<unsigned char, crypto_box_PUBLICKEYBYTES> x25519{};
    if (crypto_sign_ed25519_pk_to_curve25519(x25519.data(), reinterpret_cast<const unsigned char*>(
                                                                ed25519_public_key.data())) != 0) {
        return make_error(Errc::invalid, "the requester's public key is not a valid Ed25519 key");
    }
    std::string sealed(token.size() + crypto_box_SEALBYTES, '\0');
    if (crypto_box_seal(reinterpret_cast<unsigned char*>(sealed.data()),
                        reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                        x25519.data()) != 0) {
        return make_error(Errc::internal, "cannot seal the token (libsodium)");
    }
    return sealed;
}

Result<std::string> open_sealed_token(std::string_view sealed, std::string_view private_pem) {
    if (sodium_init() < 0) {
        return make_error(Errc::internal, "libsodium cannot initialise");
    }
    auto key = read_private_key(private_pem);
    if (!key) {
        return std::move(key).error();
    }
    std::array<unsigned char, crypto_sign_SEEDBYTES> seed{};
    std::size_t seed_len = seed.size();
    if (EVP_PKEY_get_raw_private_key(key->get(), seed.data(), &seed_len) != 1 ||
        seed_len != seed.size()) {
        return crypto_error("cannot read the Ed25519 private key");
    }
    std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> ed_pk{};
    std::array<unsigned char, crypto_sign_SECRETKEYBYTES> ed_sk{};
    std::array<unsigned char, crypto_box_PUBLICKEYBYTES> x_pk{};
    std::array<unsigned char, crypto_box_SECRETKEYBYTES> x_sk{};
    const bool converted = crypto_sign_seed_keypair(ed_pk.data(), ed_sk.data(), seed.data()) == 0 &&
                           crypto_sign_ed25519_pk_to_curve25519(x_pk.data(), ed_pk.data()) == 0 &&
                           crypto_sign_ed25519_sk_to_curve25519(x_sk.data(), ed_sk.data()) == 0;
    sodium_memzero(seed.data(), seed.size());
    sodium_memzero(ed_sk.data(), ed_sk.size());
    if (!converted) {
        sodium_memzero(x_sk.data(), x_sk.size());
        return make_error(Errc::internal, "cannot convert the request key to X25519");
    }
    if (sealed.size() <= crypto_box_SEALBYTES || sealed.size() > 64 * 1024) {
        sodium_memzero(x_sk.data(), x_sk.size());
        return make_error(Errc::access_denied,
                          "the sealed token does not open with your request key (it is not a "
                          "sealed box)");
    }
    std::string token(sealed.size() - crypto_box_SEALBYTES, '\0');
    const int opened = crypto_box_seal_open(reinterpret_cast<unsigned char*>(token.data()),
                                            reinterpret_cast<const unsigned char*>(sealed.data()),
                                            sealed.size(), x_pk.data(), x_sk.data());
    sodium_memzero(x_sk.data(), x_sk.size());
    if (opened != 0) {
        return make_error(Errc::access_denied,
                          "the sealed token does not open with your request key (it was sealed "
                          "to another key or changed on the way)");
    }
    return token;
}

std::string base64_encode(std::string_view bytes) {
    const int variant = sodium_base64_VARIANT_ORIGINAL;
    std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                      bytes.size(), variant);
    out.resize(std::strlen(out.c_str()));
    return out;
}

Result<std::string> base64_decode(std::string_view text) {
    if (sodium_init() < 0) {
        return make_error(Errc::internal, "libsodium cannot initialise");
    }
    std::string out(text.size() / 4 * 3 + 3, '\0');
    std::size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                          text.size(), "\n\r ", &len, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        return make_error(Errc::invalid, "not valid base64");
    }
    out.resize(len);
    return out;
}

} // namespace oncall::ops
