// What the two rules for products (rules/mul_signal.cpp, rules/mul_uniform.cpp) share: which op they take and
// which operand is the signal.
#pragma once

#include <string>

#include "relprop/error.hpp"
#include "rules/rules.h"

namespace relprop {

/// An Error unless `op` is a Mul (of two model values, or of a model value and a constant).
inline void require_mul(const Op& op, const char* rule) {
    if (op.type() != OpType::Mul)
        throw Error(std::string("rule ") + rule + " applies only to Mul nodes, not to " + op_name(op.type()) +
                    (op.type() == OpType::Div ? " (for a division by a constant use pass)" : ""));
}

/// The signal of a product of operands shaped a and b: the one with more elements (the gate is broadcast);
/// with equal sizes, the first (0).
size_t signal_operand(const Shape& a, const Shape& b);

}  // namespace relprop
