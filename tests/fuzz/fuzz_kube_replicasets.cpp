// Fuzzes the ReplicaSet list decoder and the revision list built from it for a recorded Deployment
// (ownership by uid, revision annotations, current revision by template).
#include "fuzz_kube_support.h"
#include "fuzz_support.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto json = oncall::fuzz::parse_body(body);
    if (!json) {
        return 0;
    }
    std::vector<oncall::kube::ReplicaSet> replicasets;
    for (const auto& item : oncall::fuzz::list_items(*json)) {
        auto rs = oncall::kube::decode_replicaset(item);
        if (!rs) {
            if (rs.error().message.empty()) {
                oncall::fuzz::fail("a refusal without a message");
            }
            return 0;
        }
        replicasets.push_back(std::move(rs).value());
    }
    const auto revisions =
        oncall::kube::revisions_of(oncall::fuzz::recorded_deployment(), replicasets);
    for (std::size_t i = 1; i < revisions.size(); ++i) {
        if (revisions[i - 1].number < revisions[i].number) {
            oncall::fuzz::fail("newest first");
        }
    }
    return 0;
}
