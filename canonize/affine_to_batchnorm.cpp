// affine-to-batchnorm: a Mul by a per-channel constant, optionally followed by an Add (or Sub) of a
// per-channel constant, on the output of a Conv or Linear — how tf2onnx writes an inference
// BatchNormalization (x·a + c) — becomes one BatchNorm node with scale a, bias c, mean 0, var 1, ε 0, so
// merge-batchnorm folds it into the layer as it does for PyTorch exports. The same on a Concat's output, and on
// any [N, C, H, W] value with a constant that varies per channel (Keras' DenseNet: BatchNormalization after a
// concatenation or a pooling), where the densenet pass then treats it as in PyTorch's. "Per channel": the constant
// broadcasts along axis 1 only ([C], [C,1,1], [1,C,1,1] on [N,C,H,W]; [C] or [1,C] on [N,C]) or is a scalar.
#include <optional>

#include "canonize/op_match.h"
#include "canonize/passes.h"
#include "engine/elementwise.h"
#include "layers/batchnorm.h"
#include "layers/binary.h"

namespace relprop {

namespace {

// The constant of a Binary node of `kind` with a constant operand (Sub: only x − c), or null.
const Tensor* constant_operand(const Op& op, BinaryKind kind) {
    const auto* b = dynamic_cast<const Binary*>(&op);
    if (!b || b->kind() != kind || b->constant_index() < 0) return nullptr;
    if (kind == BinaryKind::Sub && b->constant_index() != 1) return nullptr;
    return &b->params().at("constant");
}

}  // namespace

PassResult affine_to_batchnorm(const Graph& graph) {
    GraphEditor ed(graph);
    PassResult r;
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        const EditNode& mul = ed.nodes()[i];
        if (mul.removed) continue;
        const Tensor* scale_c = constant_operand(*mul.op, BinaryKind::Mul);
        if (!scale_c) continue;
        const int p = ed.producer(mul.inputs[0]);
        if (p < 0) continue;
        const OpType lt = ed.nodes()[p].op->type();
        const Shape& x = ed.shape(mul.inputs[0]);
        // After a layer or a Concat; after anything else (DenseNet's pooling before a block's first BatchNorm) only
        // a constant that varies per channel of an image-shaped value, never a scalar scaling.
        const bool after_layer = lt == OpType::Conv || lt == OpType::Linear || lt == OpType::Concat;
        if (!after_layer && (x.size() != 4 || scale_c->numel() == 1)) continue;
        if (lt == OpType::Linear && x.size() != 2) continue;  // an N-D Linear's channels are its last axis
        const auto scale = per_channel(*scale_c, x);
        if (!scale) continue;
        std::vector<float> shift(scale->size(), 0.0f);
        // The shift: a single consumer adding (or subtracting) a per-channel constant.
        int add = -1;
        const std::vector<size_t> next = ed.consumers(mul.output);
        if (next.size() == 1 && !ed.is_graph_output(mul.output)) {
            const Op& op = *ed.nodes()[next[0]].op;
            const Tensor* c = constant_operand(op, BinaryKind::Add);
            const bool sub = !c && (c = constant_operand(op, BinaryKind::Sub)) != nullptr;
            if (c) {
                if (const auto v = per_channel(*c, x)) {
                    for (size_t k = 0; k < v->size(); ++k) shift[k] = sub ? -(*v)[k] : (*v)[k];
                    add = static_cast<int>(next[0]);
                }
            }
        }
        const int64_t channels = static_cast<int64_t>(scale->size());
        Tensor ones({channels});
        for (int64_t k = 0; k < channels; ++k) ones[k] = 1.0f;
        auto bn = std::make_shared<BatchNorm>(Tensor({channels}, *scale), Tensor({channels}, shift), Tensor({channels}),
                                              ones, 0.0f);
        if (add < 0) {
            r.changes.push_back("Mul '" + mul.name + "' became a BatchNorm");
            ed.set_op(i, bn);
            continue;
        }
        const EditNode& a = ed.nodes()[add];
        r.changes.push_back("Mul '" + mul.name + "' and " + op_name(a.op->type()) + " '" + a.name + "' became BatchNorm '" +
                            mul.name + "'");
        const std::string output = a.output;
        ed.remove(add);
        ed.set_op(i, bn);
        ed.set_output(i, output);
    }
    r.graph = ed.build();
    return r;
}

}  // namespace relprop
