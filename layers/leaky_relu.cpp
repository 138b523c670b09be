#include <cmath>

#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// LeakyRelu: y = x for x >= 0, alpha·x below (ONNX default alpha = 0.01).
RELPROP_REGISTER_OP(LeakyRelu) {
    return unary_op_info({OpType::LeakyRelu, "LeakyRelu", OpCategory::Activation, {{"LeakyRelu"}},
                          [](OnnxNode& n) {
                              emit_unary(n, OpType::LeakyRelu, {UnaryKind::LeakyRelu, n.attr_float("alpha", 0.01f)});
                          },
                          [](double x, const UnaryFn& f) { return x >= 0.0 ? x : double{f.alpha} * x; },
                          [] { return unary_samples(OpType::LeakyRelu, {UnaryKind::LeakyRelu, 0.1f}, -1.0, 1.0); }});
}

}  // namespace relprop
