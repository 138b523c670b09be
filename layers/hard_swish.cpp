#include <cmath>

#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// HardSwish: y = x·max(0, min(1, x/6 + 1/2)) (opset 14).
RELPROP_REGISTER_OP(HardSwish) {
    return unary_op_info({OpType::HardSwish, "HardSwish", OpCategory::Activation, {{"HardSwish", 14}},
                          [](OnnxNode& n) { emit_unary(n, OpType::HardSwish, {UnaryKind::HardSwish}); },
                          [](double x, const UnaryFn&) { return x * std::max(0.0, std::min(1.0, x / 6.0 + 0.5)); },
                          [] { return unary_samples(OpType::HardSwish, {UnaryKind::HardSwish}, -5.0, 5.0); }});
}

}  // namespace relprop
