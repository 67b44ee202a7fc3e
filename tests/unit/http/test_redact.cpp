// Redaction of URLs and headers, URL encoding, Retry-After parsing, status errors.

#include "oncall/http/client.h"

#include <catch2/catch.hpp>

using namespace oncall;
using namespace oncall::http;

TEST_CASE("redact_url hides userinfo", "[http][redact]") {
    CHECK(redact_url("https://alice:s3cret@prom.example:9090/api") ==
          "https://<redacted>@prom.example:9090/api");
    CHECK(redact_url("https://ghp_abcdef@github.com/x") == "https://<redacted>@github.com/x");
    CHECK(redact_url("http://127.0.0.1:9090/api/v1/query") == "http://127.0.0.1:9090/api/v1/query");
    CHECK(redact_url("http://host") == "http://host");
    // An '@' in the path or query is not userinfo.
    CHECK(redact_url("http://host/a@b?x=1@2") == "http://host/a@b?x=1@2");
}

TEST_CASE("redact_url hides token-like query parameters and keeps the rest", "[http][redact]") {
    CHECK(redact_url("http://h/api?query=up&token=abc123") ==
          "http://h/api?query=up&token=<redacted>");
    CHECK(redact_url("http://h/?access_token=x&password=y&secret=z&sig=q") ==
          "http://h/?access_token=<redacted>&password=<redacted>&secret=<redacted>&sig=<redacted>");
    CHECK(redact_url("https://b.s3.amazonaws.com/"
                     "k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=deadbeef&X-Amz-Expires=60") ==
          "https://b.s3.amazonaws.com/"
          "k?X-Amz-Credential=<redacted>&X-Amz-Signature=<redacted>&X-Amz-Expires=60");
    CHECK(redact_url("https://h/p?X-Amz-Security-Token=abc") ==
          "https://h/p?X-Amz-Security-Token=<redacted>");
    CHECK(redact_url("http://h/p?api_key=1&key=2&apikey=3") ==
          "http://h/p?api_key=<redacted>&key=<redacted>&apikey=<redacted>");
    // Percent-encoded names are recognised too.
    CHECK(redact_url("http://h/p?access%5Ftoken=1") == "http://h/p?access%5Ftoken=<redacted>");
    // Fragments carry tokens in OAuth implicit flows.
    CHECK(redact_url("http://h/cb#access_token=abc&state=1") ==
          "http://h/cb#access_token=<redacted>&state=1");
    // Parameters without a value and empty queries survive.
    CHECK(redact_url("http://h/p?watch&token=") == "http://h/p?watch&token=<redacted>");
    CHECK(redact_url("http://h/p?") == "http://h/p?");
    // A PromQL query is not a secret.
    CHECK(redact_url("http://h/api/v1/query?query=sum(rate(x%5B5m%5D))") ==
          "http://h/api/v1/query?query=sum(rate(x%5B5m%5D))");
}

TEST_CASE("redact_header hides credentials and keeps the auth scheme", "[http][redact]") {
    CHECK(redact_header("Authorization", "Bearer eyJhbGciOi.abc.def") ==
          "Authorization: Bearer <redacted>");
    CHECK(redact_header("authorization", "Basic dXNlcjpwYXNz") ==
          "authorization: Basic <redacted>");
    CHECK(redact_header("Authorization", "sometoken") == "Authorization: <redacted>");
    CHECK(redact_header("Proxy-Authorization", "Basic abc") ==
          "Proxy-Authorization: Basic <redacted>");
    CHECK(redact_header("Cookie", "session=abc") == "Cookie: <redacted>");
    CHECK(redact_header("X-Auth-Token", "abc") == "X-Auth-Token: <redacted>");
    CHECK(redact_header("X-Api-Key", "abc") == "X-Api-Key: <redacted>");
    CHECK(redact_header("Accept", "application/json") == "Accept: application/json");
    CHECK(
        redact_header("WWW-Authenticate", "Bearer realm=\"https://auth\",scope=\"repo:x:pull\"") ==
        "WWW-Authenticate: Bearer realm=\"https://auth\",scope=\"repo:x:pull\"");
}

TEST_CASE("url_encode escapes everything but unreserved characters", "[http][redact]") {
    CHECK(url_encode("abcXYZ019-._~") == "abcXYZ019-._~");
    CHECK(url_encode("a b&c=d/e?f#g") == "a%20b%26c%3Dd%2Fe%3Ff%23g");
    CHECK(url_encode("service=\"checkout\"") == "service%3D%22checkout%22");
    CHECK(url_encode("\xc3\xa9") == "%C3%A9");
    CHECK(url_encode("") == "");
}

TEST_CASE("parse_retry_after reads delta-seconds and HTTP dates", "[http][retry]") {
    using std::chrono::milliseconds;
    const auto now =
        std::chrono::system_clock::from_time_t(784111777); // Sun, 06 Nov 1994 08:49:37 GMT
    CHECK(parse_retry_after("0", now) == milliseconds(0));
    CHECK(parse_retry_after("2", now) == milliseconds(2000));
    CHECK(parse_retry_after(" 120 ", now) == milliseconds(120000));
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now) == milliseconds(10000));
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now) ==
          milliseconds(0)); // in the past
    CHECK(parse_retry_after("99999999999999999999999", now) ==
          milliseconds(std::chrono::hours(24)));
    CHECK_FALSE(parse_retry_after("", now).has_value());
    CHECK_FALSE(parse_retry_after("soon", now).has_value());
    CHECK_FALSE(parse_retry_after("-5", now).has_value());
    CHECK_FALSE(parse_retry_after("1.5", now).has_value());
}

TEST_CASE("status_error classifies statuses and names the next step", "[http]") {
    Response r;
    r.url = "http://127.0.0.1:9090/api/v1/query";
    r.status = 503;
    r.body = "overloaded\n";
    Error e = status_error(r, "prometheus");
    CHECK(e.code == Errc::http_status);
    CHECK(e.http_status == 503);
    CHECK(e.retryable);
    CHECK(e.message.find("prometheus at http://127.0.0.1:9090/api/v1/query: HTTP 503 Service "
                         "Unavailable: overloaded") == 0);

    r.status = 401;
    r.body.clear();
    e = status_error(r, "kubernetes");
    CHECK(e.code == Errc::access_denied);
    CHECK_FALSE(e.retryable);
    CHECK(e.message.find("token-env") != std::string::npos);

    r.status = 404;
    CHECK(status_error(r, "x").code == Errc::not_found);
    r.status = 409;
    CHECK(status_error(r, "x").code == Errc::conflict);
    r.status = 400;
    CHECK(status_error(r, "x").code == Errc::http_status);

    r.status = 502;
    r.headers = {{"Content-Type", "text/html"}};
    r.body = "<html><body>bad gateway</body></html>";
    e = status_error(r, "alertmanager");
    CHECK(e.message.find("HTML page") != std::string::npos);
    CHECK(e.message.find("<html>") == std::string::npos);
}

TEST_CASE("methods: names and idempotency", "[http]") {
    CHECK(std::string(method_name(Method::del)) == "DELETE");
    CHECK(std::string(method_name(Method::patch)) == "PATCH");
    CHECK(is_idempotent(Method::get));
    CHECK(is_idempotent(Method::head));
    CHECK(is_idempotent(Method::put));
    CHECK(is_idempotent(Method::del));
    CHECK_FALSE(is_idempotent(Method::post));
    CHECK_FALSE(is_idempotent(Method::patch));
}

TEST_CASE("a credential over http:// to a host off loopback is warned about", "[http][redact]") {
    CHECK_FALSE(cleartext_credential_warning("https://api.example:6443/x"));
    CHECK_FALSE(cleartext_credential_warning("http://127.0.0.1:9090/api"));
    CHECK_FALSE(cleartext_credential_warning("http://127.8.9.1:9090"));
    CHECK_FALSE(cleartext_credential_warning("http://localhost:9090"));
    CHECK_FALSE(cleartext_credential_warning("http://[::1]:9090/"));
    const auto w =
        cleartext_credential_warning("HTTP://user:pw-1@prom.example:9090/api/v1?token=t-2");
    REQUIRE(w);
    CHECK_THAT(*w, Catch::Contains("clear text") && Catch::Contains("prom.example:9090"));
    CHECK_THAT(*w, !Catch::Contains("pw-1") && !Catch::Contains("t-2"));
    CHECK(cleartext_credential_warning("http://10.0.0.1"));
}
