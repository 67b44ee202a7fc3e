#include "oncall/core/exit_code.h"

namespace oncall {

ExitCode exit_code_for(const Error& error) noexcept {
    switch (error.code) {
    case Errc::usage:
    case Errc::config:
    case Errc::invalid:
        return ExitCode::usage;
    case Errc::dns:
    case Errc::connect:
    case Errc::timeout:
    case Errc::tls:
    case Errc::bad_response:
    case Errc::too_large:
    case Errc::unavailable:
        return ExitCode::partial;
    case Errc::http_status:
        if (error.http_status == 401 || error.http_status == 403) {
            return ExitCode::access_denied;
        }
        if (error.http_status == 409) {
            return ExitCode::conflict;
        }
        return error.http_status >= 500 ? ExitCode::partial : ExitCode::failure;
    case Errc::access_denied:
        return ExitCode::access_denied;
    case Errc::conflict:
        return ExitCode::conflict;
    case Errc::wait_timeout:
        return ExitCode::timed_out;
    case Errc::rollout_failed:
    case Errc::verification_failed:
        return ExitCode::rollout_failed;
    case Errc::not_found:
    case Errc::io:
    case Errc::internal:
        return ExitCode::failure;
    }
    return ExitCode::failure;
}

namespace {
// Higher is worse; success is best.
int severity(ExitCode c) {
    switch (c) {
    case ExitCode::success:
        return 0;
    case ExitCode::partial:
        return 1;
    case ExitCode::degraded:
        return 9;
    case ExitCode::rollout_failed:
        return 8;
    case ExitCode::timed_out:
        return 7;
    case ExitCode::conflict:
        return 6;
    case ExitCode::access_denied:
        return 5;
    case ExitCode::usage:
        return 4;
    case ExitCode::failure:
        return 3;
    }
    return 2;
}
} // namespace

ExitCode worst_exit_code(ExitCode a, ExitCode b) noexcept {
    return severity(a) >= severity(b) ? a : b;
}

} // namespace oncall
