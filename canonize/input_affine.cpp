// input-affine: the model's own input preprocessing — Keras' Rescaling (x·s [+ o]) and Normalization ((x − μ)/σ),
// which tf2onnx writes as a chain of Mul, Add/Sub and Div by scalar or per-channel constants (some already made
// BatchNorms by affine-to-batchnorm) straight after the graph input (after its Transpose in an NHWC export) —
// becomes one BatchNorm (y = x·a + c per channel: exact). A PyTorch model has this outside the model, so its first
// layer's relevance is the explanation; as a BatchNorm (normalization: Pass in the composites) the relevance
// reaches the input unchanged instead of being scaled by 1/255 and 1/σ through the elementwise ops' gradient.
// Each intermediate value must be read by the chain alone and be no graph output; a Div by a zero constant and
// a constant divided by the value (not affine) end the chain.
#include <optional>

#include "canonize/op_match.h"
#include "canonize/passes.h"
#include "layers/batchnorm.h"
#include "layers/binary.h"

namespace relprop {

namespace {

// y = x·a + c per channel.
struct Affine {
    std::vector<float> a, c;
};

// Composes `op` after `f` (f ← op ∘ f) if `op` is a per-channel affine map of a value of shape `x`; false if not.
bool compose(const Op& op, const Shape& x, Affine& f) {
    if (op.type() == OpType::BatchNorm) {
        const auto& bn = dynamic_cast<const BatchNorm&>(op);  // its affine map is [C]
        const Tensor &s = bn.affine_scale(), &t = bn.affine_shift();
        for (size_t k = 0; k < f.a.size(); ++k) {
            const auto i = static_cast<int64_t>(k);
            f.a[k] *= s[i], f.c[k] = f.c[k] * s[i] + t[i];
        }
        return true;
    }
    const auto* b = dynamic_cast<const Binary*>(&op);
    const Tensor* constant = b ? binary_constant(*b) : nullptr;
    if (!constant) return false;
    const auto v = per_channel(*constant, x);
    if (!v) return false;
    const bool constant_first = b->constant_index() == 0;
    for (size_t k = 0; k < f.a.size(); ++k) {
        const float e = (*v)[k];
        switch (b->kind()) {
        case BinaryKind::Mul: f.a[k] *= e, f.c[k] *= e; break;
        case BinaryKind::Add: f.c[k] += e; break;
        case BinaryKind::Sub:  // x − e, or e − x
            if (constant_first)
                f.a[k] = -f.a[k], f.c[k] = e - f.c[k];
            else
                f.c[k] -= e;
            break;
        case BinaryKind::Div:  // x / e only
            if (constant_first || e == 0.0f) return false;
            f.a[k] /= e, f.c[k] /= e;
            break;
        default: return false;
        }
    }
    return true;
}

}  // namespace

PassResult input_affine(const Graph& graph) {
    GraphEditor ed(graph);
    PassResult r;
    for (const int input : graph.inputs()) {
        std::string value = graph.values()[static_cast<size_t>(input)].name;
        // An NHWC export: cancel-transposes has left one Transpose on the input; the preprocessing follows it.
        if (ed.single_use(value)) {
            const size_t t = ed.consumers(value)[0];
            if (ed.nodes()[t].op->type() == OpType::Transpose) value = ed.nodes()[t].output;
        }
        const Shape& x = ed.shape(value);
        if (x.size() < 2) continue;
        Affine f{std::vector<float>(static_cast<size_t>(x[1]), 1.0f), std::vector<float>(static_cast<size_t>(x[1]), 0.0f)};
        std::vector<size_t> chain;
        while (ed.single_use(value)) {
            const size_t next = ed.consumers(value)[0];
            const EditNode& n = ed.nodes()[next];
            if (ed.shape(n.output) != x || !compose(*n.op, x, f)) break;
            chain.push_back(next);
            value = n.output;
        }
        // Nothing to do: no chain, or a BatchNorm alone (already what this pass makes).
        if (chain.empty() || (chain.size() == 1 && ed.nodes()[chain[0]].op->type() == OpType::BatchNorm)) continue;
        const int64_t channels = x[1];
        Tensor ones({channels});
        for (int64_t k = 0; k < channels; ++k) ones[k] = 1.0f;
        auto bn = std::make_shared<BatchNorm>(Tensor({channels}, f.a), Tensor({channels}, f.c), Tensor({channels}),
                                              ones, 0.0f);
        std::string names;
        for (size_t k : chain)
            names += (names.empty() ? "" : ", ") + std::string(op_name(ed.nodes()[k].op->type())) + " '" +
                     ed.nodes()[k].name + "'";
        r.changes.push_back("input preprocessing " + names + " became BatchNorm '" + ed.nodes()[chain[0]].name + "'");
        for (size_t k = chain.size(); k-- > 1;) ed.remove(chain[k]);
        ed.set_op(chain[0], bn);
        if (chain.size() > 1) ed.set_output(chain[0], value);
    }
    r.graph = ed.build();
    return r;
}

}  // namespace relprop
