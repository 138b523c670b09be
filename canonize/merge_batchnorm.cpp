// merge-batchnorm: BN(conv(x)) with the conv output used only by the BN becomes one conv with
// W' = W·a (per output channel) and b' = b·a + c, where a = γ/√(σ²+ε), c = β − μ·a. Same for Linear. A BatchNorm
// after a channel Concat of such layers (Keras NASNet's adjust_bn after its two-path 1×1 convs) is split along the
// Concat and merged into each of them.
#include "canonize/layer_weights.h"
#include "canonize/passes.h"
#include "layers/batchnorm.h"
#include "layers/concat.h"
#include "layers/conv.h"
#include "layers/linear.h"

namespace relprop {

namespace {

bool is_layer(const GraphEditor& ed, int node) {
    if (node < 0) return false;
    const OpType t = ed.nodes()[static_cast<size_t>(node)].op->type();
    return (t == OpType::Conv || t == OpType::Linear) && ed.single_use(ed.nodes()[static_cast<size_t>(node)].output);
}

// Layer `p`'s op with the BatchNorm's channels from `first` on merged into its outputs.
std::shared_ptr<const Op> merged(const Op& layer, const BatchNorm& bn, int64_t first) {
    const Tensor& a = bn.affine_scale();
    const Tensor& c = bn.affine_shift();
    Tensor w = layer.params().at("weight").clone();
    const int64_t out = w.dim(0), per = w.numel() / out;
    Tensor b({out});
    const bool had_bias = layer.params().count("bias") > 0;
    for (int64_t o = 0; o < out; ++o) {
        for (int64_t k = 0; k < per; ++k) w[o * per + k] *= a[first + o];
        b[o] = (had_bias ? layer.params().at("bias")[o] : 0.0f) * a[first + o] + c[first + o];
    }
    return with_parameters(layer, w, b);
}

}  // namespace

PassResult merge_batchnorm(const Graph& graph) {
    GraphEditor ed(graph);
    PassResult r;
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        const EditNode& bn_node = ed.nodes()[i];
        if (bn_node.removed || bn_node.op->type() != OpType::BatchNorm) continue;
        const int p = ed.producer(bn_node.inputs[0]);
        if (p < 0) continue;
        const auto& bn = dynamic_cast<const BatchNorm&>(*bn_node.op);
        const EditNode& layer = ed.nodes()[p];
        const OpType t = layer.op->type();
        if (t == OpType::Concat && ed.single_use(layer.output) && ed.shape(layer.output).size() == 4) {
            // A channel Concat whose every input is a Conv read by it alone: each Conv takes its channels' share.
            const auto& cat = dynamic_cast<const Concat&>(*layer.op);
            if (cat.axis() != 1 && cat.axis() != -3) continue;
            bool all = true;
            for (const std::string& in : layer.inputs) {
                const int q = ed.producer(in);
                all = all && is_layer(ed, q) && ed.nodes()[static_cast<size_t>(q)].op->type() == OpType::Conv;
            }
            if (!all) continue;
            int64_t first = 0;
            std::string names;
            for (const std::string& in : layer.inputs) {
                const int q = ed.producer(in);
                const EditNode& conv = ed.nodes()[static_cast<size_t>(q)];
                names += (names.empty() ? "" : ", ") + std::string(op_name(conv.op->type())) + " '" + conv.name + "'";
                const std::shared_ptr<const Op> op = merged(*conv.op, bn, first);
                first += ed.shape(in)[1];
                ed.set_op(static_cast<size_t>(q), op);
            }
            r.changes.push_back("merged BatchNorm '" + bn_node.name + "' after Concat '" + layer.name + "' into " + names);
            const std::string output = bn_node.output;
            ed.remove(i);
            ed.set_output(static_cast<size_t>(p), output);
            continue;
        }
        if (!is_layer(ed, p)) continue;
        r.changes.push_back("merged BatchNorm '" + bn_node.name + "' into " + op_name(t) + " '" + layer.name + "'");
        const std::string output = bn_node.output;
        ed.set_op(static_cast<size_t>(p), merged(*layer.op, bn, 0));
        ed.remove(i);
        ed.set_output(static_cast<size_t>(p), output);
    }
    r.graph = ed.build();
    return r;
}

}  // namespace relprop
