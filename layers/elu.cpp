#include <cmath>

#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Elu: y = x for x > 0, alpha·(exp(x) − 1) below (ONNX default alpha = 1).
RELPROP_REGISTER_OP(Elu) {
    return unary_op_info({OpType::Elu, "Elu", OpCategory::Activation, {{"Elu"}},
                          [](OnnxNode& n) { emit_unary(n, OpType::Elu, {UnaryKind::Elu, n.attr_float("alpha", 1.0f)}); },
                          [](double x, const UnaryFn& f) { return x > 0.0 ? x : double{f.alpha} * std::expm1(x); },
                          [] { return unary_samples(OpType::Elu, {UnaryKind::Elu, 0.7f}, -2.0, 2.0); }});
}

}  // namespace relprop
