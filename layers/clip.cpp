#include <algorithm>
#include <limits>

#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Clip: y = min(max(x, lo), hi) (ReLU6 is Clip(0, 6)). Opsets < 11 take min/max as attributes, later ones as
// optional constant inputs; a missing bound is ±infinity.
RELPROP_REGISTER_OP(Clip) {
    return unary_op_info(
        {OpType::Clip, "Clip", OpCategory::Activation, {{"Clip"}},
         [](OnnxNode& n) {
             float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
             if (n.opset() < 11) {
                 lo = n.attr_float("min", lo);
                 hi = n.attr_float("max", hi);
             } else {
                 if (n.has_input(1)) lo = n.parameter(1, "min")[0];
                 if (n.has_input(2)) hi = n.parameter(2, "max")[0];
             }
             if (!(lo <= hi)) throw Error("Clip needs min <= max, got " + std::to_string(lo) + " > " + std::to_string(hi));
             emit_unary(n, OpType::Clip, {UnaryKind::Clip, lo, hi});
         },
         [](double x, const UnaryFn& f) { return std::min(std::max(x, double{f.alpha}), double{f.beta}); },
         [] {
             auto s = unary_samples(OpType::Clip, {UnaryKind::Clip, 0.0f, 6.0f}, -2.0, 8.0, "ReLU6");
             auto t = unary_samples(OpType::Clip, {UnaryKind::Clip, -0.5f, 0.25f}, -1.0, 1.0, "[-0.5, 0.25]");
             s.insert(s.end(), t.begin(), t.end());
             return s;
         }});
}

}  // namespace relprop
