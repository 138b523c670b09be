// MaxPool: 2-D max pooling (ONNX MaxPool incl. dilations and ceil_mode). Its gradient goes to the
// first maximum of each window.
#pragma once

#include "engine/op.h"
#include "layers/pool_geometry.h"

namespace relprop {

class MaxPool final : public Op {
public:
    explicit MaxPool(PoolAttributes attributes);

    OpType type() const override { return OpType::MaxPool; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override;
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& grad_output) const override;
    std::string describe() const override { return m_attributes.describe(); }

    const PoolAttributes& attributes() const { return m_attributes; }

private:
    PoolAttributes m_attributes;
};

}  // namespace relprop
