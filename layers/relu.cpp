#include "layers/relu.h"

#include "engine/backend.h"

namespace relprop {

Tensor Relu::forward(Backend& backend, const std::vector<Tensor>& inputs) const {
    Tensor y = backend.empty(inputs.at(0).shape());
    backend.relu(inputs[0], y);
    return y;
}

std::vector<Tensor> Relu::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                   const Tensor& grad_output) const {
    Tensor gx = backend.empty(inputs.at(0).shape());
    backend.relu_backward(inputs[0], grad_output, gx);
    return {gx};
}

}  // namespace relprop
