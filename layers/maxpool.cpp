#include "layers/maxpool.h"

#include "engine/backend.h"

namespace relprop {

MaxPool::MaxPool(PoolAttributes attributes) : m_attributes(attributes) {
    m_attributes.validate("MaxPool");
}

Shape MaxPool::infer_shape(const std::vector<Shape>& inputs) const {
    return m_attributes.output_shape(inputs.at(0), "MaxPool");
}

Tensor MaxPool::forward(Backend& backend, const std::vector<Tensor>& inputs) const {
    const Tensor& x = inputs.at(0);
    Tensor y = backend.empty(infer_shape({x.shape()}));
    backend.pool2d_forward(PoolKind::Max, x, m_attributes.geometry(x.shape()), y);
    return y;
}

std::vector<Tensor> MaxPool::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                      const Tensor& grad_output) const {
    const Tensor& x = inputs.at(0);
    Tensor gx = backend.empty(x.shape());
    backend.pool2d_backward(PoolKind::Max, x, grad_output, m_attributes.geometry(x.shape()), gx);
    return {gx};
}

}  // namespace relprop
