#include <cmath>

#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Sqrt: y = √x (LayerNorm exported as arithmetic). Elementwise arithmetic: the gradient by default.
RELPROP_REGISTER_OP(Sqrt) {
    return unary_op_info({OpType::Sqrt, "Sqrt", OpCategory::ElementwiseBinary, {{"Sqrt"}},
                          [](OnnxNode& n) { emit_unary(n, OpType::Sqrt, {UnaryKind::Sqrt}); },
                          [](double x, const UnaryFn&) { return std::sqrt(x); },
                          [] { return unary_samples(OpType::Sqrt, {UnaryKind::Sqrt}, 0.25, 4.0); }});
}

}  // namespace relprop
