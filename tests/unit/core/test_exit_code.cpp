#include "oncall/core/exit_code.h"

#include <catch2/catch.hpp>

using namespace oncall;

TEST_CASE("error kinds map to the exit-code table", "[core][exit]") {
    CHECK(exit_code_for(make_error(Errc::usage, "")) == ExitCode::usage);
    CHECK(exit_code_for(make_error(Errc::config, "")) == ExitCode::usage);
    CHECK(exit_code_for(make_error(Errc::timeout, "")) == ExitCode::partial);
    CHECK(exit_code_for(make_error(Errc::bad_response, "")) == ExitCode::partial);
    CHECK(exit_code_for(make_error(Errc::access_denied, "")) == ExitCode::access_denied);
    CHECK(exit_code_for(make_error(Errc::http_status, "", 403)) == ExitCode::access_denied);
    CHECK(exit_code_for(make_error(Errc::http_status, "", 401)) == ExitCode::access_denied);
    CHECK(exit_code_for(make_error(Errc::http_status, "", 409)) == ExitCode::conflict);
    CHECK(exit_code_for(make_error(Errc::http_status, "", 503)) == ExitCode::partial);
    CHECK(exit_code_for(make_error(Errc::conflict, "")) == ExitCode::conflict);
    CHECK(exit_code_for(make_error(Errc::wait_timeout, "")) == ExitCode::timed_out);
    CHECK(exit_code_for(make_error(Errc::rollout_failed, "")) == ExitCode::rollout_failed);
    CHECK(exit_code_for(make_error(Errc::verification_failed, "")) == ExitCode::rollout_failed);
    CHECK(exit_code_for(make_error(Errc::internal, "")) == ExitCode::failure);
}

TEST_CASE("the worst exit code wins, degraded above all", "[core][exit]") {
    CHECK(worst_exit_code(ExitCode::success, ExitCode::partial) == ExitCode::partial);
    CHECK(worst_exit_code(ExitCode::degraded, ExitCode::partial) == ExitCode::degraded);
    CHECK(worst_exit_code(ExitCode::partial, ExitCode::degraded) == ExitCode::degraded);
    CHECK(worst_exit_code(ExitCode::success, ExitCode::success) == ExitCode::success);
}
