#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Reciprocal: y = 1/x (Keras' LayerNormalization exported by tf2onnx: TensorFlow's rsqrt as Sqrt, Reciprocal).
// Elementwise arithmetic: the gradient by default.
RELPROP_REGISTER_OP(Reciprocal) {
    return unary_op_info({OpType::Reciprocal, "Reciprocal", OpCategory::ElementwiseBinary, {{"Reciprocal"}},
                          [](OnnxNode& n) { emit_unary(n, OpType::Reciprocal, {UnaryKind::Reciprocal}); },
                          [](double x, const UnaryFn&) { return 1.0 / x; },
                          [] { return unary_samples(OpType::Reciprocal, {UnaryKind::Reciprocal}, 0.25, 4.0); }});
}

}  // namespace relprop
