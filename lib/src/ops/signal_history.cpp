// Fetching signal history from Prometheus, all queries at once.

#include "oncall/ops/signals.h"

namespace oncall::ops {

std::vector<Result<SignalSeries>> fetch_signal_history(const prometheus::Client& client,
                                                       const std::vector<SignalSpec>& specs,
                                                       TimePoint start, TimePoint end,
                                                       std::chrono::milliseconds step) {
    std::vector<prometheus::Query> queries;
    queries.reserve(specs.size());
    for (const auto& spec : specs) {
        queries.emplace_back(prometheus::RangeQuery{spec.query, start, end, step, {}});
    }
    auto answers = client.query_all(queries);
    std::vector<Result<SignalSeries>> out;
    out.reserve(specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i) {
        auto& decoded = answers[i];
        if (!decoded) {
            out.emplace_back(std::move(decoded).error());
        } else {
            out.emplace_back(to_signal_series(specs[i], *decoded));
        }
    }
    return out;
}

} // namespace oncall::ops
