#include "objects.h"

#include "oncall/core/time.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <fmt/format.h>
#include <mutex>
#include <random>

namespace sandbox {

using nlohmann::json;

SandboxClock::SandboxClock(SysTime epoch)
    : m_epoch(epoch), m_started(std::chrono::steady_clock::now()) {}

SysTime SandboxClock::now() const {
    return m_epoch + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                         std::chrono::steady_clock::now() - m_started);
}

std::string k8s_time(SysTime t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

SysTime parse_k8s_time(const std::string& text) {
    auto parsed = oncall::parse_rfc3339(text);
    if (!parsed)
        return SysTime{};
    return std::chrono::time_point_cast<std::chrono::system_clock::duration>(parsed.value());
}

namespace {

std::mt19937_64& rng() {
    static std::mt19937_64 engine{std::random_device{}()};
    return engine;
}

std::mutex& rng_mutex() {
    static std::mutex m;
    return m;
}

std::uint64_t random_u64() {
    std::lock_guard lock(rng_mutex());
    return rng()();
}

} // namespace

std::string new_uid() {
    const std::uint64_t a = random_u64();
    const std::uint64_t b = random_u64();
    const std::string h = fmt::format("{:016x}{:016x}", a, b);
    std::string v = h.substr(0, 8) + "-" + h.substr(8, 4) + "-4" + h.substr(13, 3) + "-";
    const char variant = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
    v += std::string(1, variant) + h.substr(17, 3) + "-" + h.substr(20, 12);
    return v;
}

std::string random_suffix(std::size_t n) {
    static constexpr std::string_view alphabet = "bcdfghjklmnpqrstvwxz2456789";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += alphabet[random_u64() % alphabet.size()];
    }
    return out;
}

std::string random_hex(std::size_t n) {
    std::string out;
    while (out.size() < n) {
        out += fmt::format("{:016x}", random_u64());
    }
    return out.substr(0, n);
}

static std::string encode64(const std::string& data, const char* alphabet, bool pad) {
    std::string out;
    std::size_t i = 0;
    while (i + 2 < data.size()) {
        const std::uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                                (static_cast<unsigned char>(data[i + 1]) << 8) |
                                static_cast<unsigned char>(data[i + 2]);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
        i += 3;
    }
    if (i + 1 == data.size()) {
        const std::uint32_t v = static_cast<unsigned char>(data[i]) << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        if (pad)
            out += "==";
    } else if (i + 2 == data.size()) {
        const std::uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                                (static_cast<unsigned char>(data[i + 1]) << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        if (pad)
            out += "=";
    }
    return out;
}

std::string base64url(const std::string& data) {
    return encode64(data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                    false);
}

std::string base64(const std::string& data) {
    return encode64(data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", true);
}

bool base64_decode(const std::string& in, std::string& out) {
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (in.size() % 4 != 0)
        return false;
    out.clear();
    std::uint32_t acc = 0;
    int bits = 0;
    std::size_t padding = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '=') {
            if (i + 2 < in.size())
                return false;
            ++padding;
            continue;
        }
        if (padding > 0)
            return false;
        const auto pos = alphabet.find(c);
        if (pos == std::string::npos)
            return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return true;
}

std::string random_base64url(std::size_t bytes) {
    std::string raw;
    for (std::size_t i = 0; i < bytes; ++i) {
        raw += static_cast<char>(random_u64() & 0xff);
    }
    return base64url(raw);
}

void default_pod_template(json& tmpl) {
    if (!tmpl.is_object())
        return;
    if (!tmpl.contains("metadata") || !tmpl["metadata"].is_object())
        tmpl["metadata"] = json::object();
    tmpl["metadata"]["creationTimestamp"] = nullptr;
    if (!tmpl.contains("spec") || !tmpl["spec"].is_object())
        return;
    auto& spec = tmpl["spec"];
    if (!spec.contains("restartPolicy"))
        spec["restartPolicy"] = "Always";
    if (!spec.contains("terminationGracePeriodSeconds"))
        spec["terminationGracePeriodSeconds"] = 30;
    if (!spec.contains("dnsPolicy"))
        spec["dnsPolicy"] = "ClusterFirst";
    if (!spec.contains("securityContext"))
        spec["securityContext"] = json::object();
    if (!spec.contains("schedulerName"))
        spec["schedulerName"] = "default-scheduler";
    if (spec.contains("containers") && spec["containers"].is_array()) {
        for (auto& c : spec["containers"]) {
            if (!c.is_object())
                continue;
            if (!c.contains("resources"))
                c["resources"] = json::object();
            if (!c.contains("terminationMessagePath"))
                c["terminationMessagePath"] = "/dev/termination-log";
            if (!c.contains("terminationMessagePolicy"))
                c["terminationMessagePolicy"] = "File";
            if (!c.contains("imagePullPolicy")) {
                const std::string image = c.value("image", "");
                const auto slash = image.rfind('/');
                const auto colon = image.find(':', slash == std::string::npos ? 0 : slash);
                const bool latest =
                    image.find('@') == std::string::npos &&
                    (colon == std::string::npos || image.substr(colon + 1) == "latest");
                c["imagePullPolicy"] = latest ? "Always" : "IfNotPresent";
            }
        }
    }
}

void default_deployment_spec(json& spec) {
    if (!spec.is_object())
        return;
    if (!spec.contains("replicas"))
        spec["replicas"] = 1;
    if (!spec.contains("revisionHistoryLimit"))
        spec["revisionHistoryLimit"] = 10;
    if (!spec.contains("progressDeadlineSeconds"))
        spec["progressDeadlineSeconds"] = 600;
    if (!spec.contains("strategy") || !spec["strategy"].is_object())
        spec["strategy"] = json::object();
    auto& strategy = spec["strategy"];
    if (!strategy.contains("type"))
        strategy["type"] = "RollingUpdate";
    if (strategy["type"] == "RollingUpdate") {
        if (!strategy.contains("rollingUpdate") || !strategy["rollingUpdate"].is_object()) {
            strategy["rollingUpdate"] = json::object();
        }
        auto& ru = strategy["rollingUpdate"];
        if (!ru.contains("maxSurge"))
            ru["maxSurge"] = "25%";
        if (!ru.contains("maxUnavailable"))
            ru["maxUnavailable"] = "25%";
    }
    if (spec.contains("template"))
        default_pod_template(spec["template"]);
}

static void drop_empty_maps(json& v) {
    if (v.is_object()) {
        for (auto it = v.begin(); it != v.end();) {
            drop_empty_maps(it.value());
            if ((it->is_object() && it->empty() && it.key() != "securityContext" &&
                 it.key() != "resources") ||
                it->is_null()) {
                it = v.erase(it);
            } else {
                ++it;
            }
        }
    } else if (v.is_array()) {
        for (auto& e : v)
            drop_empty_maps(e);
    }
}

json normalized_template(const json& tmpl) {
    json t = tmpl;
    default_pod_template(t);
    if (t.contains("metadata") && t["metadata"].contains("labels") &&
        t["metadata"]["labels"].is_object()) {
        t["metadata"]["labels"].erase("pod-template-hash");
    }
    drop_empty_maps(t);
    return t;
}

bool templates_equal(const json& a, const json& b) {
    return normalized_template(a) == normalized_template(b);
}

std::string pod_template_hash(const json& tmpl) {
    const std::string text = normalized_template(tmpl).dump();
    std::uint32_t h = 2166136261u;
    for (unsigned char c : text) {
        h ^= c;
        h *= 16777619u;
    }
    static constexpr std::string_view alphabet = "bcdfghjklmnpqrstvwxz2456789";
    std::string out;
    std::uint64_t v = h;
    do {
        out += alphabet[v % alphabet.size()];
        v /= alphabet.size();
    } while (v > 0 && out.size() < 10);
    return out;
}

int resolve_int_or_percent(const json& value, int total, bool round_up, int fallback) {
    if (value.is_number_integer())
        return value.get<int>();
    if (value.is_string()) {
        const std::string s = value.get<std::string>();
        if (!s.empty() && s.back() == '%') {
            try {
                const double pct = std::stod(s.substr(0, s.size() - 1));
                const double v = pct * total / 100.0;
                return round_up ? static_cast<int>(std::ceil(v)) : static_cast<int>(std::floor(v));
            } catch (...) {
                return fallback;
            }
        }
        try {
            return std::stoi(s);
        } catch (...) {
            return fallback;
        }
    }
    return fallback;
}

std::string human_duration(std::chrono::seconds d) {
    const long long s = d.count();
    if (s < 0)
        return "<invalid>";
    if (s < 120)
        return fmt::format("{}s", s);
    const long long m = s / 60;
    if (m < 10)
        return s % 60 == 0 ? fmt::format("{}m", m) : fmt::format("{}m{}s", m, s % 60);
    if (m < 180)
        return fmt::format("{}m", m);
    const long long h = m / 60;
    if (h < 8)
        return m % 60 == 0 ? fmt::format("{}h", h) : fmt::format("{}h{}m", h, m % 60);
    if (h < 48)
        return fmt::format("{}h", h);
    if (h < 24 * 8)
        return h % 24 == 0 ? fmt::format("{}d", h / 24) : fmt::format("{}d{}h", h / 24, h % 24);
    if (h < 24 * 365 * 2)
        return fmt::format("{}d", h / 24);
    return fmt::format("{}y", h / 24 / 365);
}

std::string str_at(const json& object, const char* a, const char* b, const char* c) {
    const json* cur = &object;
    for (const char* key : {a, b, c}) {
        if (key == nullptr)
            break;
        if (!cur->is_object())
            return "";
        auto it = cur->find(key);
        if (it == cur->end())
            return "";
        cur = &*it;
    }
    return cur->is_string() ? cur->get<std::string>() : "";
}

} // namespace sandbox
