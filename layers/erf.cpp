#include <cmath>

#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Erf: the error function (GELU exported in its erf form). Elementwise arithmetic: the gradient by default.
RELPROP_REGISTER_OP(Erf) {
    return unary_op_info({OpType::Erf, "Erf", OpCategory::ElementwiseBinary, {{"Erf"}},
                          [](OnnxNode& n) { emit_unary(n, OpType::Erf, {UnaryKind::Erf}); },
                          [](double x, const UnaryFn&) { return std::erf(x); },
                          [] { return unary_samples(OpType::Erf, {UnaryKind::Erf}, -2.0, 2.0); }});
}

}  // namespace relprop
