// Small matchers the fusion passes (fuse-activations, fuse-layernorm) read nodes with.
#pragma once

#include <cmath>
#include <optional>
#include <vector>

#include "engine/op.h"
#include "layers/activation.h"
#include "layers/binary.h"

namespace relprop {

/// The node's op as a Binary of `type` (Mul, Sub, Div, AddConstant), or null.
inline const Binary* as_binary(const Op& op, OpType type) {
    return op.type() == type ? dynamic_cast<const Binary*>(&op) : nullptr;
}

/// The constant operand of a Binary that has one, else null.
inline const Tensor* binary_constant(const Binary& b) {
    return b.constant_index() < 0 ? nullptr : &b.params().at("constant");
}

/// Whether `t` is one value within `rel` (relative) of `v`.
inline bool is_scalar(const Tensor* t, double v, double rel = 1e-6) {
    return t && t->numel() == 1 && t->device() == Device::CPU && std::abs(double{(*t)[0]} - v) <= rel * std::abs(v);
}

/// The constant `c` as C per-channel values for a value of shape `x` ([N, C, ...]), or nothing. "Per channel": a
/// scalar, or a constant that broadcasts along axis 1 only ([C], [C,1,1], [1,C,1,1] on [N,C,H,W]; [C] or [1,C] on
/// [N,C]).
inline std::optional<std::vector<float>> per_channel(const Tensor& c, const Shape& x) {
    if (x.size() < 2) return std::nullopt;
    const int64_t channels = x[1];
    std::vector<float> v(static_cast<size_t>(channels));
    if (c.numel() == 1) {
        for (float& e : v) e = c[0];
        return v;
    }
    // Trailing-aligned broadcast: every axis of the constant but the channel axis has size 1.
    const Shape s = left_padded(c.shape(), x.size());
    if (s.size() != x.size()) return std::nullopt;
    for (size_t d = 0; d < s.size(); ++d)
        if (s[d] != (d == 1 ? channels : 1)) return std::nullopt;
    for (int64_t i = 0; i < channels; ++i) v[i] = c[i];
    return v;
}

/// The function of an Activation of `type`, or null.
inline const UnaryFn* activation_fn(const Op& op, OpType type) {
    if (op.type() != type) return nullptr;
    const auto* a = dynamic_cast<const Activation*>(&op);
    return a ? &a->function() : nullptr;
}

}  // namespace relprop
