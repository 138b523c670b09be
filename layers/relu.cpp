#include "layers/relu.h"

#include "io/onnx_node.h"

namespace relprop {

RELPROP_REGISTER_OP(Relu) {
    return unary_op_info({OpType::Relu, "Relu", OpCategory::Activation, {{"Relu"}},
                          [](OnnxNode& n) { n.emit(std::make_shared<Relu>(), {n.runtime_input(0)}); },
                          [](double x, const UnaryFn&) { return x > 0.0 ? x : 0.0; },
                          [] { return unary_samples(OpType::Relu, {UnaryKind::Relu}, -1.0, 1.0); }});
}

}  // namespace relprop
