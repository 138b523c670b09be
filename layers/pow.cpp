#include <cmath>

#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Pow with a constant scalar exponent: y = x^p (LayerNorm exported as arithmetic squares with Pow(x, 2)).
// Elementwise arithmetic: the gradient by default. A model-valued exponent is refused.
RELPROP_REGISTER_OP(Pow) {
    return unary_op_info(
        {OpType::Pow, "Pow", OpCategory::ElementwiseBinary, {{"Pow"}},
         [](OnnxNode& n) {
             if (!n.is_constant(1)) throw Error("Pow is supported with a constant exponent only");
             const Tensor p = n.parameter(1, "exponent");
             if (p.numel() != 1) throw Error("Pow needs a scalar exponent, got shape " + shape_str(p.shape()));
             emit_unary(n, OpType::Pow, {UnaryKind::Pow, p[0]});
         },
         [](double x, const UnaryFn& f) { return std::pow(x, double{f.alpha}); },
         [] {
             auto s = unary_samples(OpType::Pow, {UnaryKind::Pow, 2.0f}, -2.0, 2.0, "squared");
             auto t = unary_samples(OpType::Pow, {UnaryKind::Pow, 1.5f}, 0.25, 3.0, "^1.5");
             auto u = unary_samples(OpType::Pow, {UnaryKind::Pow, 3.0f}, -2.0, 2.0, "cubed");
             s.insert(s.end(), t.begin(), t.end());
             s.insert(s.end(), u.begin(), u.end());
             return s;
         }});
}

}  // namespace relprop
