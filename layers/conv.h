// Conv: 2-D convolution (ONNX Conv): stride, explicit begin/end padding, dilation, groups.
// Parameters: "weight" [O, C/groups, KH, KW], optional "bias" [O].
#pragma once

#include <optional>

#include "engine/backend.h"
#include "engine/op.h"

namespace relprop {

class Conv final : public LinearOp {
public:
    Conv(Tensor weight, std::optional<Tensor> bias, ConvGeometry geometry);

    OpType type() const override { return OpType::Conv; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params& params) const override;
    std::vector<Tensor> transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params& params,
                                       const Tensor& grad_output) const override;
    std::string describe() const override;

    const ConvGeometry& geometry() const { return m_geometry; }

private:
    ConvGeometry m_geometry;
};

}  // namespace relprop
