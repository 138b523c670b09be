// merge-batchnorm: BN(conv(x)) with the conv output used only by the BN becomes one conv with
// W' = W·a (per output channel) and b' = b·a + c, where a = γ/√(σ²+ε), c = β − μ·a. Same for Linear.
#include "canonize/layer_weights.h"
#include "canonize/passes.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/linear.h"

namespace relprop {

PassResult merge_batchnorm(const Graph& graph) {
    GraphEditor ed(graph);
    PassResult r;
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        const EditNode& bn_node = ed.nodes()[i];
        if (bn_node.removed || bn_node.op->type() != OpType::BatchNorm) continue;
        const int p = ed.producer(bn_node.inputs[0]);
        if (p < 0) continue;
        const EditNode& layer = ed.nodes()[p];
        const OpType t = layer.op->type();
        if ((t != OpType::Conv && t != OpType::Linear) || ed.use_count(layer.output) != 1 ||
            ed.is_graph_output(layer.output))
            continue;
        const auto& bn = dynamic_cast<const BatchNorm&>(*bn_node.op);
        const Tensor& a = bn.affine_scale();
        const Tensor& c = bn.affine_shift();
        Tensor w = layer.op->params().at("weight").clone();
        const int64_t out = w.dim(0), per = w.numel() / out;
        Tensor b({out});
        const bool had_bias = layer.op->params().count("bias") > 0;
        for (int64_t o = 0; o < out; ++o) {
            for (int64_t k = 0; k < per; ++k) w[o * per + k] *= a[o];
            b[o] = (had_bias ? layer.op->params().at("bias")[o] : 0.0f) * a[o] + c[o];
        }
        r.changes.push_back("merged BatchNorm '" + bn_node.name + "' into " + op_name(t) + " '" + layer.name + "'");
        const std::string output = bn_node.output;
        ed.set_op(p, with_parameters(*layer.op, w, b));
        ed.remove(i);
        ed.set_output(p, output);
    }
    r.graph = ed.build();
    return r;
}

}  // namespace relprop
