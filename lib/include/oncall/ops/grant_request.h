#pragma once
// The cryptography of two-person grants: the requester's Ed25519 key (OpenSSL), the PKCS#10
// request that fixes what was asked (subject CN = grant id, the rest in a SAN URI
// oncall://grant?service=...&namespace=...&role=...&for=...&reason=...&ticket=...), and the sealed
// box (libsodium crypto_box_seal to the key converted to X25519) that carries the token from the
// approver to the requester. Pure functions: nothing here talks to a server or the disk.

#include "oncall/core/result.h"

#include <chrono>
#include <string>
#include <string_view>

namespace oncall::ops {

/// What a two-person request asks for; all of it is signed into the PKCS#10 request.
struct RequestedGrant {
    std::string id; // grant id: subject CN, and the CSR is oncall-grant-<id>
    std::string service;
    std::string namespace_name;
    std::string role;
    std::chrono::seconds duration{0}; // "for"
    std::string reason;
    std::string ticket; // may be empty
};

/// A requester's key pair. `private_pem` is the PKCS#8 PEM of the Ed25519 key (secret);
/// `public_key` the 32 raw bytes of its public half.
struct GrantKey {
    std::string private_pem;
    std::string public_key;
};

/// A fresh Ed25519 key pair.
Result<GrantKey> generate_grant_key();

/// The public half of a private key PEM; Errc::invalid when it is not an Ed25519 key.
Result<std::string> grant_public_key(std::string_view private_pem);

/// The SAN URI of a request, every value percent-encoded (RFC 3986 unreserved kept).
std::string grant_uri(const RequestedGrant& grant);

/// Parses and validates a SAN URI (`id` is not part of it and stays empty). Unknown, repeated or
/// missing keys, bad percent-encoding and values that fail validation are Errc::invalid.
Result<RequestedGrant> parse_grant_uri(std::string_view uri);

/// The PKCS#10 request (PEM "CERTIFICATE REQUEST") for `grant`, signed with `key`.
Result<std::string> make_grant_csr(const GrantKey& key, const RequestedGrant& grant);

/// A parsed and verified request: what was asked and the requester's raw public key.
struct ParsedGrantCsr {
    RequestedGrant grant;
    std::string public_key; // 32 raw Ed25519 bytes
};

/// Parses a PEM request: must parse, be self-signed by an Ed25519 key (signature checked), carry
/// CN = a grant id and exactly one valid oncall:// SAN URI. Anything else is Errc::invalid saying
/// what is wrong.
Result<ParsedGrantCsr> parse_grant_csr(std::string_view pem);

/// Seals `token` to the Ed25519 public key (32 raw bytes) with crypto_box_seal.
Result<std::string> seal_token(std::string_view token, std::string_view ed25519_public_key);

/// Opens a sealed box with the private key PEM; Errc::access_denied when it does not open (sealed
/// to another key, or tampered with).
Result<std::string> open_sealed_token(std::string_view sealed, std::string_view private_pem);

/// Encodes/decodes standard base64 (Secret data, CSR spec.request).
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

} // namespace oncall::ops
