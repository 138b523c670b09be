// Reshape and Flatten: the same values in another shape (no copy).
//   Reshape(target): ONNX Reshape with a constant shape; 0 copies the input's dimension (unless
//   allow_zero), one -1 is inferred.
//   Flatten(axis): [d0..d(axis-1)] x [d(axis)..] → 2-D (ONNX Flatten; negative axis counts from the end).
#pragma once

#include "engine/op.h"

namespace relprop {

class ShapeOp : public Op {
public:
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override;
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& grad_output) const override;
};

class Reshape final : public ShapeOp {
public:
    explicit Reshape(Shape target, bool allow_zero = false);

    OpType type() const override { return OpType::Reshape; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    std::string describe() const override { return "to " + shape_str(m_target); }

    const Shape& target() const { return m_target; }

private:
    Shape m_target;
    bool m_allow_zero;
};

class Flatten final : public ShapeOp {
public:
    explicit Flatten(int64_t axis = 1) : m_axis(axis) {}

    OpType type() const override { return OpType::Flatten; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    std::string describe() const override { return "axis=" + std::to_string(m_axis); }

private:
    int64_t m_axis;
};

}  // namespace relprop
