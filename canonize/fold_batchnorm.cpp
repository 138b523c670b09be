// fold-batchnorm: a BatchNorm (y = a·x + c per channel) whose output feeds only Conv/Linear layers is
// folded into them: W' = W·a over the input channels, b' = b + Σ W·c. A Conv that zero-pads its input
// sees padding zeros where the BatchNorm would have produced c, so it takes the fold only if c = 0.
#include "canonize/layer_weights.h"
#include "canonize/passes.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/linear.h"

namespace relprop {

namespace {

bool pads(const Conv& conv) {
    const ConvGeometry& g = conv.geometry();
    return g.pad_begin[0] || g.pad_begin[1] || g.pad_end[0] || g.pad_end[1];
}

// The layer reading y = a·x + c, rewritten to read x.
std::shared_ptr<const Op> fold_into(const Op& layer, const Tensor& a, const Tensor& c) {
    Tensor w = layer.params().at("weight").clone();
    const int64_t out = w.dim(0), per = w.numel() / out;
    Tensor b({out});
    const bool had_bias = layer.params().count("bias") > 0;
    const WeightChannels channel(layer);
    for (int64_t o = 0; o < out; ++o) {
        double bias = had_bias ? layer.params().at("bias")[o] : 0.0;
        for (int64_t k = 0; k < per; ++k) {
            const int64_t ch = channel(o, k);
            bias += static_cast<double>(w[o * per + k]) * c[ch];
            w[o * per + k] *= a[ch];
        }
        b[o] = static_cast<float>(bias);
    }
    return with_parameters(layer, w, b);
}

}  // namespace

PassResult fold_batchnorm(const Graph& graph) {
    GraphEditor ed(graph);
    PassResult r;
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        const EditNode& bn_node = ed.nodes()[i];
        if (bn_node.removed || bn_node.op->type() != OpType::BatchNorm || ed.is_graph_output(bn_node.output)) continue;
        const auto& bn = dynamic_cast<const BatchNorm&>(*bn_node.op);
        const std::vector<size_t> users = ed.consumers(bn_node.output);
        bool shift_zero = true;
        for (int64_t ch = 0; ch < bn.affine_shift().numel(); ++ch) shift_zero = shift_zero && bn.affine_shift()[ch] == 0.0f;
        bool foldable = !users.empty();
        for (size_t u : users) {
            const Op& op = *ed.nodes()[u].op;
            if (op.type() == OpType::Linear)
                foldable = foldable && ed.shape(bn_node.output).size() == 2;
            else if (op.type() == OpType::Conv)
                foldable = foldable && (shift_zero || !pads(dynamic_cast<const Conv&>(op)));
            else
                foldable = false;
        }
        if (!foldable) continue;
        for (size_t u : users) {
            ed.set_op(u, fold_into(*ed.nodes()[u].op, bn.affine_scale(), bn.affine_shift()));
            r.changes.push_back("folded BatchNorm '" + bn_node.name + "' into the following " +
                                op_name(ed.nodes()[u].op->type()) + " '" + ed.nodes()[u].name + "'");
        }
        const std::string from = bn_node.output, to = bn_node.inputs[0];
        ed.remove(i);
        ed.replace_uses(from, to);
    }
    r.graph = ed.build();
    return r;
}

}  // namespace relprop
