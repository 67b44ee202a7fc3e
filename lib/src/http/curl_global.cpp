// libcurl's global state, set up on first use.

#include "curl_handles.h"
#include "oncall/http/client.h"

#include <mutex>

namespace oncall::http {

namespace detail {

void ensure_curl_initialised() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

} // namespace detail

std::string curl_library_version() {
    const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
    return info != nullptr && info->version != nullptr ? info->version : "unknown";
}

} // namespace oncall::http
