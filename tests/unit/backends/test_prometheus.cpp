// Decoding of Prometheus API answers recorded from a real Prometheus (tests/fixtures/prometheus/).

#include "../read_fixture.h"
#include "oncall/backends/prometheus.h"

#include <catch2/catch.hpp>
#include <cmath>

using namespace oncall;
using namespace oncall::prometheus;
using oncall::test::read_fixture;

namespace {
constexpr const char* k_url = "http://127.0.0.1:9090";
constexpr long long k_end_ms = 1795003200LL * 1000;

Result<QueryResult> decode_fixture(const std::string& name, long status = 200) {
    return decode_query_response(status, read_fixture("prometheus/" + name), k_url);
}
} // namespace

TEST_CASE("prometheus: a range answer decodes to a matrix with every sample", "[prometheus]") {
    auto r = decode_fixture("checkout_error_ratio_range.json");
    REQUIRE(r.ok());
    CHECK(r->type == ResultType::matrix);
    REQUIRE(r->series.size() == 1);
    const auto& samples = r->series[0].samples;
    REQUIRE(samples.size() == 121); // 2h at 60s steps, both ends included
    CHECK(samples.front().time.time_since_epoch().count() == k_end_ms - 2 * 3600 * 1000);
    CHECK(samples.back().time.time_since_epoch().count() == k_end_ms);
    CHECK(samples.front().value == Approx(0.003));
    CHECK(samples.back().value == Approx(0.12));
    CHECK(samples.back().text == "0.12");
    CHECK(r->warnings.empty());
}

TEST_CASE("prometheus: an instant answer decodes to a vector with labels", "[prometheus]") {
    auto r = decode_fixture("vector_two_series.json");
    REQUIRE(r.ok());
    CHECK(r->type == ResultType::vector);
    REQUIRE(r->series.size() == 2);
    for (const auto& s : r->series) {
        CHECK(s.labels.at("service") == "payments");
        CHECK(s.labels.at("__name__") == "http_requests_total");
        REQUIRE(s.samples.size() == 1);
        CHECK(s.samples[0].value > 0);
    }
    CHECK(r->series[0].labels.at("code") != r->series[1].labels.at("code"));
}

TEST_CASE("prometheus: NaN, +Inf and -Inf keep their text and their meaning", "[prometheus]") {
    auto r = decode_fixture("special_values.json");
    REQUIRE(r.ok());
    REQUIRE(r->series.size() == 3);
    std::map<std::string, Sample> by_kind;
    for (const auto& s : r->series) {
        by_kind[s.labels.at("k")] = s.samples.at(0);
    }
    CHECK(by_kind["nan"].text == "NaN");
    CHECK(std::isnan(by_kind["nan"].value));
    CHECK(by_kind["pinf"].text == "+Inf");
    CHECK((std::isinf(by_kind["pinf"].value) && by_kind["pinf"].value > 0));
    CHECK(by_kind["ninf"].text == "-Inf");
    CHECK((std::isinf(by_kind["ninf"].value) && by_kind["ninf"].value < 0));
}

TEST_CASE("prometheus: scalar, string and empty results", "[prometheus]") {
    auto scalar = decode_fixture("scalar.json");
    REQUIRE(scalar.ok());
    CHECK(scalar->type == ResultType::scalar);
    REQUIRE(scalar->scalar);
    CHECK(scalar->scalar->value == 1.5);

    auto str = decode_fixture("string.json");
    REQUIRE(str.ok());
    CHECK(str->type == ResultType::string);
    REQUIRE(str->scalar);
    CHECK(str->scalar->text == "hello");

    auto empty = decode_fixture("empty_vector.json");
    REQUIRE(empty.ok());
    CHECK(empty->type == ResultType::vector);
    CHECK(empty->series.empty());
}

TEST_CASE("prometheus: an error envelope keeps errorType and error", "[prometheus]") {
    auto r = decode_fixture("error_bad_data_400.json", 400);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid);
    CHECK(r.error().http_status == 400);
    CHECK_THAT(r.error().message, Catch::Contains("bad_data") && Catch::Contains("parse error") &&
                                      Catch::Contains(k_url));

    auto timeout = decode_query_response(
        503,
        R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})",
        k_url);
    REQUIRE_FALSE(timeout.ok());
    CHECK(timeout.error().code == Errc::timeout);
}

TEST_CASE("prometheus: warnings are kept, optional fields may be missing", "[prometheus]") {
    // The recorded scalar answer with the warnings field a server adds on partial data.
    std::string body = read_fixture("prometheus/scalar.json");
    body.insert(body.size() - 1, R"(,"warnings":["remote read failed: store 1 unreachable"])");
    auto r = decode_query_response(200, body, k_url);
    REQUIRE(r.ok());
    REQUIRE(r->warnings.size() == 1);
    CHECK(r->warnings[0] == "remote read failed: store 1 unreachable");

    auto no_metric = decode_query_response(
        200,
        R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1795003200,"2"]}]}})",
        k_url);
    REQUIRE(no_metric.ok());
    CHECK(no_metric->series.at(0).labels.empty());
    CHECK(no_metric->series.at(0).samples.at(0).value == 2.0);
}

TEST_CASE("prometheus: wrong types and garbage are bad_response errors naming the URL",
          "[prometheus]") {
    const std::string good = read_fixture("prometheus/checkout_error_ratio_instant.json");
    const std::vector<std::pair<long, std::string>> cases = {
        {200, good.substr(0, good.size() / 2)},            // truncated
        {200, ""},                                         // empty
        {200, "<html><body>Login required</body></html>"}, // HTML page
        {200,
         R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1795003200,0.5]}]}})"},
        {200,
         R"({"status":"success","data":{"resultType":"vector","result":[{"metric":[],"value":[1,"1"]}]}})"},
        {200,
         R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}})"},
        {200, R"({"status":"success","data":{"resultType":"matrix","result":[{"values":"x"}]}})"},
        {200, R"({"status":"success","data":{"resultType":"matrix","result":{}}})"},
        {200, R"({"status":"success","data":{"resultType":"histogramish","result":[]}})"},
        {200,
         R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"12abc"]}]}})"},
        {200,
         R"({"status":"success","data":{"resultType":"vector","result":[{"value":["1","1"]}]}})"},
        {200,
         R"({"status":"success","warnings":"one","data":{"resultType":"vector","result":[]}})"},
        {200, R"({"status":"success"})"},
        {200, R"({"status":7})"},
        {200, R"([1,2,3])"},
    };
    for (const auto& [status, body] : cases) {
        INFO(body);
        auto r = decode_query_response(status, body, k_url);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::bad_response);
        CHECK_THAT(r.error().message, Catch::Contains(k_url));
    }
}

TEST_CASE("prometheus: a non-JSON error status is an http_status error with an excerpt",
          "[prometheus]") {
    auto r = decode_query_response(502, "<html><h1>502 Bad Gateway</h1>\n</html>", k_url);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::http_status);
    CHECK(r.error().http_status == 502);
    CHECK(r.error().retryable);
    CHECK_THAT(r.error().message, Catch::Contains("HTTP 502") && Catch::Contains("Bad Gateway"));
}

TEST_CASE("prometheus: times are sent as Unix seconds", "[prometheus]") {
    CHECK(format_prometheus_time(TimePoint(std::chrono::milliseconds(k_end_ms))) == "1795003200");
    CHECK(format_prometheus_time(TimePoint(std::chrono::milliseconds(k_end_ms + 25))) ==
          "1795003200.025");
}
