#include <cmath>

#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Sigmoid: y = 1 / (1 + exp(-x)).
RELPROP_REGISTER_OP(Sigmoid) {
    return unary_op_info({OpType::Sigmoid, "Sigmoid", OpCategory::Activation, {{"Sigmoid"}},
                          [](OnnxNode& n) { emit_unary(n, OpType::Sigmoid, {UnaryKind::Sigmoid}); },
                          [](double x, const UnaryFn&) { return 1.0 / (1.0 + std::exp(-x)); },
                          [] { return unary_samples(OpType::Sigmoid, {UnaryKind::Sigmoid}, -4.0, 4.0); }});
}

}  // namespace relprop
