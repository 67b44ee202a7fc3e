#include "backends/json_reader.h"

#include <fmt/format.h>

namespace oncall::backends {
namespace {
const nlohmann::json k_empty_object = nlohmann::json::object();
const nlohmann::json k_empty_array = nlohmann::json::array();

std::string join(std::string_view path, std::string_view key) {
    if (path.empty()) {
        return std::string(key);
    }
    return fmt::format("{}.{}", path, key);
}
} // namespace

void JsonReader::fail(std::string_view path, std::string_view expected) {
    if (!m_error) {
        m_error = make_error(
            Errc::bad_response,
            fmt::format("{}: field '{}' is not {} (the server answered something unexpected)",
                        m_what, path, expected));
    }
}

const nlohmann::json* JsonReader::field(const nlohmann::json& obj, std::string_view key,
                                        std::string_view) {
    if (!obj.is_object()) {
        return nullptr;
    }
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        return nullptr;
    }
    return &*it;
}

std::string JsonReader::str(const nlohmann::json& obj, std::string_view key,
                            std::string_view path) {
    const auto* v = field(obj, key, path);
    if (v == nullptr) {
        return {};
    }
    if (!v->is_string()) {
        fail(join(path, key), "a string");
        return {};
    }
    return v->get<std::string>();
}

std::optional<std::int64_t> JsonReader::opt_integer(const nlohmann::json& obj, std::string_view key,
                                                    std::string_view path) {
    const auto* v = field(obj, key, path);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_number_integer()) {
        return v->get<std::int64_t>();
    }
    if (v->is_number_float()) {
        const double d = v->get<double>();
        if (d == static_cast<double>(static_cast<std::int64_t>(d))) {
            return static_cast<std::int64_t>(d);
        }
    }
    fail(join(path, key), "an integer");
    return std::nullopt;
}

std::int64_t JsonReader::integer(const nlohmann::json& obj, std::string_view key,
                                 std::string_view path, std::int64_t fallback) {
    return opt_integer(obj, key, path).value_or(fallback);
}

bool JsonReader::boolean(const nlohmann::json& obj, std::string_view key, std::string_view path) {
    const auto* v = field(obj, key, path);
    if (v == nullptr) {
        return false;
    }
    if (!v->is_boolean()) {
        fail(join(path, key), "a boolean");
        return false;
    }
    return v->get<bool>();
}

const nlohmann::json& JsonReader::object(const nlohmann::json& obj, std::string_view key,
                                         std::string_view path) {
    const auto* v = field(obj, key, path);
    if (v == nullptr) {
        return k_empty_object;
    }
    if (!v->is_object()) {
        fail(join(path, key), "an object");
        return k_empty_object;
    }
    return *v;
}

const nlohmann::json& JsonReader::array(const nlohmann::json& obj, std::string_view key,
                                        std::string_view path) {
    const auto* v = field(obj, key, path);
    if (v == nullptr) {
        return k_empty_array;
    }
    if (!v->is_array()) {
        fail(join(path, key), "an array");
        return k_empty_array;
    }
    return *v;
}

std::map<std::string, std::string>
JsonReader::string_map(const nlohmann::json& obj, std::string_view key, std::string_view path) {
    std::map<std::string, std::string> out;
    const auto& m = object(obj, key, path);
    for (auto it = m.begin(); it != m.end(); ++it) {
        if (!it.value().is_string()) {
            fail(fmt::format("{}.{}", join(path, key), it.key()), "a string");
            continue;
        }
        out.emplace(it.key(), it.value().get<std::string>());
    }
    return out;
}

std::optional<TimePoint> JsonReader::time(const nlohmann::json& obj, std::string_view key,
                                          std::string_view path) {
    const auto* v = field(obj, key, path);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_string()) {
        fail(join(path, key), "an RFC 3339 time");
        return std::nullopt;
    }
    auto t = parse_rfc3339(v->get<std::string>());
    if (!t) {
        fail(join(path, key), "an RFC 3339 time");
        return std::nullopt;
    }
    return *t;
}

bool JsonReader::expect_object(const nlohmann::json& value, std::string_view path) {
    if (!value.is_object()) {
        fail(path.empty() ? "(document)" : path, "an object");
        return false;
    }
    return true;
}

} // namespace oncall::backends
