#pragma once
// Reading JSON objects from servers: missing fields give defaults, wrong types are remembered as
// the first Errc::bad_response error (naming the field path) instead of throwing.

#include "oncall/core/result.h"
#include "oncall/core/time.h"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace oncall::backends {

class JsonReader {
public:
    /// `what` names the document in errors ("Deployment shop/checkout"); `path` the prefix of field
    /// names.
    JsonReader(std::string what) : m_what(std::move(what)) {}

    /// The field if it is present and not null.
    const nlohmann::json* field(const nlohmann::json& obj, std::string_view key,
                                std::string_view path);
    std::string str(const nlohmann::json& obj, std::string_view key, std::string_view path);
    std::int64_t integer(const nlohmann::json& obj, std::string_view key, std::string_view path,
                         std::int64_t fallback = 0);
    std::optional<std::int64_t> opt_integer(const nlohmann::json& obj, std::string_view key,
                                            std::string_view path);
    bool boolean(const nlohmann::json& obj, std::string_view key, std::string_view path);
    /// The object at key, or an empty object (null/missing); wrong type is an error.
    const nlohmann::json& object(const nlohmann::json& obj, std::string_view key,
                                 std::string_view path);
    /// The array at key, or an empty array.
    const nlohmann::json& array(const nlohmann::json& obj, std::string_view key,
                                std::string_view path);
    std::map<std::string, std::string> string_map(const nlohmann::json& obj, std::string_view key,
                                                  std::string_view path);
    std::optional<TimePoint> time(const nlohmann::json& obj, std::string_view key,
                                  std::string_view path);
    /// Requires `value` to be an object (the top-level document, an array element).
    bool expect_object(const nlohmann::json& value, std::string_view path);

    /// Records a type error (only the first is kept).
    void fail(std::string_view path, std::string_view expected);
    bool failed() const { return m_error.has_value(); }
    const Error& error() const { return *m_error; }

private:
    std::string m_what;
    std::optional<Error> m_error;
};

} // namespace oncall::backends
