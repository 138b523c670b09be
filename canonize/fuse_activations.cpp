// fuse-activations: the activations PyTorch exports as arithmetic become one activation node, so that the
// activation gets its composite's rule as a whole, as zennit's module hooks see nn.SiLU, nn.Hardswish, nn.GELU:
//   x·Sigmoid(x)                         → Silu       (either operand order)
//   x·HardSigmoid(x), α = 1/6, β = ½     → HardSwish  (nn.Hardswish below opset 14; either order)
//   x·Clip(x + 3, 0, 6)·(1/6)            → HardSwish  (Keras 3's hard_swish, x·relu6(x + 3)/6, as tf2onnx writes
//                                                      it: the /6 a Mul by 1/6; the factors in any order)
//   ½·x·(1 + erf(x/√2))                  → Gelu       (nn.GELU below opset 20: Div by √2 or Mul by 1/√2, Erf,
//                                                      Add 1, and two Muls with x and ½ in any order)
// Only where every intermediate value is read by the pattern alone and is no graph output; a gate of another
// value (squeeze-excitation: x·σ(f(x))) is a product of two different values and stays as it is.
#include <cmath>
#include <vector>

#include "canonize/graph_editor.h"
#include "canonize/op_match.h"
#include "canonize/passes.h"

namespace relprop {

namespace {

// x·f(x) with f an Activation of `type` whose output only this Mul reads: the activation's node, or -1.
int gate_of_same_value(const GraphEditor& ed, const EditNode& mul, OpType type, std::string& x) {
    const Binary* b = as_binary(*mul.op, OpType::Mul);
    if (!b || b->constant_index() >= 0 || mul.inputs[0] == mul.inputs[1]) return -1;
    for (int k = 0; k < 2; ++k) {
        const std::string& gate = mul.inputs[k];
        const int p = ed.producer(gate);
        if (p < 0 || !activation_fn(*ed.nodes()[p].op, type) || !ed.single_use(gate)) continue;
        if (ed.nodes()[p].inputs[0] != mul.inputs[1 - k]) continue;
        x = mul.inputs[1 - k];
        return p;
    }
    return -1;
}

// The factors of a product rooted at Mul node `root`: model values and the product of scalar constants,
// expanding operands made by single-use Muls. False if a factor is a non-scalar constant.
bool product_factors(const GraphEditor& ed, size_t root, std::vector<std::string>& values, double& constant,
                     std::vector<size_t>& muls) {
    const Binary* b = as_binary(*ed.nodes()[root].op, OpType::Mul);
    if (!b) return false;
    muls.push_back(root);
    if (const Tensor* c = binary_constant(*b)) {
        if (c->numel() != 1 || c->device() != Device::CPU) return false;
        constant *= (*c)[0];
    }
    for (const std::string& in : ed.nodes()[root].inputs) {
        const int p = ed.producer(in);
        if (p >= 0 && ed.single_use(in) && as_binary(*ed.nodes()[p].op, OpType::Mul)) {
            if (!product_factors(ed, static_cast<size_t>(p), values, constant, muls)) return false;
        } else {
            values.push_back(in);
        }
    }
    return true;
}

// 1 + erf(x/√2) with single-use intermediates: fills x and the nodes (Add, Erf, Div or Mul) on success.
bool erf_term(const GraphEditor& ed, const std::string& value, std::string& x, std::vector<size_t>& nodes) {
    const int add = ed.producer(value);
    if (add < 0 || !ed.single_use(value)) return false;
    const Binary* a = as_binary(*ed.nodes()[add].op, OpType::AddConstant);
    if (!a || !is_scalar(binary_constant(*a), 1.0)) return false;
    const std::string& e = ed.nodes()[add].inputs[0];
    const int erf = ed.producer(e);
    if (erf < 0 || !ed.single_use(e) || !activation_fn(*ed.nodes()[erf].op, OpType::Erf)) return false;
    const std::string& s = ed.nodes()[erf].inputs[0];
    const int scale = ed.producer(s);
    if (scale < 0 || !ed.single_use(s)) return false;
    const Op& op = *ed.nodes()[scale].op;
    const Binary* div = as_binary(op, OpType::Div);
    const Binary* mul = as_binary(op, OpType::Mul);
    const bool by_sqrt2 = (div && div->constant_index() == 1 && is_scalar(binary_constant(*div), std::sqrt(2.0))) ||
                          (mul && is_scalar(binary_constant(*mul), std::sqrt(0.5)));
    if (!by_sqrt2) return false;
    x = ed.nodes()[scale].inputs[0];
    nodes = {static_cast<size_t>(add), static_cast<size_t>(erf), static_cast<size_t>(scale)};
    return true;
}

// Node `root` (a Mul) computes ½·x·(1 + erf(x/√2)): fills x and the other nodes of the pattern.
bool gelu_pattern(const GraphEditor& ed, size_t root, std::string& x, std::vector<size_t>& others) {
    std::vector<std::string> values;
    std::vector<size_t> muls;
    double constant = 1.0;
    if (!product_factors(ed, root, values, constant, muls) || values.size() != 2 || muls.size() != 2) return false;
    if (std::abs(constant - 0.5) > 1e-7) return false;
    for (int k = 0; k < 2; ++k) {
        std::vector<size_t> nodes;
        std::string erf_x;
        if (!erf_term(ed, values[k], erf_x, nodes) || erf_x != values[1 - k]) continue;
        x = erf_x;
        others = nodes;
        for (size_t m : muls)
            if (m != root) others.push_back(m);
        return true;
    }
    return false;
}

// Node `root` (a Mul) computes x·Clip(x + 3, 0, 6)·(1/6): fills x and the other nodes of the pattern.
bool relu6_hard_swish_pattern(const GraphEditor& ed, size_t root, std::string& x, std::vector<size_t>& others) {
    std::vector<std::string> values;
    std::vector<size_t> muls;
    double constant = 1.0;
    if (!product_factors(ed, root, values, constant, muls) || values.size() != 2 || muls.size() != 2) return false;
    if (std::abs(constant - 1.0 / 6.0) > 1e-7) return false;
    for (int k = 0; k < 2; ++k) {
        const int clip = ed.producer(values[k]);
        if (clip < 0 || !ed.single_use(values[k])) continue;
        const UnaryFn* f = activation_fn(*ed.nodes()[clip].op, OpType::Clip);
        if (!f || f->alpha != 0.0f || f->beta != 6.0f) continue;
        const std::string& shifted = ed.nodes()[clip].inputs[0];
        const int add = ed.producer(shifted);
        if (add < 0 || !ed.single_use(shifted)) continue;
        const Binary* a = as_binary(*ed.nodes()[add].op, OpType::AddConstant);
        if (!a || !is_scalar(binary_constant(*a), 3.0) || ed.nodes()[add].inputs[0] != values[1 - k]) continue;
        x = values[1 - k];
        others = {static_cast<size_t>(clip), static_cast<size_t>(add)};
        for (size_t m : muls)
            if (m != root) others.push_back(m);
        return true;
    }
    return false;
}

}  // namespace

PassResult fuse_activations(const Graph& graph) {
    GraphEditor ed(graph);
    PassResult r;
    for (size_t i = 0; i < ed.nodes().size(); ++i) {
        const EditNode& n = ed.nodes()[i];
        if (n.removed || n.op->type() != OpType::Mul) continue;
        std::string x;
        std::vector<size_t> others;
        std::shared_ptr<const Op> fused;
        if (const int s = gate_of_same_value(ed, n, OpType::Sigmoid, x); s >= 0) {
            fused = std::make_shared<Activation>(OpType::Silu, UnaryFn{UnaryKind::Silu});
            others = {static_cast<size_t>(s)};
        } else if (const int h = gate_of_same_value(ed, n, OpType::HardSigmoid, x); h >= 0) {
            const UnaryFn& f = *activation_fn(*ed.nodes()[h].op, OpType::HardSigmoid);
            if (std::abs(f.alpha - 1.0 / 6.0) > 1e-6 || f.beta != 0.5f) continue;
            fused = std::make_shared<Activation>(OpType::HardSwish, UnaryFn{UnaryKind::HardSwish});
            others = {static_cast<size_t>(h)};
        } else if (relu6_hard_swish_pattern(ed, i, x, others)) {
            fused = std::make_shared<Activation>(OpType::HardSwish, UnaryFn{UnaryKind::HardSwish});
        } else if (gelu_pattern(ed, i, x, others)) {
            fused = std::make_shared<Activation>(OpType::Gelu, UnaryFn{UnaryKind::Gelu});
        } else {
            continue;
        }
        std::string names;
        for (size_t o : others) names += (names.empty() ? "'" : ", '") + ed.nodes()[o].name + "'";
        r.changes.push_back(std::string("fused ") + names + " and Mul '" + n.name + "' into " + op_name(fused->type()) +
                            " '" + n.name + "'");
        ed.fuse(i, fused, {x}, others);
    }
    r.graph = ed.build();
    return r;
}

}  // namespace relprop
