#include "layers/add.h"

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/binary.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/op_registry.h"

namespace relprop {

Shape Add::infer_shape(const std::vector<Shape>& inputs) const {
    return broadcast_shapes(inputs.at(0), inputs.at(1), "Add");
}

Tensor Add::forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params&) const {
    if (inputs.at(0).shape() != inputs.at(1).shape()) return broadcast_binary(backend, BinaryKind::Add, inputs[0], inputs[1]);
    Tensor y = backend.empty(inputs[0].shape());
    backend.add(inputs[0], inputs[1], y);
    return y;
}

std::vector<Tensor> Add::transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params&,
                                        const Tensor& grad_output) const {
    // tensors are never written in place, so sharing grad_output is safe
    return {reduce_to_shape(backend, grad_output, input_shapes.at(0)),
            reduce_to_shape(backend, grad_output, input_shapes.at(1))};
}

void import_binary(OnnxNode& n, OpType type);  // layers/binary.cpp

namespace {

void import_add(OnnxNode& n) {
    if (n.input_count() != 2) throw Error("Add needs two inputs");
    const bool c0 = n.is_constant(0), c1 = n.is_constant(1);
    if (!c0 && !c1) return n.emit(std::make_shared<Add>(), {n.runtime_input(0), n.runtime_input(1)});
    if (c0 && c1) throw Error("both inputs are constants");
    // A constant added to a Gemm/MatMul/Conv output with no other use is that layer's bias.
    const std::string& x = n.runtime_input(c0 ? 1 : 0);
    const Tensor bias = n.parameter(c0 ? 0 : 1, "addend");
    const Op* producer = n.single_use_producer(x);
    if (const auto* lin = dynamic_cast<const Linear*>(producer)) {
        const Tensor& w = lin->params().at("weight");
        const int64_t m = w.dim(0);
        // [M] (or [1, M], [1, 1, M]...) on the last axis, which is also right for an N-D MatMul's [..., M] output.
        if (bias.numel() == 1 || (bias.numel() == m && bias.shape().back() == m)) {
            Tensor b = lin->params().count("bias") ? lin->params().at("bias").clone() : Tensor({m});
            for (int64_t i = 0; i < m; ++i) b[i] += bias[bias.numel() == 1 ? 0 : i];
            n.note("Add '" + n.name() + "' folded into the bias of '" + n.producer_name(x) + "'");
            return n.replace_producer(x, std::make_shared<Linear>(w, b));
        }
    }
    if (const auto* c = dynamic_cast<const Conv*>(producer)) {
        const Tensor& w = c->params().at("weight");
        const int64_t o = w.dim(0);
        const Shape& s = bias.shape();
        const bool per_channel = bias.numel() == 1 || (bias.numel() == o && (s == Shape{o, 1, 1} || s == Shape{1, o, 1, 1}));
        if (per_channel) {
            Tensor b = c->params().count("bias") ? c->params().at("bias").clone() : Tensor({o});
            for (int64_t i = 0; i < o; ++i) b[i] += bias[bias.numel() == 1 ? 0 : i];
            n.note("Add '" + n.name() + "' folded into the bias of '" + n.producer_name(x) + "'");
            return n.replace_producer(x, std::make_shared<Conv>(w, b, c->geometry()));
        }
    }
    import_binary(n, OpType::AddConstant);  // any other constant addend: an elementwise shift
}

}  // namespace

RELPROP_REGISTER_OP(Add) {
    return OpInfo{
        .type = OpType::Add,
        .name = "Add",
        .category = OpCategory::Linear,
        .kernels = Kernel::Elementwise | Kernel::Binary | Kernel::Reduce,
        .onnx = {{"Add"}},
        .import = import_add,
    };
}

}  // namespace relprop
