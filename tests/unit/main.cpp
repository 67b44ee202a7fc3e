// Test runner for the unit tests: libcurl is initialised once, before any test runs, and proxy
// settings inherited from the environment are dropped, so that requests to the tests' own loopback
// servers go nowhere else (tests that exercise proxies set their own).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdlib>
#include <curl/curl.h>

int main(int argc, char* argv[]) {
    for (const char* name :
         {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "HTTP_PROXY"}) {
        ::unsetenv(name);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const int result = Catch::Session().run(argc, argv);
    curl_global_cleanup();
    return result;
}
