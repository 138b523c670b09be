// Small matchers the fusion passes (fuse-activations, fuse-layernorm) read nodes with.
#pragma once

#include <cmath>

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

/// The function of an Activation of `type`, or null.
inline const UnaryFn* activation_fn(const Op& op, OpType type) {
    if (op.type() != type) return nullptr;
    const auto* a = dynamic_cast<const Activation*>(&op);
    return a ? &a->function() : nullptr;
}

}  // namespace relprop
