#include <cmath>

#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Tanh: y = tanh(x).
RELPROP_REGISTER_OP(Tanh) {
    return unary_op_info({OpType::Tanh, "Tanh", OpCategory::Activation, {{"Tanh"}},
                          [](OnnxNode& n) { emit_unary(n, OpType::Tanh, {UnaryKind::Tanh}); },
                          [](double x, const UnaryFn&) { return std::tanh(x); },
                          [] { return unary_samples(OpType::Tanh, {UnaryKind::Tanh}, -3.0, 3.0); }});
}

}  // namespace relprop
