// Linear: y = x·Wᵀ + b for x [N, K], "weight" W [M, K], optional "bias" b [M]; an input [N, ..., K] (a MatMul
// over the last axis of a channels-last tensor, as ConvNeXt's pointwise convs) is the same map on its rows
// [N·…, K] (a view, no copy), so every rule for linear layers applies unchanged.
// ONNX Gemm (transA=0, any transB, alpha, beta, bias C broadcast to [M]) and MatMul with a constant
// right-hand side are both expressed as Linear; the factories fold their attributes exactly.
#pragma once

#include <memory>
#include <optional>

#include "engine/op.h"

namespace relprop {

class Linear final : public LinearOp {
public:
    Linear(Tensor weight, std::optional<Tensor> bias);

    OpType type() const override { return OpType::Linear; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params& params) const override;
    std::vector<Tensor> transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params& params,
                                       const Tensor& grad_output) const override;
    std::string describe() const override;
};

// Gemm: Y = alpha·A·B' + beta·C with A the input [N, K], B' = Bᵀ if trans_b else B, C broadcastable to
// [M] (scalar, [M] or [1, M]); C may be absent.
std::shared_ptr<Linear> make_gemm(const Tensor& b, const std::optional<Tensor>& c, bool trans_b, float alpha,
                                  float beta);
// MatMul with a constant right-hand side B [K, M].
std::shared_ptr<Linear> make_matmul(const Tensor& b);

}  // namespace relprop
