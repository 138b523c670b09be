#include "engine/finite.h"

#include <bit>

#include "relprop/error.hpp"

namespace relprop {

NonFinite find_nonfinite(const Tensor& t) {
    if (!t.defined()) return {};
    if (t.device() != Device::CPU)
        throw Error("find_nonfinite needs a CPU tensor, got one on " + device_name(t.device()));
    NonFinite r;
    const float* p = t.data();
    for (int64_t i = 0; i < t.numel(); ++i) {
        if ((std::bit_cast<uint32_t>(p[i]) & 0x7f800000u) != 0x7f800000u) continue;  // exponent bits all ones
        if (r.count++ == 0) r.first = i;
    }
    return r;
}

void require_finite(const Tensor& t, const std::string& what, const std::string& hint) {
    const NonFinite bad = find_nonfinite(t);
    if (bad.count == 0) return;
    throw Error(what + ": " + std::to_string(bad.count) + " of " + std::to_string(t.numel()) + " value" +
                (t.numel() == 1 ? " is" : "s are") + " NaN/Inf (first at index " + std::to_string(bad.first) + ")" +
                (hint.empty() ? "" : "; " + hint));
}

}  // namespace relprop
