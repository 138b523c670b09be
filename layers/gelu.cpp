#include <cmath>

#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Gelu (ONNX opset 20): y = x·Φ(x) = ½x·(1 + erf(x/√2)) with approximate="none", or
// ½x·(1 + tanh(√(2/π)·(x + 0.044715x³))) with approximate="tanh". Also the target of fuse-activations, which
// turns PyTorch's erf form of nn.GELU (Div by √2, Erf, Add 1, Mul x, Mul ½; every opset below 20) into it.
RELPROP_REGISTER_OP(Gelu) {
    return unary_op_info(
        {OpType::Gelu, "Gelu", OpCategory::Activation, {{"Gelu", 20}},
         [](OnnxNode& n) {
             const std::string approximate = n.attr_string("approximate", "none");
             if (approximate != "none" && approximate != "tanh")
                 throw Error("Gelu: approximate='" + approximate + "' is not one of 'none', 'tanh'");
             emit_unary(n, OpType::Gelu, {approximate == "tanh" ? UnaryKind::GeluTanh : UnaryKind::Gelu});
         },
         [](double x, const UnaryFn& f) {
             if (f.kind == UnaryKind::GeluTanh) {
                 const double c = std::sqrt(2.0 / M_PI);
                 return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
             }
             return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
         },
         [] {
             auto s = unary_samples(OpType::Gelu, {UnaryKind::Gelu}, -4.0, 4.0, "approximate=none");
             auto t = unary_samples(OpType::Gelu, {UnaryKind::GeluTanh}, -4.0, 4.0, "approximate=tanh");
             s.insert(s.end(), t.begin(), t.end());
             return s;
         }});
}

}  // namespace relprop
