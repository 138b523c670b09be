// Add: elementwise sum of two model values (a residual addition), with numpy broadcasting. Linear-type, no
// parameters; its transpose sums the gradient over each input's broadcast axes.
#pragma once

#include "engine/op.h"

namespace relprop {

class Add final : public LinearOp {
public:
    OpType type() const override { return OpType::Add; }
    int arity() const override { return 2; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params& params) const override;
    std::vector<Tensor> transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params& params,
                                       const Tensor& grad_output) const override;
};

}  // namespace relprop
