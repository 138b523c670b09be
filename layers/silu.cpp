#include <cmath>

#include "io/onnx_node.h"
#include "layers/activation.h"

namespace relprop {

// Silu (SiLU, swish): y = x·σ(x). ONNX has no such op: PyTorch exports nn.SiLU as Sigmoid then Mul, and the
// fuse-activations pass (canonize/fuse_activations.cpp) makes this op from that pair, so the activation gets
// its composite's rule as a whole (zennit's Activation group holds SiLU).
RELPROP_REGISTER_OP(Silu) {
    return unary_op_info({OpType::Silu, "Silu", OpCategory::Activation, {},
                          nullptr,
                          [](double x, const UnaryFn&) { return x / (1.0 + std::exp(-x)); },
                          [] { return unary_samples(OpType::Silu, {UnaryKind::Silu}, -5.0, 5.0); }});
}

}  // namespace relprop
