#include <cmath>

#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// HardSigmoid: y = max(0, min(1, alpha·x + beta)) (ONNX defaults alpha = 0.2, beta = 0.5; PyTorch exports
// alpha = 1/6).
RELPROP_REGISTER_OP(HardSigmoid) {
    return unary_op_info(
        {OpType::HardSigmoid, "HardSigmoid", OpCategory::Activation, {{"HardSigmoid"}},
         [](OnnxNode& n) {
             emit_unary(n, OpType::HardSigmoid,
                        {UnaryKind::HardSigmoid, n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)});
         },
         [](double x, const UnaryFn& f) { return std::max(0.0, std::min(1.0, double{f.alpha} * x + double{f.beta})); },
         [] { return unary_samples(OpType::HardSigmoid, {UnaryKind::HardSigmoid, 1.0f / 6.0f, 0.5f}, -5.0, 5.0); }});
}

}  // namespace relprop
