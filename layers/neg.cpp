#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Neg: y = −x. Elementwise arithmetic: the gradient by default.
RELPROP_REGISTER_OP(Neg) {
    return unary_op_info({OpType::Neg, "Neg", OpCategory::ElementwiseBinary, {{"Neg"}},
                          [](OnnxNode& n) { emit_unary(n, OpType::Neg, {UnaryKind::Neg}); },
                          [](double x, const UnaryFn&) { return -x; },
                          [] { return unary_samples(OpType::Neg, {UnaryKind::Neg}, -1.0, 1.0); }});
}

}  // namespace relprop
