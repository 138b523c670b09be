// Pad: constant zero padding of the spatial axes of [N, C, H, W] (ONNX Pad, mode "constant", value 0).
// A linear-type op without parameters; its transpose is the slice back. The ONNX importer folds a Pad
// into the following Conv (or count_include_pad AveragePool) where that is exact.
#pragma once

#include <array>

#include "engine/op.h"

namespace relprop {

class Pad final : public LinearOp {
public:
    /// Pads are 0 ≤ pad ≤ kMaxPad (2^31, as every integer attribute).
    Pad(std::array<int64_t, 2> pad_begin, std::array<int64_t, 2> pad_end);
    static constexpr int64_t kMaxPad = int64_t{1} << 31;

    OpType type() const override { return OpType::Pad; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params& params) const override;
    std::vector<Tensor> transpose_with(Backend& backend, const std::vector<Shape>& input_shapes, const Params& params,
                                       const Tensor& grad_output) const override;
    std::string describe() const override;

    const std::array<int64_t, 2>& pad_begin() const { return m_begin; }
    const std::array<int64_t, 2>& pad_end() const { return m_end; }

private:
    std::array<int64_t, 2> m_begin, m_end;
};

}  // namespace relprop
