// ReduceMean / ReduceSum over given axes (never the batch axis), keepdims or not. Linear-type, no parameters:
// the transpose broadcasts the gradient back over the reduced axes (÷ count for the mean). Over axes {2, 3}
// (H and W of NCHW: global average pooling) the op is a sum-pooling (Norm, like GlobalAvgPool); over any other
// axes (channels, the last axis of a channels-last LayerNorm) a reduction (the gradient).
#pragma once

#include "engine/op.h"

namespace relprop {

class Reduce final : public LinearOp {
public:
    /// `axes` non-negative (resolved against the input rank by the importer); empty = all but the batch.
    Reduce(bool mean, std::vector<int64_t> axes, bool keepdims);

    OpType type() const override { return m_mean ? OpType::ReduceMean : OpType::ReduceSum; }
    OpCategory category() const override;
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params& params) const override;
    std::vector<Tensor> transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params& params,
                                       const Tensor& grad_output) const override;
    std::string describe() const override;

    bool mean() const { return m_mean; }
    const std::vector<int64_t>& axes() const { return m_axes; }
    bool keepdims() const { return m_keepdims; }

private:
    Shape kept_shape(const Shape& x) const;  // x with the reduced axes set to 1

    bool m_mean;
    std::vector<int64_t> m_axes;
    bool m_keepdims;
};

}  // namespace relprop
