// MulUniform (opt-in, for products of two model values y = a·b): half of the relevance to each factor,
//     R_a = R_y / 2,  R_b = R_y / 2
// (each summed over the axes where that factor is broadcast), which conserves relevance exactly. This is
// AttnLRP's uniform rule for multiplicative gating (Achtibat et al., "AttnLRP: Attention-Aware Layer-wise
// Relevance Propagation for Transformers", ICML 2024: for y = Π_i x_i, R_i = R_y / N). A Mul by a
// constant gives its only input R_y (as Pass): the constant is not a factor that can hold relevance.
#include "layers/binary.h"
#include "rules/mul_rules.h"

namespace relprop {

namespace {

class MulUniformPropagator final : public NodePropagator {
public:
    std::vector<Tensor> propagate(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                  const Tensor& relevance) const override {
        if (inputs.size() == 1) return {relevance.reshaped(inputs[0].shape())};
        Tensor half = backend.empty(relevance.shape());
        backend.scale(relevance, 0.5f, half);
        return {reduce_to_shape(backend, half, inputs[0].shape()), reduce_to_shape(backend, half, inputs[1].shape())};
    }
};

class MulUniform final : public Rule {
public:
    std::string describe() const override { return "MulUniform()"; }
    std::unique_ptr<NodePropagator> prepare(const Op& op, Backend&) const override {
        require_mul(op, "mul-uniform");
        return std::make_unique<MulUniformPropagator>();
    }
};

}  // namespace

std::shared_ptr<const Rule> make_mul_uniform() { return std::make_shared<MulUniform>(); }

}  // namespace relprop
