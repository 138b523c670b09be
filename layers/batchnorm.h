// BatchNorm (inference): y = (x − mean)/√(var + ε)·scale + bias per channel of [N, C, ...].
// Parameters: "scale", "bias", "mean", "var" (each [C]).
#pragma once

#include "engine/op.h"

namespace relprop {

class BatchNorm final : public Op {
public:
    BatchNorm(Tensor scale, Tensor bias, Tensor mean, Tensor var, float epsilon);

    OpType type() const override { return OpType::BatchNorm; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override;
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& grad_output) const override;
    std::string describe() const override;

    float epsilon() const { return m_epsilon; }
    // The equivalent per-channel affine map y = x·a + c.
    const Tensor& affine_scale() const { return m_a; }
    const Tensor& affine_shift() const { return m_c; }

private:
    float m_epsilon;
    Tensor m_a, m_c;
};

}  // namespace relprop
