#pragma once
// The bytes of the small OCI images the scenario pushes: one tar layer, an image config and an OCI
// image manifest, all derived from the repository and tag alone so digests never change.

#include <string>
#include <string_view>

namespace sandbox {

/// "sha256:<64 hex>" of the bytes (OpenSSL libcrypto).
std::string sha256_digest(std::string_view bytes);

/// One image's blobs and manifest.
struct ImageContent {
    std::string layer;    // an uncompressed tar with one file describing the image
    std::string config;   // application/vnd.oci.image.config.v1+json
    std::string manifest; // application/vnd.oci.image.manifest.v1+json
    std::string layer_digest;
    std::string config_digest;
    std::string manifest_digest;
};

/// Media type of the manifests pushed.
inline constexpr const char* k_oci_manifest_type = "application/vnd.oci.image.manifest.v1+json";

/// Builds the image for repository:tag deterministically.
ImageContent build_image(const std::string& repository, const std::string& tag);

} // namespace sandbox
