// Pass: the relevance goes through unchanged (relu, batchnorm, identity, flatten). It takes any single-input op,
// so it is also the rule for scaling by a constant (Mul or Div with one constant operand: a layer scale, a
// normalization by a constant): `--rule Mul=pass` keeps each element's relevance where it is, which is LRP's
// answer for a diagonal linear map without bias (ε-LRP on y = c·x gives R_x = x·c·R/(c·x) = R). On a Mul of
// two model values it is an Error (use mul-signal or mul-uniform there).
#include "relprop/error.hpp"
#include "rules/rules.h"

namespace relprop {

namespace {

class PassPropagator final : public NodePropagator {
public:
    std::vector<Tensor> propagate(Backend&, const std::vector<Tensor>& inputs, const Tensor&,
                                  const Tensor& relevance) const override {
        return {relevance.reshaped(inputs.at(0).shape())};
    }
};

class Pass final : public Rule {
public:
    std::string describe() const override { return "Pass()"; }
    std::unique_ptr<NodePropagator> prepare(const Op& op, Backend&) const override {
        if (op.arity() != 1)
            throw Error(std::string("rule Pass applies only to single-input ops, not to ") + op_name(op.type()));
        return std::make_unique<PassPropagator>();
    }
};

}  // namespace

std::shared_ptr<const Rule> make_pass() {
    return std::make_shared<Pass>();
}

}  // namespace relprop
