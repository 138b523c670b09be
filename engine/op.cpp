#include "engine/op.h"


namespace relprop {

std::vector<Tensor> LinearOp::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                       const Tensor& grad_output) const {
    std::vector<Shape> shapes;
    for (const Tensor& x : inputs) shapes.push_back(x.shape());
    return transpose_with(backend, shapes, m_params, grad_output);
}

}  // namespace relprop
