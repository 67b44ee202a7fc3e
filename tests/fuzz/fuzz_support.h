#pragma once
// Helpers shared by the fuzz targets: splitting the input into a status selector and a body.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace oncall::fuzz {

/// Reports a broken property on stderr (so the crash log says which one) and aborts, which
/// libFuzzer records as a crash with the input that caused it.
[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "fuzz property broken: %s\n", what);
    std::abort();
}

/// The HTTP statuses a decoder is asked to handle; the first input byte picks one.
inline constexpr std::array<long, 12> k_statuses{200, 200, 200, 200, 201, 400,
                                                 401, 403, 404, 409, 422, 503};

/// An input as (status, body): the first byte selects the status, the rest is the body.
struct StatusAndBody {
    long status = 200;
    std::string_view body;
};

inline StatusAndBody split_status(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return {};
    }
    return {k_statuses[data[0] % k_statuses.size()],
            std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1)};
}

} // namespace oncall::fuzz
