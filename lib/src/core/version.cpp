#include "oncall/core/version.h"

#ifndef ONCALL_GIT_COMMIT
#define ONCALL_GIT_COMMIT "unknown"
#endif

namespace oncall {

const char* version() noexcept {
    return ONCALL_VERSION;
}
const char* git_commit() noexcept {
    return ONCALL_GIT_COMMIT;
}

} // namespace oncall
