// Concat: joins one or more tensors along an axis (negative axes count from the end). Its reverse
// pass is the exact slice.
#pragma once

#include "engine/op.h"

namespace relprop {

class Concat final : public Op {
public:
    explicit Concat(int64_t axis) : m_axis(axis) {}

    OpType type() const override { return OpType::Concat; }
    int arity() const override { return -1; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override;
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& grad_output) const override;
    std::string describe() const override { return "axis=" + std::to_string(m_axis); }

    int64_t axis() const { return m_axis; }

private:
    // The axis in [0, rank).
    size_t resolved_axis(size_t rank) const;

    int64_t m_axis;
};

}  // namespace relprop
