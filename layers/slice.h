// Slice: x[starts:ends:steps] along some axes (never the batch axis), any non-zero step (ONNX Slice; Split is
// imported as one Slice per used output). The VJP scatters the gradient into zeros.
#pragma once

#include "engine/op.h"

namespace relprop {

struct SliceAxis {
    int64_t axis = 1;
    int64_t start = 0;  ///< resolved (clamped) against the input's size when the shape is known
    int64_t end = 0;
    int64_t step = 1;
};

class Slice final : public Op {
public:
    /// Starts/ends as ONNX gives them (negative from the end, clamped); axes non-negative, not 0.
    explicit Slice(std::vector<SliceAxis> axes);

    OpType type() const override { return OpType::Slice; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override;
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& grad_output) const override;
    std::string describe() const override;

    /// Per input axis: first index, step and count, for input shape `x`.
    struct Resolved {
        std::vector<int64_t> first, step, count;
    };
    Resolved resolve(const Shape& x) const;

private:
    std::vector<SliceAxis> m_axes;
};

}  // namespace relprop
