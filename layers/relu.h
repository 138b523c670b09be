// Relu: y = max(x, 0); its gradient passes where x > 0.
#pragma once

#include "engine/op.h"

namespace relprop {

class Relu final : public Op {
public:
    OpType type() const override { return OpType::Relu; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override { return inputs.at(0); }
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override;
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& grad_output) const override;
};

}  // namespace relprop
