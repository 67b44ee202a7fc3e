#pragma once
// What every text view is given: how the stream looks and the moment ages are measured from
// (the clock is a parameter, so a view of fixed data is the same text every time).

#include "oncall/core/time.h"
#include "oncall/render/style.h"

namespace oncall::views {

struct TextOptions {
    render::Style style;
    TimePoint now;
};

} // namespace oncall::views
