#include "image_content.h"

#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <stdexcept>

namespace sandbox {
namespace {

// A POSIX ustar archive holding one regular file, with fixed owner, mode and mtime.
std::string single_file_tar(const std::string& name, const std::string& content) {
    std::string header(512, '\0');
    const auto put = [&](std::size_t offset, std::string_view text) {
        std::memcpy(&header[offset], text.data(), text.size());
    };
    put(0, name.substr(0, 99));
    put(100, "0000644");
    put(108, "0000000");
    put(116, "0000000");
    put(124, fmt::format("{:011o}", content.size()));
    put(136, "00000000000");
    put(156, "0");
    put(257, std::string_view("ustar\0", 6));
    put(263, "00");
    std::memset(&header[148], ' ', 8); // checksum counts its own field as spaces
    unsigned sum = 0;
    for (unsigned char c : header) {
        sum += c;
    }
    put(148, fmt::format("{:06o}", sum));
    header[154] = '\0';
    header[155] = ' ';
    std::string tar = header + content;
    tar.append((512 - content.size() % 512) % 512, '\0');
    tar.append(1024, '\0');
    return tar;
}

} // namespace

std::string sha256_digest(std::string_view bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("sha256 failed in libcrypto");
    }
    std::string out = "sha256:";
    for (unsigned int i = 0; i < len; ++i) {
        out += fmt::format("{:02x}", md[i]);
    }
    return out;
}

ImageContent build_image(const std::string& repository, const std::string& tag) {
    ImageContent img;
    img.layer = single_file_tar("etc/oncall-sandbox/image",
                                fmt::format("repository={}\ntag={}\n", repository, tag));
    img.layer_digest = sha256_digest(img.layer);
    const nlohmann::json config = {
        {"architecture", "amd64"},
        {"os", "linux"},
        {"created", "2026-01-01T00:00:00Z"},
        {"config",
         {{"Entrypoint", {"/bin/" + repository.substr(repository.rfind('/') + 1)}},
          {"Labels",
           {{"org.opencontainers.image.title", repository},
            {"org.opencontainers.image.version", tag}}}}},
        {"rootfs", {{"type", "layers"}, {"diff_ids", {img.layer_digest}}}},
    };
    img.config = config.dump();
    img.config_digest = sha256_digest(img.config);
    const nlohmann::json manifest = {
        {"schemaVersion", 2},
        {"mediaType", k_oci_manifest_type},
        {"config",
         {{"mediaType", "application/vnd.oci.image.config.v1+json"},
          {"digest", img.config_digest},
          {"size", img.config.size()}}},
        {"layers",
         {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
           {"digest", img.layer_digest},
           {"size", img.layer.size()}}}},
    };
    img.manifest = manifest.dump();
    img.manifest_digest = sha256_digest(img.manifest);
    return img;
}

} // namespace sandbox
