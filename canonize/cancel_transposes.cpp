// cancel-transposes: the Transposes tf2onnx leaves in Keras exports (NHWC ↔ NCHW) removed or folded, so the
// graph runs NCHW inside and its layers are what a PyTorch export of the same model has. In order:
//  1. carried to the input: a Transpose whose input comes from the graph input through shape-agnostic
//     elementwise ops (activations without parameters, Binary by a constant) moves in front of them (their
//     constants permuted), so it reads the graph input and everything after it runs in the permuted layout;
//  2. Transpose pairs: Transpose(q)∘Transpose(p) is removed where it is the identity, else becomes one;
//  3. a Transpose that only moves axes of size 1 (NCHW [N,C,1,1] → NHWC [N,1,1,C]) is a Reshape;
//  4. chained reshapes (Reshape/Flatten/Squeeze) become one Reshape; a Reshape of a GlobalAveragePool's
//     [N,C,1,1] output to [N,C] (a Squeeze) becomes a Flatten;
//  5. a Transpose → Flatten/Reshape to [N,K] → Linear is folded exactly by permuting the Linear weight's
//     columns (tf2onnx's NCHW→NHWC Transpose before Keras' Flatten → Dense).
// Every rewrite is exact (a permutation of values or weights; no arithmetic).
#include <algorithm>
#include <numeric>

#include "canonize/passes.h"
#include "relprop/error.hpp"
#include "engine/strided.h"
#include "layers/binary.h"
#include "layers/linear.h"
#include "layers/reshape.h"
#include "layers/transpose.h"

namespace relprop {

namespace {

const std::vector<int64_t>* perm_of(const EditNode& n) {
    const auto* t = dynamic_cast<const Transpose*>(n.op.get());
    return t ? &t->perm() : nullptr;
}

bool is_identity(const std::vector<int64_t>& perm) {
    for (size_t d = 0; d < perm.size(); ++d)
        if (perm[d] != static_cast<int64_t>(d)) return false;
    return true;
}

// Row-major offset in `shape` of each element of the permuted tensor (shape[perm[d]] along d), in order.
std::vector<int64_t> permuted_offsets(const Shape& shape, const std::vector<int64_t>& perm) {
    const std::vector<int64_t> strides = row_major_strides(shape);
    Shape dims(perm.size());
    for (size_t d = 0; d < perm.size(); ++d) dims[d] = shape[perm[d]];
    std::vector<int64_t> out(static_cast<size_t>(shape_numel(shape)));
    std::vector<int64_t> idx(dims.size(), 0);
    for (size_t i = 0; i < out.size(); ++i) {
        int64_t o = 0;
        for (size_t d = 0; d < dims.size(); ++d) o += idx[d] * strides[perm[d]];
        out[i] = o;
        for (int d = static_cast<int>(dims.size()) - 1; d >= 0 && ++idx[d] == dims[d]; --d) idx[d] = 0;
    }
    return out;
}

// The op `op` (an elementwise op reading one model value) applied after a Transpose(perm) instead of before
// it, or null if it cannot move: activations without parameters move as they are, a Binary by a constant
// with its constant permuted.
std::shared_ptr<const Op> moved_through(const std::shared_ptr<const Op>& op, const std::vector<int64_t>& perm) {
    if (op->arity() != 1) return nullptr;
    if (op->category() == OpCategory::Activation && op->params().empty()) return op;
    const auto* b = dynamic_cast<const Binary*>(op.get());
    if (!b || b->constant_index() < 0) return nullptr;
    const Tensor& c = b->params().at("constant");
    const Shape padded = left_padded(c.shape(), perm.size());
    if (padded.size() != perm.size()) return nullptr;
    const Tensor flat = c.reshaped(padded);
    Shape dims(perm.size());
    for (size_t d = 0; d < perm.size(); ++d) dims[d] = padded[perm[d]];
    Tensor moved(dims);
    const std::vector<int64_t> src = permuted_offsets(padded, perm);
    for (size_t i = 0; i < src.size(); ++i) moved[static_cast<int64_t>(i)] = flat[src[i]];
    return std::make_shared<Binary>(b->type(), b->kind(), moved, b->constant_index());
}

// 1. Transposes fed from the graph input through movable elementwise ops, carried to the input.
void carry_to_input(GraphEditor& ed, PassResult& r) {
    for (size_t t = 0; t < ed.nodes().size(); ++t) {
        const EditNode& tn = ed.nodes()[t];
        const auto* perm = tn.removed ? nullptr : perm_of(tn);
        if (!perm) continue;
        std::vector<size_t> chain;  // from the Transpose back towards the input
        std::vector<std::shared_ptr<const Op>> moved;
        std::string v = tn.inputs[0];
        int p = ed.producer(v);
        while (p >= 0 && ed.use_count(v) == 1 && !ed.is_graph_output(v)) {
            auto m = moved_through(ed.nodes()[p].op, *perm);
            if (!m) break;
            chain.push_back(static_cast<size_t>(p));
            moved.push_back(std::move(m));
            v = ed.nodes()[p].inputs[0];
            p = ed.producer(v);
        }
        if (chain.empty() || p >= 0) continue;  // not reached from the graph input
        // Positions stay; the ops shift by one: the first position (reading the input) becomes the Transpose,
        // each later one the op before it, the Transpose's position the last op.
        std::reverse(chain.begin(), chain.end());
        std::reverse(moved.begin(), moved.end());
        chain.push_back(t);
        const std::string transpose_name = tn.name;
        const std::shared_ptr<const Op> transpose_op = tn.op;
        std::vector<std::string> names;
        for (size_t k : chain) names.push_back(ed.nodes()[k].name);
        ed.set_op(chain[0], transpose_op);
        ed.set_name(chain[0], transpose_name);
        for (size_t k = 1; k < chain.size(); ++k) {
            ed.set_op(chain[k], moved[k - 1]);
            ed.set_name(chain[k], names[k - 1]);
        }
        r.changes.push_back("Transpose '" + transpose_name + "' carried to the input over " +
                            std::to_string(moved.size()) + " elementwise node(s)");
    }
}

// 2. Transpose pairs.
void cancel_pairs(GraphEditor& ed, PassResult& r) {
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        const EditNode& second = ed.nodes()[i];
        const auto* q = second.removed ? nullptr : perm_of(second);
        if (!q) continue;
        const int p = ed.producer(second.inputs[0]);
        if (p < 0) continue;
        const EditNode& first = ed.nodes()[p];
        const auto* pp = perm_of(first);
        if (!pp || pp->size() != q->size()) continue;
        std::vector<int64_t> composed(q->size());
        for (size_t d = 0; d < q->size(); ++d) composed[d] = (*pp)[(*q)[d]];
        const std::string x = first.inputs[0], first_out = first.output, second_name = second.name;
        const std::string first_name = first.name;
        if (is_identity(composed)) {
            const std::string out = second.output;
            ed.remove(i);
            ed.replace_uses(out, x);
            r.changes.push_back("Transposes '" + first_name + "' and '" + second_name + "' cancel: removed");
        } else {
            ed.set_op(i, std::make_shared<Transpose>(composed));
            ed.set_inputs(i, {x});
            r.changes.push_back("Transposes '" + first_name + "' and '" + second_name + "' became one");
        }
        if (ed.use_count(first_out) == 0 && !ed.is_graph_output(first_out)) ed.remove(static_cast<size_t>(p));
    }
}

// Output shape of `op` on `x` with batch 1 and with batch 2: whether the batch stays axis 0 and nothing else
// depends on it.
bool batch_first(const Op& op, Shape x) {
    try {
        const Shape one = op.infer_shape({x});
        x[0] = 2;
        Shape two = op.infer_shape({x});
        if (one.empty() || two.empty() || one[0] != 1 || two[0] != 2) return false;
        two[0] = 1;
        return one == two;
    } catch (const std::exception&) {
        return false;
    }
}

bool is_reshape(OpType t) { return t == OpType::Reshape || t == OpType::Flatten; }

// 3 and 4. Transposes of size-1 axes, chained reshapes, a Squeeze after GlobalAveragePool.
void reshapes(GraphEditor& ed, PassResult& r) {
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        const EditNode& n = ed.nodes()[i];
        if (n.removed) continue;
        if (const auto* perm = perm_of(n)) {
            const Shape& x = ed.shape(n.inputs[0]);
            std::vector<int64_t> kept;  // the axes of size > 1 (and the batch), in their new order
            for (int64_t a : *perm)
                if (a == 0 || x[a] != 1) kept.push_back(a);
            if (!std::is_sorted(kept.begin(), kept.end())) continue;
            Shape target = ed.shape(n.output);
            target[0] = 0;
            ed.set_op(i, std::make_shared<Reshape>(target));
            r.changes.push_back("Transpose '" + n.name + "' moves only axes of size 1: a Reshape");
        }
    }
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        const EditNode& n = ed.nodes()[i];
        if (n.removed || !is_reshape(n.op->type())) continue;
        // Walk back over single-use reshapes to the first value that is not one's output.
        std::string x = n.inputs[0];
        std::vector<size_t> absorbed;
        for (int p = ed.producer(x); p >= 0 && is_reshape(ed.nodes()[p].op->type()) && ed.use_count(x) == 1 &&
                                     !ed.is_graph_output(x);
             p = ed.producer(x)) {
            absorbed.push_back(static_cast<size_t>(p));
            x = ed.nodes()[p].inputs[0];
        }
        const int src = ed.producer(x);
        const bool after_gap = src >= 0 && ed.nodes()[src].op->type() == OpType::GlobalAvgPool;
        const Shape& out = ed.shape(n.output);
        if (absorbed.empty() && !(after_gap && n.op->type() == OpType::Reshape && out.size() == 2)) continue;
        Shape target = out;
        target[0] = 0;
        std::shared_ptr<const Op> op = std::make_shared<Reshape>(target);
        if (after_gap && out.size() == 2) op = std::make_shared<Flatten>(1);
        if (!batch_first(*op, ed.shape(x)) || op->infer_shape({ed.shape(x)}) != out) continue;
        const std::string name = n.name;
        ed.set_op(i, op);
        ed.set_inputs(i, {x});
        for (size_t k : absorbed) {
            r.changes.push_back("Reshape '" + ed.nodes()[k].name + "' merged into '" + name + "'");
            ed.remove(k);
        }
        if (after_gap && out.size() == 2) r.changes.push_back("'" + name + "' after a GlobalAveragePool: a Flatten");
    }
}

// 5. Transpose → Flatten/Reshape to [N, K] → Linear: the Linear reads the flattened untransposed value with
// its weight's columns permuted.
void fold_into_linear(GraphEditor& ed, PassResult& r) {
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        const EditNode& lin = ed.nodes()[i];
        if (lin.removed || lin.op->type() != OpType::Linear) continue;
        const int f = ed.producer(lin.inputs[0]);
        if (f < 0 || !is_reshape(ed.nodes()[f].op->type())) continue;
        const EditNode& flat = ed.nodes()[f];
        if (ed.use_count(flat.output) != 1 || ed.is_graph_output(flat.output) || ed.shape(flat.output).size() != 2) continue;
        const int t = ed.producer(flat.inputs[0]);
        if (t < 0 || !perm_of(ed.nodes()[t])) continue;
        const EditNode& tr = ed.nodes()[t];
        if (ed.use_count(tr.output) != 1 || ed.is_graph_output(tr.output)) continue;
        const std::vector<int64_t> perm = *perm_of(tr);
        const Shape& x = ed.shape(tr.inputs[0]);
        const auto flatten = std::make_shared<Flatten>(1);
        if (!batch_first(*ed.nodes()[f].op, ed.shape(flat.inputs[0])) || !batch_first(*flatten, x)) continue;
        // Column k of the transposed, flattened value is column src[k] of the flattened input.
        const std::vector<int64_t> src = permuted_offsets(x, perm);
        const Tensor& w = lin.op->params().at("weight");
        const int64_t m = w.dim(0), k = w.dim(1);
        if (static_cast<int64_t>(src.size()) != k) continue;
        Tensor permuted({m, k});
        for (int64_t o = 0; o < m; ++o)
            for (int64_t c = 0; c < k; ++c) permuted[o * k + src[c]] = w[o * k + c];
        std::optional<Tensor> bias;
        if (lin.op->params().count("bias")) bias = lin.op->params().at("bias");
        r.changes.push_back("Transpose '" + tr.name + "' before '" + flat.name + "' folded into the weight of Linear '" +
                            lin.name + "'");
        const std::string xin = tr.inputs[0];
        ed.set_op(i, std::make_shared<Linear>(permuted, bias));
        ed.set_op(static_cast<size_t>(f), flatten);
        ed.set_inputs(static_cast<size_t>(f), {xin});
        ed.remove(static_cast<size_t>(t));
    }
}

}  // namespace

PassResult cancel_transposes(const Graph& graph) {
    // Each step on the graph the previous one built, so the shapes it reads are current.
    PassResult r{graph, {}};
    for (void (*step)(GraphEditor&, PassResult&) : {carry_to_input, cancel_pairs, reshapes, fold_into_linear}) {
        GraphEditor ed(r.graph);
        step(ed, r);
        r.graph = ed.build();
    }
    return r;
}

}  // namespace relprop
