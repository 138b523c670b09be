// LayerNormalization (ONNX opset 17, stash_type 1): y = (x − μ)/√(σ² + ε)·γ + β, with μ and σ² the mean and
// (biased) variance over every axis from `axis` to the last, per position of the leading axes. γ ("scale") and
// the optional β ("bias") are constants that broadcast over the normalized axes only. Made by the importer
// and by the fuse-layernorm pass (the ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add arithmetic that
// PyTorch exports below opset 17). Composed of the generic reduce, broadcast-binary and unary kernels, so every
// backend runs it; the VJP is exact (through μ and σ).
#pragma once

#include "engine/op.h"

namespace relprop {

class LayerNorm final : public Op {
public:
    /// `axis` ≥ 1 (resolved against the input's rank); `bias` empty (no elements) means none.
    LayerNorm(int64_t axis, float epsilon, Tensor scale, Tensor bias = Tensor());

    OpType type() const override { return OpType::LayerNormalization; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override;
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& grad_output) const override;
    std::string describe() const override;

    int64_t axis() const { return m_axis; }
    float epsilon() const { return m_epsilon; }
    bool has_bias() const { return m_params.count("bias") > 0; }

    /// The statistics of input x: the centered x − μ, the standard deviation √(σ² + ε) (x's shape with the
    /// normalized axes of size 1) and the normalized x̂ = (x − μ)/√(σ² + ε).
    struct Statistics {
        Tensor centered, std, normalized;
    };
    Statistics statistics(Backend& backend, const Tensor& x) const;
    /// The transpose of the linear map x ↦ γ·(x − μ(x))/s with the standard deviation s held fixed at
    /// `stats.std`, applied to g: γg/s minus its mean over the normalized axes (the layernorm-identity rule).
    Tensor fixed_std_transpose(Backend& backend, const Statistics& stats, const Tensor& g) const;

private:
    // g's mean over the normalized axes (x's shape with those axes of size 1).
    Tensor normalized_mean(Backend& backend, const Tensor& g) const;

    int64_t m_axis;
    float m_epsilon;
};

}  // namespace relprop
