#include "layers/batchnorm.h"
#include "io/onnx_node.h"
#include "layers/op_registry.h"

#include <cmath>

#include "engine/backend.h"
#include "relprop/error.hpp"

namespace relprop {

BatchNorm::BatchNorm(Tensor scale, Tensor bias, Tensor mean, Tensor var, float epsilon) : m_epsilon(epsilon) {
    const int64_t c = scale.numel();
    for (const auto* p : {&scale, &bias, &mean, &var})
        if (p->rank() != 1 || p->numel() != c)
            throw Error("BatchNorm parameters must all have shape [" + std::to_string(c) + "], got " +
                        shape_str(p->shape()));
    if (!(epsilon >= 0.0f)) throw Error("BatchNorm epsilon must be >= 0");
    m_a = Tensor({c});
    m_c = Tensor({c});
    for (int64_t i = 0; i < c; ++i) {
        const double denom = std::sqrt(static_cast<double>(var[i]) + epsilon);
        if (!(denom > 0.0))
            throw Error("BatchNorm channel " + std::to_string(i) + " has var + epsilon <= 0 (var=" +
                        std::to_string(var[i]) + ")");
        const double a = scale[i] / denom;
        m_a[i] = static_cast<float>(a);
        m_c[i] = static_cast<float>(bias[i] - mean[i] * a);
    }
    m_params["scale"] = std::move(scale);
    m_params["bias"] = std::move(bias);
    m_params["mean"] = std::move(mean);
    m_params["var"] = std::move(var);
}

Shape BatchNorm::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape& x = inputs.at(0);
    if (x.size() < 2 || x[1] != m_a.numel())
        throw Error("BatchNorm expects an input [N, " + std::to_string(m_a.numel()) + ", ...], got " + shape_str(x));
    return x;
}

Tensor BatchNorm::forward(Backend& backend, const std::vector<Tensor>& inputs) const {
    Tensor y = backend.empty(inputs.at(0).shape());
    backend.channel_affine(inputs[0], m_a, &m_c, y);
    return y;
}

std::vector<Tensor> BatchNorm::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                        const Tensor& grad_output) const {
    Tensor gx = backend.empty(inputs.at(0).shape());
    backend.channel_affine(grad_output, m_a, nullptr, gx);
    return {gx};
}

std::string BatchNorm::describe() const {
    return "c=" + std::to_string(m_a.numel()) + " eps=" + std::to_string(m_epsilon);
}


namespace {

void import_batchnorm(OnnxNode& n) {
    n.only_first_output();
    if (n.attr_int("training_mode", 0) != 0) throw Error("BatchNormalization in training mode is not supported");
    auto bn = std::make_shared<BatchNorm>(n.parameter(1, "scale"), n.parameter(2, "B"), n.parameter(3, "mean"),
                                          n.parameter(4, "var"), n.attr_float("epsilon", 1e-5f));
    n.require_finite_folded(bn->affine_scale(), "scale / sqrt(var + epsilon)");
    n.require_finite_folded(bn->affine_shift(), "B - mean * scale / sqrt(var + epsilon)");
    n.emit(bn, {n.runtime_input(0)});
}

}  // namespace

RELPROP_REGISTER_OP(BatchNorm) {
    return OpInfo{
        .type = OpType::BatchNorm,
        .name = "BatchNorm",
        .category = OpCategory::Normalization,
        .kernels = Kernel::Elementwise,
        .onnx = {{"BatchNormalization"}},
        .import = import_batchnorm,
    };
}

}  // namespace relprop
