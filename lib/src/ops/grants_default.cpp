// The user's default grant store (kept apart from grants.cpp so the store's logic has no
// dependency on where the configuration puts state).

#include "oncall/ops/grants.h"

namespace oncall::ops {

GrantStore GrantStore::open_default() {
    return GrantStore(config::state_dir() + "/grants");
}

Result<GrantLookup> find_active_grant(const std::string& context, const std::string& service,
                                      const std::string& role) {
    return GrantStore::open_default().find_active(context, service, role, now());
}

} // namespace oncall::ops
