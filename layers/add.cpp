#include "layers/add.h"

#include "engine/backend.h"
#include "engine/error.h"

namespace relprop {

Shape Add::infer_shape(const std::vector<Shape>& inputs) const {
    if (inputs.at(0) != inputs.at(1))
        throw Error("Add needs inputs of equal shape (no broadcasting), got " + shape_str(inputs[0]) + " and " +
                    shape_str(inputs[1]));
    return inputs[0];
}

Tensor Add::forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params&) const {
    Tensor y = backend.empty(infer_shape({inputs.at(0).shape(), inputs.at(1).shape()}));
    backend.add(inputs[0], inputs[1], y);
    return y;
}

std::vector<Tensor> Add::transpose_with(Backend&, const std::vector<Shape>&, const Params&,
                                        const Tensor& grad_output) const {
    return {grad_output, grad_output};  // tensors are never written in place, so sharing is safe
}

}  // namespace relprop
