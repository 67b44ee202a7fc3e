// Image references (the grammar of the distribution project, restricted to sha256 digests) and
// WWW-Authenticate challenges.

#include "oncall/backends/registry.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <vector>

namespace oncall::registry {
namespace {

Error reference_error(std::string_view text, std::string_view why) {
    return make_error(
        Errc::invalid,
        fmt::format(
            "invalid image reference '{}': {} (expected host[:port]/path[:tag][@sha256:<64 hex>])",
            text, why));
}

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | [-]+
bool valid_path_component(std::string_view s) {
    if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) {
        return false;
    }
    std::size_t i = 0;
    while (i < s.size()) {
        if (is_lower_alnum(s[i])) {
            ++i;
            continue;
        }
        // A separator run.
        std::size_t j = i;
        while (j < s.size() && !is_lower_alnum(s[j])) {
            ++j;
        }
        const std::string_view sep = s.substr(i, j - i);
        const bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
        if (!(sep == "." || sep == "_" || sep == "__" || dashes)) {
            return false;
        }
        i = j;
    }
    return true;
}

// domain := component ('.' component)* [':' port]; component :=
// [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?
bool valid_domain(std::string_view s) {
    std::string_view host = s;
    const auto colon = s.find(':');
    if (colon != std::string_view::npos) {
        host = s.substr(0, colon);
        const std::string_view port = s.substr(colon + 1);
        if (port.empty() || port.size() > 5 ||
            port.find_first_not_of("0123456789") != std::string_view::npos) {
            return false;
        }
        if (std::stoi(std::string(port)) > 65535 || std::stoi(std::string(port)) == 0) {
            return false;
        }
    }
    if (host.empty() || host.size() > 253) {
        return false;
    }
    std::size_t start = 0;
    while (start <= host.size()) {
        auto dot = host.find('.', start);
        if (dot == std::string_view::npos) {
            dot = host.size();
        }
        const std::string_view part = host.substr(start, dot - start);
        if (part.empty() || part.size() > 63 ||
            !std::isalnum(static_cast<unsigned char>(part.front())) ||
            !std::isalnum(static_cast<unsigned char>(part.back()))) {
            return false;
        }
        for (char c : part) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
                return false;
            }
        }
        start = dot + 1;
        if (dot == host.size()) {
            break;
        }
    }
    return true;
}

bool valid_tag(std::string_view s) {
    if (s.empty() || s.size() > 128) {
        return false;
    }
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    if (!word(s.front())) {
        return false;
    }
    for (char c : s) {
        if (!word(c) && c != '.' && c != '-') {
            return false;
        }
    }
    return true;
}

bool looks_like_domain(std::string_view first) {
    return first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
           first == "localhost" ||
           std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// Splits name into registry and repository and validates both.
Result<std::pair<std::string, std::string>> split_name(std::string_view text,
                                                       std::string_view name) {
    std::string registry;
    std::string_view path = name;
    const auto slash = name.find('/');
    if (slash != std::string_view::npos && looks_like_domain(name.substr(0, slash))) {
        registry = std::string(name.substr(0, slash));
        path = name.substr(slash + 1);
        if (!valid_domain(registry)) {
            return reference_error(text,
                                   fmt::format("'{}' is not a valid registry host", registry));
        }
    } else {
        registry = "docker.io";
    }
    if (path.empty()) {
        return reference_error(text, "no repository");
    }
    std::size_t start = 0;
    int components = 0;
    while (true) {
        const auto next = path.find('/', start);
        const std::string_view part = path.substr(
            start, next == std::string_view::npos ? std::string_view::npos : next - start);
        if (!valid_path_component(part)) {
            return reference_error(
                text, fmt::format("'{}' is not a valid repository path component (lower-case "
                                  "letters, digits and single separators . _ __ -)",
                                  part));
        }
        ++components;
        if (next == std::string_view::npos) {
            break;
        }
        start = next + 1;
    }
    std::string repository(path);
    if (registry == "docker.io" && components == 1) {
        repository = "library/" + repository;
    }
    if (registry.size() + 1 + repository.size() > 255) {
        return reference_error(text, "name longer than 255 characters");
    }
    return std::make_pair(registry, repository);
}

} // namespace

bool is_sha256_digest(std::string_view digest) {
    if (digest.size() != 71 || digest.substr(0, 7) != "sha256:") {
        return false;
    }
    for (char c : digest.substr(7)) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

std::string ImageReference::name() const {
    return registry + "/" + repository;
}

std::string ImageReference::to_string() const {
    std::string s = name();
    if (!tag.empty()) {
        s += ":" + tag;
    }
    if (!digest.empty()) {
        s += "@" + digest;
    }
    return s;
}

std::string ImageReference::pinned() const {
    return name() + "@" + digest;
}

std::string repository_of(std::string_view image) {
    if (auto ref = parse_image_reference(image); ref) {
        return ref->name();
    }
    if (const auto at = image.find('@'); at != std::string_view::npos) {
        image = image.substr(0, at);
    }
    const auto slash = image.rfind('/');
    const auto colon = image.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        image = image.substr(0, colon);
    }
    return std::string(image);
}

Result<ImageReference> parse_image_reference(std::string_view text) {
    if (text.empty()) {
        return reference_error(text, "empty");
    }
    for (char c : text) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
            return reference_error(text, "contains whitespace or control characters");
        }
    }
    if (text.size() > 512) {
        return reference_error(text, "too long");
    }
    ImageReference ref;
    std::string_view rest = text;
    const auto at = rest.find('@');
    if (at != std::string_view::npos) {
        const std::string_view digest = rest.substr(at + 1);
        if (!is_sha256_digest(digest)) {
            return reference_error(
                text, "the digest must be sha256: followed by 64 lower-case hex digits");
        }
        ref.digest = std::string(digest);
        rest = rest.substr(0, at);
    }
    const auto last_slash = rest.rfind('/');
    const auto colon = rest.rfind(':');
    if (colon != std::string_view::npos &&
        (last_slash == std::string_view::npos || colon > last_slash)) {
        const std::string_view tag = rest.substr(colon + 1);
        if (!valid_tag(tag)) {
            return reference_error(text, fmt::format("'{}' is not a valid tag", tag));
        }
        ref.tag = std::string(tag);
        rest = rest.substr(0, colon);
    }
    auto split = split_name(text, rest);
    if (!split) {
        return std::move(split).error();
    }
    ref.registry = split->first;
    ref.repository = split->second;
    if (ref.tag.empty() && ref.digest.empty()) {
        ref.tag = "latest";
    }
    return ref;
}

Result<std::string> normalize_repository(std::string_view text) {
    if (text.find('@') != std::string_view::npos) {
        return reference_error(text, "a repository has no digest");
    }
    auto ref = parse_image_reference(text);
    if (!ref) {
        return std::move(ref).error();
    }
    const auto last_slash = text.rfind('/');
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos &&
        (last_slash == std::string_view::npos || colon > last_slash)) {
        return reference_error(text, "a repository has no tag");
    }
    return ref->name();
}

const char* manifest_accept() noexcept {
    return "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
           "application/vnd.docker.distribution.manifest.list.v2+json, "
           "application/vnd.docker.distribution.manifest.v2+json";
}

Result<Challenge> parse_challenge(std::string_view header) {
    auto bad = [&] {
        return make_error(Errc::bad_response,
                          fmt::format("the registry's WWW-Authenticate header is malformed: '{}'",
                                      header.substr(0, 200)));
    };
    std::size_t i = 0;
    auto skip_space = [&] {
        while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) {
            ++i;
        }
    };
    skip_space();
    const std::size_t scheme_start = i;
    while (i < header.size() && header[i] != ' ' && header[i] != '\t') {
        ++i;
    }
    Challenge c;
    c.scheme = std::string(header.substr(scheme_start, i - scheme_start));
    if (c.scheme.empty()) {
        return bad();
    }
    while (true) {
        skip_space();
        if (i >= header.size()) {
            break;
        }
        const std::size_t key_start = i;
        while (i < header.size() && header[i] != '=' && header[i] != ',' && header[i] != ' ') {
            ++i;
        }
        std::string key(header.substr(key_start, i - key_start));
        if (key.empty() || i >= header.size() || header[i] != '=') {
            return bad();
        }
        ++i;
        std::string value;
        if (i < header.size() && header[i] == '"') {
            ++i;
            bool closed = false;
            while (i < header.size()) {
                if (header[i] == '\\' && i + 1 < header.size()) {
                    value.push_back(header[i + 1]);
                    i += 2;
                    continue;
                }
                if (header[i] == '"') {
                    closed = true;
                    ++i;
                    break;
                }
                value.push_back(header[i++]);
            }
            if (!closed) {
                return bad();
            }
        } else {
            while (i < header.size() && header[i] != ',' && header[i] != ' ') {
                value.push_back(header[i++]);
            }
        }
        for (auto& ch : key) {
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        c.params[key] = value;
        skip_space();
        if (i < header.size()) {
            if (header[i] != ',') {
                return bad();
            }
            ++i;
        }
    }
    return c;
}

} // namespace oncall::registry
