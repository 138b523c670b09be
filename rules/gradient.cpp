// Gradient: the op's exact vector-Jacobian product (maxpool, concat, and any node without a rule).
#include "rules/rules.h"

namespace relprop {

namespace {

class GradientPropagator final : public NodePropagator {
public:
    explicit GradientPropagator(const Op& op) : m_op(op) {}
    std::vector<Tensor> propagate(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                  const Tensor& relevance) const override {
        return m_op.backward(backend, inputs, output, relevance);
    }

private:
    const Op& m_op;
};

class Gradient final : public Rule {
public:
    std::string describe() const override { return "Gradient()"; }
    std::unique_ptr<NodePropagator> prepare(const Op& op, Backend&) const override {
        return std::make_unique<GradientPropagator>(op);
    }
};

}  // namespace

std::shared_ptr<const Rule> make_gradient() {
    return std::make_shared<Gradient>();
}

}  // namespace relprop
