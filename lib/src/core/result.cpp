#include "oncall/core/result.h"

namespace oncall {

const char* errc_name(Errc code) noexcept {
    switch (code) {
    case Errc::usage:
        return "usage";
    case Errc::config:
        return "config";
    case Errc::invalid:
        return "invalid";
    case Errc::not_found:
        return "not_found";
    case Errc::dns:
        return "dns";
    case Errc::connect:
        return "connect";
    case Errc::timeout:
        return "timeout";
    case Errc::tls:
        return "tls";
    case Errc::http_status:
        return "http_status";
    case Errc::bad_response:
        return "bad_response";
    case Errc::too_large:
        return "too_large";
    case Errc::unavailable:
        return "unavailable";
    case Errc::access_denied:
        return "access_denied";
    case Errc::conflict:
        return "conflict";
    case Errc::wait_timeout:
        return "wait_timeout";
    case Errc::rollout_failed:
        return "rollout_failed";
    case Errc::verification_failed:
        return "verification_failed";
    case Errc::io:
        return "io";
    case Errc::internal:
        return "internal";
    }
    return "internal";
}

} // namespace oncall
