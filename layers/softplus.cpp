#include <cmath>

#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Softplus: y = log(1 + exp(x)) (ONNX Softplus; PyTorch exports nn.Softplus() with beta 1 as this op).
RELPROP_REGISTER_OP(Softplus) {
    return unary_op_info({OpType::Softplus, "Softplus", OpCategory::Activation, {{"Softplus"}},
                          [](OnnxNode& n) { emit_unary(n, OpType::Softplus, {UnaryKind::Softplus}); },
                          [](double x, const UnaryFn&) { return std::log1p(std::exp(x)); },
                          [] { return unary_samples(OpType::Softplus, {UnaryKind::Softplus}, -4.0, 4.0); }});
}

}  // namespace relprop
