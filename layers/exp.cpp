#include <cmath>

#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Exp: y = eˣ (ONNX Exp; also the kernel of layers/softmax.cpp). Elementwise arithmetic: the gradient by default.
RELPROP_REGISTER_OP(Exp) {
    return unary_op_info({OpType::Exp, "Exp", OpCategory::ElementwiseBinary, {{"Exp"}},
                          [](OnnxNode& n) { emit_unary(n, OpType::Exp, {UnaryKind::Exp}); },
                          [](double x, const UnaryFn&) { return std::exp(x); },
                          [] { return unary_samples(OpType::Exp, {UnaryKind::Exp}, -3.0, 3.0); }});
}

}  // namespace relprop
