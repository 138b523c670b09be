// Pad: constant zero padding of two adjacent axes of a 4-D value (ONNX Pad, mode "constant", value 0): H and W of
// [N, C, H, W] (axis 2, the default), or of a channels-last [N, H, W, C] (axis 1: tf2onnx leaves Keras'
// ZeroPadding2D so where it keeps a block in NHWC, as in MobileNetV3). A linear-type op without parameters; its
// transpose is the slice back. The ONNX importer folds an axis-2 Pad into the following Conv (or
// count_include_pad AveragePool) where that is exact.
#pragma once

#include <array>

#include "engine/op.h"

namespace relprop {

class Pad final : public LinearOp {
public:
    /// Pads are 0 ≤ pad ≤ kMaxPad (2^31, as every integer attribute).
    /// `axis`: the first of the two padded axes, 2 (NCHW) or 1 (NHWC).
    Pad(std::array<int64_t, 2> pad_begin, std::array<int64_t, 2> pad_end, int axis = 2);
    static constexpr int64_t kMaxPad = int64_t{1} << 31;

    OpType type() const override { return OpType::Pad; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params& params) const override;
    std::vector<Tensor> transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params& params,
                                       const Tensor& grad_output) const override;
    std::string describe() const override;

    const std::array<int64_t, 2>& pad_begin() const { return m_begin; }
    const std::array<int64_t, 2>& pad_end() const { return m_end; }
    int axis() const { return m_axis; }

private:
    std::array<int64_t, 2> m_begin, m_end;
    int m_axis;
};

}  // namespace relprop
