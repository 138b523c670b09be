// fuse-layernorm: the LayerNorm arithmetic PyTorch exports below opset 17 (nn.LayerNorm, F.layer_norm, and so
// torchvision's ConvNeXt LayerNorm2d between its two Transposes)
//   μ = ReduceMean(x), d = x − μ, v = ReduceMean(Pow(d, 2)), y = d / Sqrt(v + ε) [· γ] [+ β]
// becomes one LayerNormalization node (axis a, ε, γ, β). Both ReduceMeans must keep dims and reduce exactly
// the axes a, a+1, …, last (LayerNormalization normalizes from an axis to the end: ConvNeXt's channels-first
// LayerNorm, a mean over axis 1 of NCHW, is left as it is); γ and β must be constants that broadcast over the
// normalized axes only; the square may be Pow(d, 2) or d·d; every intermediate value is read by the pattern
// alone (d by the square and the division) and is no graph output. The fused op computes the same float
// operations in the same order (layers/layer_norm.cpp), so the forward function does not change.
#include <numeric>

#include "canonize/graph_editor.h"
#include "canonize/op_match.h"
#include "canonize/passes.h"
#include "layers/layer_norm.h"
#include "layers/reduce.h"

namespace relprop {

namespace {

// The node making `value` if it is a keepdims ReduceMean of `input` (any input if empty), else -1.
int mean_node(const GraphEditor& ed, const std::string& value, const std::string& input = "") {
    const int p = ed.producer(value);
    if (p < 0 || ed.nodes()[p].op->type() != OpType::ReduceMean) return -1;
    const auto& r = dynamic_cast<const Reduce&>(*ed.nodes()[p].op);
    if (!r.keepdims() || (!input.empty() && ed.nodes()[p].inputs[0] != input)) return -1;
    return p;
}

// The first normalized axis if `axes` are a, a+1, ..., rank−1 with a ≥ 1, else -1.
int64_t trailing_axis(const std::vector<int64_t>& axes, size_t rank) {
    if (axes.empty() || axes.back() != static_cast<int64_t>(rank) - 1 || axes.front() < 1) return -1;
    for (size_t k = 1; k < axes.size(); ++k)
        if (axes[k] != axes[k - 1] + 1) return -1;
    return axes.front();
}

// Whether a constant broadcasts over the normalized axes [axis, rank) of `shape` only.
bool broadcasts_over_normalized(const Tensor& c, const Shape& shape, int64_t axis) {
    if (c.shape().size() > shape.size() || c.device() != Device::CPU) return false;
    const Shape p = left_padded(c.shape(), shape.size());
    for (size_t d = 0; d < shape.size(); ++d) {
        if (static_cast<int64_t>(d) < axis ? p[d] != 1 : (p[d] != 1 && p[d] != shape[d])) return false;
    }
    return true;
}

// The constant of the Binary of `type` that alone reads `value`, shaped as the normalized axes (its leading
// 1s dropped), with the node; an empty tensor if there is none.
Tensor affine_after(const GraphEditor& ed, const std::string& value, OpType type, const Shape& shape, int64_t axis,
                    size_t& node) {
    if (!ed.single_use(value)) return {};
    node = ed.consumers(value).at(0);
    const Binary* b = as_binary(*ed.nodes()[node].op, type);
    const Tensor* c = b ? binary_constant(*b) : nullptr;
    if (!c || !broadcasts_over_normalized(*c, shape, axis)) return {};
    const Shape padded = left_padded(c->shape(), shape.size());
    return c->reshaped(Shape(padded.begin() + axis, padded.end()));
}

}  // namespace

PassResult fuse_layernorm(const Graph& graph) {
    GraphEditor ed(graph);
    PassResult r;
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        // Anchored at the division d / √(v + ε).
        const EditNode& div = ed.nodes()[i];
        const Binary* dv = as_binary(*div.op, OpType::Div);
        if (div.removed || !dv || dv->constant_index() >= 0) continue;
        const std::string& d = div.inputs[0];
        const std::string& sd = div.inputs[1];
        const int sub = ed.producer(d), sqrt = ed.producer(sd);
        if (sub < 0 || sqrt < 0 || !activation_fn(*ed.nodes()[sqrt].op, OpType::Sqrt) || !ed.single_use(sd)) continue;
        const Binary* sb = as_binary(*ed.nodes()[sub].op, OpType::Sub);
        if (!sb || sb->constant_index() >= 0 || ed.is_graph_output(d)) continue;
        const std::string x = ed.nodes()[sub].inputs[0];
        const std::string& mu = ed.nodes()[sub].inputs[1];
        const int mean1 = mean_node(ed, mu, x);
        if (mean1 < 0 || !ed.single_use(mu)) continue;
        // √(v + ε): v + ε, then v = ReduceMean(d²) over the same axes.
        const std::string& ve = ed.nodes()[sqrt].inputs[0];
        const int add_eps = ed.producer(ve);
        if (add_eps < 0 || !ed.single_use(ve)) continue;
        const Binary* ab = as_binary(*ed.nodes()[add_eps].op, OpType::AddConstant);
        const Tensor* eps = ab ? binary_constant(*ab) : nullptr;
        if (!eps || eps->numel() != 1 || eps->device() != Device::CPU || !((*eps)[0] >= 0.0f)) continue;
        const std::string& v = ed.nodes()[add_eps].inputs[0];
        const int mean2 = mean_node(ed, v);
        if (mean2 < 0 || !ed.single_use(v)) continue;
        const std::string& sq = ed.nodes()[mean2].inputs[0];
        const int square = ed.producer(sq);
        if (square < 0 || !ed.single_use(sq)) continue;
        const EditNode& sqn = ed.nodes()[square];
        const UnaryFn* pw = activation_fn(*sqn.op, OpType::Pow);
        const Binary* mm = as_binary(*sqn.op, OpType::Mul);
        const bool squares_d = (pw && pw->alpha == 2.0f && sqn.inputs[0] == d) ||
                               (mm && mm->constant_index() < 0 && sqn.inputs[0] == d && sqn.inputs[1] == d);
        // d is read by the square (twice for d·d) and the division, and by nothing else.
        if (!squares_d || ed.use_count(d) != (pw ? 2u : 3u)) continue;
        const auto& r1 = dynamic_cast<const Reduce&>(*ed.nodes()[mean1].op);
        const auto& r2 = dynamic_cast<const Reduce&>(*ed.nodes()[mean2].op);
        const Shape& shape = ed.shape(x);
        const int64_t axis = trailing_axis(r1.axes(), shape.size());
        if (axis < 0 || r2.axes() != r1.axes()) continue;
        // Optional γ (Mul by a constant) and β (Add of a constant) after the division.
        std::vector<size_t> chain = {static_cast<size_t>(mean1), static_cast<size_t>(sub), static_cast<size_t>(square),
                                     static_cast<size_t>(mean2), static_cast<size_t>(add_eps), static_cast<size_t>(sqrt), i};
        Tensor scale({1}, {1.0f}), bias;
        size_t node = 0;
        if (Tensor g = affine_after(ed, div.output, OpType::Mul, shape, axis, node); g.numel() > 0) {
            scale = g;
            chain.push_back(node);
        }
        if (Tensor b = affine_after(ed, ed.nodes()[chain.back()].output, OpType::AddConstant, shape, axis, node);
            b.numel() > 0) {
            bias = b;
            chain.push_back(node);
        }
        const size_t last = chain.back();
        chain.pop_back();
        auto ln = std::make_shared<LayerNorm>(axis, (*eps)[0], scale, bias);
        r.changes.push_back("fused the LayerNorm arithmetic from ReduceMean '" + ed.nodes()[mean1].name + "' to '" +
                            ed.nodes()[last].name + "' (" + std::to_string(chain.size() + 1) +
                            " nodes) into LayerNormalization '" + ed.nodes()[last].name + "' (" + ln->describe() + ")");
        ed.fuse(last, ln, {x}, chain);
    }
    r.graph = ed.build();
    return r;
}

}  // namespace relprop
