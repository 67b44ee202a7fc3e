// Prometheus HTTP API: decoding answers (pure, no I/O).

#include "oncall/backends/prometheus.h"

#include "oncall/http/client.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace oncall::prometheus {
namespace {

using nlohmann::json;

Error bad(std::string_view url, std::string_view what) {
    return make_error(Errc::bad_response,
                      fmt::format("prometheus at {} answered garbage: {}", url, what));
}

std::string excerpt(std::string_view body) {
    return http::body_excerpt(body, 80);
}

Result<double> parse_value(const std::string& text) {
    if (text.empty()) {
        return make_error(Errc::bad_response, "empty sample value");
    }
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) {
        return make_error(Errc::bad_response,
                          fmt::format("sample value '{}' is not a number", excerpt(text)));
    }
    return v; // ERANGE still yields +-HUGE_VAL or a denormal, which is what the server meant
}

Result<Sample> parse_sample(const json& pair, std::string_view url) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() || !pair[1].is_string()) {
        return bad(url, "a sample is not [<time>, \"<value>\"]");
    }
    const double seconds = pair[0].get<double>();
    if (!std::isfinite(seconds)) {
        return bad(url, "a sample time is not finite");
    }
    Sample s;
    s.time = TimePoint(std::chrono::milliseconds(std::llround(seconds * 1000.0)));
    s.text = pair[1].get<std::string>();
    auto v = parse_value(s.text);
    if (!v) {
        return bad(url, v.error().message);
    }
    s.value = *v;
    return s;
}

Result<std::map<std::string, std::string>> parse_labels(const json& item, std::string_view url) {
    std::map<std::string, std::string> labels;
    const auto it = item.find("metric");
    if (it == item.end() || it->is_null()) {
        return labels;
    }
    if (!it->is_object()) {
        return bad(url, "'metric' is not an object");
    }
    for (const auto& [k, v] : it->items()) {
        if (!v.is_string()) {
            return bad(url, fmt::format("label '{}' is not a string", excerpt(k)));
        }
        labels.emplace(k, v.get<std::string>());
    }
    return labels;
}

Errc errc_for_error_type(const std::string& type) {
    if (type == "bad_data") {
        return Errc::invalid;
    }
    if (type == "timeout" || type == "canceled") {
        return Errc::timeout;
    }
    return Errc::unavailable; // execution, unavailable, internal, not_found, ...
}

Result<QueryResult> decode_data(const json& data, std::string_view url) {
    if (!data.is_object()) {
        return bad(url, "'data' is not an object");
    }
    const auto type_it = data.find("resultType");
    if (type_it == data.end() || !type_it->is_string()) {
        return bad(url, "'data.resultType' is missing");
    }
    const auto type = type_it->get<std::string>();
    const auto res_it = data.find("result");
    if (res_it == data.end()) {
        return bad(url, "'data.result' is missing");
    }
    const json& result = *res_it;
    QueryResult out;
    if (type == "vector" || type == "matrix") {
        out.type = type == "vector" ? ResultType::vector : ResultType::matrix;
        if (result.is_null()) {
            return out;
        }
        if (!result.is_array()) {
            return bad(url, fmt::format("a {} result is not an array", type));
        }
        for (const auto& item : result) {
            if (!item.is_object()) {
                return bad(url, "a result item is not an object");
            }
            Series series;
            auto labels = parse_labels(item, url);
            if (!labels) {
                return std::move(labels).error();
            }
            series.labels = std::move(*labels);
            if (out.type == ResultType::vector) {
                const auto v = item.find("value");
                if (v != item.end()) {
                    auto s = parse_sample(*v, url);
                    if (!s) {
                        return std::move(s).error();
                    }
                    series.samples.push_back(std::move(*s));
                } else if (!item.contains("histogram")) {
                    return bad(url, "a vector item has no 'value'");
                }
            } else {
                const auto vs = item.find("values");
                if (vs != item.end() && !vs->is_null()) {
                    if (!vs->is_array()) {
                        return bad(url, "'values' is not an array");
                    }
                    series.samples.reserve(vs->size());
                    for (const auto& pair : *vs) {
                        auto s = parse_sample(pair, url);
                        if (!s) {
                            return std::move(s).error();
                        }
                        series.samples.push_back(std::move(*s));
                    }
                } else if (!item.contains("histograms")) {
                    return bad(url, "a matrix item has no 'values'");
                }
            }
            out.series.push_back(std::move(series));
        }
        return out;
    }
    if (type == "scalar" || type == "string") {
        out.type = type == "scalar" ? ResultType::scalar : ResultType::string;
        if (type == "string") {
            if (!result.is_array() || result.size() != 2 || !result[0].is_number() ||
                !result[1].is_string()) {
                return bad(url, "a string result is not [<time>, \"<text>\"]");
            }
            Sample s;
            s.time = TimePoint(
                std::chrono::milliseconds(std::llround(result[0].get<double>() * 1000.0)));
            s.text = result[1].get<std::string>();
            s.value = std::nan("");
            out.scalar = std::move(s);
            return out;
        }
        auto s = parse_sample(result, url);
        if (!s) {
            return std::move(s).error();
        }
        out.scalar = std::move(*s);
        return out;
    }
    return bad(url, fmt::format("unknown resultType '{}'", excerpt(type)));
}

} // namespace

Result<QueryResult> decode_query_response(long http_status, std::string_view body,
                                          std::string_view url) {
    const json doc = json::parse(body.begin(), body.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        if (http_status < 200 || http_status >= 300) {
            return make_error(Errc::http_status,
                              fmt::format("prometheus at {}: HTTP {} ({})", url, http_status,
                                          body.empty() ? std::string("empty body") : excerpt(body)),
                              static_cast<int>(http_status),
                              http_status >= 500 || http_status == 429);
        }
        if (body.empty()) {
            return bad(url, "empty body");
        }
        return bad(url, fmt::format("not JSON ({})", excerpt(body)));
    }
    const auto status_it = doc.find("status");
    if (status_it == doc.end() || !status_it->is_string()) {
        if (http_status < 200 || http_status >= 300) {
            return make_error(Errc::http_status,
                              fmt::format("prometheus at {}: HTTP {}", url, http_status),
                              static_cast<int>(http_status));
        }
        return bad(url, "no 'status' in the answer");
    }
    const auto status = status_it->get<std::string>();
    std::vector<std::string> warnings;
    if (const auto w = doc.find("warnings"); w != doc.end() && !w->is_null()) {
        if (!w->is_array()) {
            return bad(url, "'warnings' is not an array");
        }
        for (const auto& item : *w) {
            if (!item.is_string()) {
                return bad(url, "a warning is not a string");
            }
            warnings.push_back(item.get<std::string>());
        }
    }
    if (status == "error") {
        std::string type = "error";
        std::string message;
        if (const auto t = doc.find("errorType"); t != doc.end() && t->is_string()) {
            type = t->get<std::string>();
        }
        if (const auto e = doc.find("error"); e != doc.end() && e->is_string()) {
            message = e->get<std::string>();
        }
        const auto code = errc_for_error_type(type);
        return make_error(code,
                          fmt::format("prometheus at {} refused the query: {}: {}", url, type,
                                      message.empty() ? "(no message)" : message),
                          static_cast<int>(http_status),
                          code == Errc::timeout || code == Errc::unavailable);
    }
    if (status != "success") {
        if (http_status < 200 || http_status >= 300) {
            // Not Prometheus' answer: a proxy's or the API server's (a kube Status says "Failure").
            return make_error(
                http_status == 404 ? Errc::not_found : Errc::http_status,
                fmt::format("prometheus at {}: HTTP {} ({})", url, http_status, excerpt(body)),
                static_cast<int>(http_status), http_status >= 500 || http_status == 429);
        }
        return bad(url, fmt::format("unknown status '{}'", excerpt(status)));
    }
    if (http_status < 200 || http_status >= 300) {
        return make_error(Errc::http_status,
                          fmt::format("prometheus at {}: HTTP {}", url, http_status),
                          static_cast<int>(http_status));
    }
    const auto data = doc.find("data");
    if (data == doc.end()) {
        return bad(url, "'data' is missing");
    }
    auto out = decode_data(*data, url);
    if (out) {
        out->warnings = std::move(warnings);
    }
    return out;
}

Result<QueryResult> decode_query_result(const Result<http::Response>& response,
                                        std::string_view base_url) {
    if (!response) {
        Error e = response.error();
        e.message = fmt::format("prometheus at {}: {}", base_url, e.message);
        return e;
    }
    if (response->status == 401 || response->status == 403) {
        // Prometheus' own web.config and the proxies in front of hosted ones answer these in plain
        // text; either way the question is which credential was sent.
        return make_error(Errc::access_denied,
                          fmt::format("prometheus at {}: HTTP {} {}; {}", base_url,
                                      response->status,
                                      response->status == 401 ? "Unauthorized" : "Forbidden",
                                      http::denied_advice(*response)),
                          static_cast<int>(response->status));
    }
    return decode_query_response(response->status, response->body, base_url);
}

std::string format_prometheus_time(TimePoint t) {
    const auto ms = t.time_since_epoch().count();
    const auto secs = ms / 1000;
    const auto frac = ms % 1000;
    if (frac == 0) {
        return fmt::format("{}", secs);
    }
    return fmt::format("{}.{:03}", secs, frac < 0 ? -frac : frac);
}

} // namespace oncall::prometheus
