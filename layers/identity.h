// Identity: y = x (also ONNX Dropout at inference).
#pragma once

#include "engine/op.h"

namespace relprop {

class Identity final : public Op {
public:
    OpType type() const override { return OpType::Identity; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override { return inputs.at(0); }
    Tensor forward(Backend&, const std::vector<Tensor>& inputs) const override { return inputs.at(0); }
    std::vector<Tensor> backward(Backend&, const std::vector<Tensor>&, const Tensor&,
                                 const Tensor& grad_output) const override {
        return {grad_output};
    }
};

}  // namespace relprop
