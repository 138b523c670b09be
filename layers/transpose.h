// Transpose: any permutation of the axes that keeps the batch axis first (ONNX Transpose; default: reversed
// axes after the batch is refused unless it keeps axis 0). Its VJP is the inverse permutation.
#pragma once

#include "engine/op.h"

namespace relprop {

class Transpose final : public Op {
public:
    explicit Transpose(std::vector<int64_t> perm);

    OpType type() const override { return OpType::Transpose; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override;
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& grad_output) const override;
    std::string describe() const override { return "perm=" + shape_str(m_perm); }

    const std::vector<int64_t>& perm() const { return m_perm; }

private:
    std::vector<int64_t> m_perm;
};

/// y = x with its axes permuted: y.shape[d] = x.shape[perm[d]].
Tensor permute(Backend& backend, const Tensor& x, const std::vector<int64_t>& perm);

}  // namespace relprop
