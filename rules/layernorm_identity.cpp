// LayerNorm-identity (opt-in, for LayerNormalization nodes): the normalization factor is treated as a
// constant, so the op is the linear map it is at this input, and the ε-rule passes through it.
//
// With μ(x) the mean over the normalized axes (D elements), s = √(σ²(x) + ε_LN) held fixed at the forward
// input's value, y_j = γ_j·(x_j − μ(x))/s + β_j = Σ_i A_ji x_i + β_j with A_ji = γ_j·(δ_ij − 1/D)/s. LRP-ε on
// that linear layer (bias β in the denominator, as for any layer with a bias):
//     R_i = x_i · Σ_j A_ji · R_j / stab_ε(y_j),
// computed as x ⊙ (h − mean(h)) with h = γ ⊙ (R / stab_ε(y)) / s (LayerNorm::fixed_std_transpose).
// Conservation: Σ_i R_i = Σ_j (y_j − β_j) R_j / stab_ε(y_j) — exact up to the bias β and the stabilizer ε.
//
// Source: A. Ali, T. Schnake, O. Eberle, G. Montavon, K.-R. Müller, L. Wolf, "XAI for Transformers: Better
// Explanations through Conservative Propagation", ICML 2022 (§3, LN: detach √(Var + ε) in the forward pass,
// "LRP (LN)"); R. Achtibat et al., "AttnLRP: Attention-Aware Layer-Wise Relevance Propagation for
// Transformers", ICML 2024 (the identity rule on the normalization; LayerNorm as a linear layer). zennit maps
// no rule to LayerNorm (autograd's gradient), which is relprop's default too; this rule is chosen with
// `--rule LayerNormalization=layernorm-identity` (or by node name).
#include "engine/backend.h"
#include "relprop/error.hpp"
#include "layers/layer_norm.h"
#include "rules/basic_rule.h"
#include "rules/rules.h"

namespace relprop {

namespace {

class LayerNormIdentityPropagator final : public NodePropagator {
public:
    LayerNormIdentityPropagator(const LayerNorm& op, float epsilon) : m_op(op), m_epsilon(epsilon) {}
    std::vector<Tensor> propagate(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                  const Tensor& relevance) const override {
        const Tensor& x = inputs.at(0);
        Tensor s = backend.empty(output.shape());
        backend.stabilized_divide(relevance, output, m_epsilon, s);
        const Tensor g = m_op.fixed_std_transpose(backend, m_op.statistics(backend, x), s);
        Tensor r = backend.empty(x.shape());
        backend.mul(x, g, r);
        return {r};
    }

private:
    const LayerNorm& m_op;
    float m_epsilon;
};

class LayerNormIdentity final : public Rule {
public:
    explicit LayerNormIdentity(float epsilon) : m_epsilon(epsilon) {}
    std::string describe() const override { return "LayerNormIdentity(epsilon=" + format_number(m_epsilon) + ")"; }
    std::unique_ptr<NodePropagator> prepare(const Op& op, Backend&) const override {
        const auto* ln = dynamic_cast<const LayerNorm*>(&op);
        if (!ln)
            throw Error(std::string("rule layernorm-identity applies only to LayerNormalization nodes, not to ") +
                        op_name(op.type()));
        return std::make_unique<LayerNormIdentityPropagator>(*ln, m_epsilon);
    }

private:
    float m_epsilon;
};

}  // namespace

std::shared_ptr<const Rule> make_layernorm_identity(float epsilon) {
    return std::make_shared<LayerNormIdentity>(epsilon);
}

}  // namespace relprop
