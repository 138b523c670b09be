// MulSignal (opt-in, for gating products such as squeeze-excitation's y = s·g): the gate is treated as a
// constant, so the product is a linear map of the signal and all relevance goes to it:
//     R_s = R_y,  R_g = 0.
// The signal is the operand with more elements (the gate is the one broadcast: [N, C, H, W]·[N, C, 1, 1]);
// with equal sizes, the first input. A signal that is broadcast too gets R_y summed over its broadcast axes,
// so the rule conserves relevance exactly. A Mul by a constant gives its only input R_y (as Pass).
// Source: the gate-as-constant treatment of multiplicative gates in LRP for LSTMs (Arras et al., "Explaining
// recurrent neural network predictions in sentiment analysis", WASSA 2017; named "signal-take-all" in Arras et
// al., "Evaluating recurrent neural network explanations", BlackboxNLP 2019).
#include "layers/binary.h"
#include "rules/mul_rules.h"

namespace relprop {

namespace {

class MulSignalPropagator final : public NodePropagator {
public:
    std::vector<Tensor> propagate(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                  const Tensor& relevance) const override {
        if (inputs.size() == 1) return {relevance.reshaped(inputs[0].shape())};
        const size_t signal = signal_operand(inputs[0].shape(), inputs[1].shape());
        std::vector<Tensor> out(2);
        out[signal] = reduce_to_shape(backend, relevance, inputs[signal].shape());
        out[1 - signal] = backend.zeros(inputs[1 - signal].shape());
        return out;
    }
};

class MulSignal final : public Rule {
public:
    std::string describe() const override { return "MulSignal()"; }
    std::unique_ptr<NodePropagator> prepare(const Op& op, Backend&) const override {
        require_mul(op, "mul-signal");
        return std::make_unique<MulSignalPropagator>();
    }
};

}  // namespace

size_t signal_operand(const Shape& a, const Shape& b) { return shape_numel(b) > shape_numel(a) ? 1 : 0; }

std::shared_ptr<const Rule> make_mul_signal() { return std::make_shared<MulSignal>(); }

}  // namespace relprop
