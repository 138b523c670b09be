// densenet (the "ThreshReLU" canonization): BatchNorm → ReLU → … → Conv/Linear, as DenseNet has after
// every concat and before the classifier. With the BatchNorm y = s·x + t per channel,
//   ReLU(s·x + t) = g · max(0, σ·x + t/g),   g = |s|, σ = sign(s)   (s ≠ 0)
//   ReLU(t)       = max(0, 0·x + t),         g = 1                  (s = 0)
// so BatchNorm+ReLU become one ChannelRelu(σ, t/g) and g (> 0) moves into the input channels of the
// Conv/Linear layers that read the ReLU — directly, or through max/average pooling, flatten and
// identity, which commute with a positive per-channel scale. Exact: no forward change.
#include <cmath>

#include "canonize/layer_weights.h"
#include "canonize/passes.h"
#include "layers/batchnorm.h"
#include "layers/channel_relu.h"
#include "layers/conv.h"
#include "layers/linear.h"

namespace relprop {

namespace {

struct Terminal {
    size_t node;
    int64_t inner;  // for a Linear: input features per channel (after a flatten), else 0
};

// The Conv/Linear layers `value` reaches through scale-commuting ops, or false if it reaches anything else.
// Depth first with an explicit stack (a chain of 10^5 pooling nodes must not overflow the call stack),
// visiting the layers in the order a recursive walk would.
bool collect(const GraphEditor& ed, const std::string& value, int64_t inner, std::vector<Terminal>& out) {
    struct Frame {
        std::string value;
        int64_t inner;
        std::vector<size_t> users;
        size_t next = 0;
    };
    auto open = [&](const std::string& v, int64_t in, std::vector<Frame>& stack) {
        std::vector<size_t> users = ed.consumers(v);
        if (users.empty() || ed.is_graph_output(v)) return false;
        stack.push_back({v, in, std::move(users), 0});
        return true;
    };
    std::vector<Frame> stack;
    if (!open(value, inner, stack)) return false;
    while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.next == f.users.size()) {
            stack.pop_back();
            continue;
        }
        const size_t u = f.users[f.next++];
        const EditNode& n = ed.nodes()[u];
        const Shape& s = ed.shape(f.value);
        switch (n.op->type()) {
            case OpType::Conv: out.push_back({u, 0}); break;
            case OpType::Linear:
                if (s.size() != 2) return false;
                out.push_back({u, f.inner});
                break;
            case OpType::MaxPool:
            case OpType::AvgPool:
            case OpType::GlobalAvgPool:
            case OpType::Identity:
                if (s.size() != 4 || !open(n.output, f.inner, stack)) return false;
                break;
            case OpType::Flatten:
                if (s.size() != 4 || ed.shape(n.output) != Shape{s[0], s[1] * s[2] * s[3]} ||
                    !open(n.output, s[2] * s[3], stack))
                    return false;
                break;
            default: return false;
        }
    }
    return true;
}

// The layer with its input channel ch scaled by g[ch].
std::shared_ptr<const Op> scale_inputs(const Op& layer, const Tensor& g, int64_t inner) {
    Tensor w = layer.params().at("weight").clone();
    std::optional<Tensor> b;
    if (layer.params().count("bias")) b = layer.params().at("bias");
    const int64_t out = w.dim(0), per = w.numel() / out;
    const WeightChannels channel(layer, inner > 0 ? inner : 1);
    for (int64_t o = 0; o < out; ++o)
        for (int64_t k = 0; k < per; ++k) w[o * per + k] *= g[channel(o, k)];
    return with_parameters(layer, w, b);
}

}  // namespace

PassResult densenet_threshold_relu(const Graph& graph) {
    GraphEditor ed(graph);
    PassResult r;
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        const EditNode& bn_node = ed.nodes()[i];
        if (bn_node.removed || bn_node.op->type() != OpType::BatchNorm || ed.is_graph_output(bn_node.output)) continue;
        const std::vector<size_t> bn_users = ed.consumers(bn_node.output);
        if (bn_users.size() != 1 || ed.nodes()[bn_users[0]].op->type() != OpType::Relu) continue;
        const size_t relu_index = bn_users[0];
        const EditNode& relu = ed.nodes()[relu_index];
        std::vector<Terminal> terminals;
        if (!collect(ed, relu.output, ed.shape(relu.output).size() == 2 ? 1 : 0, terminals)) continue;

        const auto& bn = dynamic_cast<const BatchNorm&>(*bn_node.op);
        const int64_t channels = bn.affine_scale().numel();
        Tensor slope({channels}), shift({channels}), g({channels});
        for (int64_t ch = 0; ch < channels; ++ch) {
            const float s = bn.affine_scale()[ch], t = bn.affine_shift()[ch];
            g[ch] = s != 0.0f ? std::abs(s) : 1.0f;
            slope[ch] = s > 0.0f ? 1.0f : s < 0.0f ? -1.0f : 0.0f;
            shift[ch] = t / g[ch];
        }
        for (const Terminal& t : terminals) ed.set_op(t.node, scale_inputs(*ed.nodes()[t.node].op, g, t.inner));
        std::string into;
        for (const Terminal& t : terminals) into += (into.empty() ? "'" : ", '") + ed.nodes()[t.node].name + "'";
        r.changes.push_back("BatchNorm '" + bn_node.name + "' + Relu '" + relu.name + "' became ChannelRelu '" +
                            relu.name + "'; the BatchNorm scale moved into " + into);
        const std::string bn_input = bn_node.inputs[0];
        ed.set_op(relu_index, std::make_shared<ChannelRelu>(slope, shift));
        ed.remove(i);
        ed.set_inputs(relu_index, {bn_input});
    }
    r.graph = ed.build();
    return r;
}

}  // namespace relprop
