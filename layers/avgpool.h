// AvgPool: 2-D average pooling (ONNX AveragePool: count_include_pad, ceil_mode), and
// GlobalAvgPool: the mean over all spatial positions, [N, C, H, W] → [N, C, 1, 1].
// Both are linear-type ops without parameters.
#pragma once

#include "engine/op.h"
#include "layers/pool_geometry.h"

namespace relprop {

class AvgPool final : public LinearOp {
public:
    AvgPool(PoolAttributes attributes, bool count_include_pad);

    OpType type() const override { return OpType::AvgPool; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params& params) const override;
    std::vector<Tensor> transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params& params,
                                       const Tensor& grad_output) const override;
    std::string describe() const override;

    const PoolAttributes& attributes() const { return m_attributes; }
    bool count_include_pad() const { return m_count_include_pad; }

private:
    PoolAttributes m_attributes;
    bool m_count_include_pad;
};

class GlobalAvgPool final : public LinearOp {
public:
    OpType type() const override { return OpType::GlobalAvgPool; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params& params) const override;
    std::vector<Tensor> transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params& params,
                                       const Tensor& grad_output) const override;
};

}  // namespace relprop
