#include "layers/linear.h"
#include "io/onnx_node.h"
#include "layers/op_registry.h"

#include "engine/backend.h"
#include "relprop/error.hpp"

namespace relprop {

Linear::Linear(Tensor weight, std::optional<Tensor> bias) {
    if (weight.rank() != 2) throw Error("Linear weight must be 2-D [M, K], got " + shape_str(weight.shape()));
    if (bias && bias->shape() != Shape{weight.dim(0)})
        throw Error("Linear bias must have shape [" + std::to_string(weight.dim(0)) + "], got " +
                    shape_str(bias->shape()));
    m_params["weight"] = std::move(weight);
    if (bias) m_params["bias"] = std::move(*bias);
}

Shape Linear::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape& x = inputs.at(0);
    const Shape& w = m_params.at("weight").shape();
    if (x.size() < 2)
        throw Error("Linear expects an input [N, " + std::to_string(w[1]) + "] or [N, ..., " + std::to_string(w[1]) +
                    "], got " + shape_str(x));
    if (x.back() != w[1])
        throw Error("Linear expects " + std::to_string(w[1]) + " input features on the last axis (weight " + shape_str(w) +
                    "), got " + shape_str(x));
    Shape y = x;
    y.back() = w[0];
    return y;
}

namespace {

// [N, ..., K] as rows [N·…, K]: the N-D case is the same Linear over the last axis.
Tensor as_rows(const Tensor& t) { return t.reshaped({t.numel() / t.shape().back(), t.shape().back()}); }

}  // namespace

Tensor Linear::forward_with(Backend& backend, const std::vector<Tensor>& inputs, const Params& params) const {
    const Shape out = infer_shape({inputs.at(0).shape()});
    const Tensor x = as_rows(inputs[0]);
    Tensor y = backend.empty({x.dim(0), out.back()});
    auto bias = params.find("bias");
    backend.linear_forward(x, params.at("weight"), bias == params.end() ? nullptr : &bias->second, y);
    return y.reshaped(out);
}

std::vector<Tensor> Linear::transpose_with(Backend& backend, const std::vector<Shape>& input_shapes,
                                           const Params& params, const Tensor& grad_output) const {
    const Tensor gy = as_rows(grad_output);
    Tensor gx = backend.empty({gy.dim(0), input_shapes.at(0).back()});
    backend.linear_backward_data(gy, params.at("weight"), gx);
    return {gx.reshaped(input_shapes[0])};
}

std::string Linear::describe() const {
    const Shape& w = m_params.at("weight").shape();
    return std::to_string(w[1]) + "->" + std::to_string(w[0]) + (m_params.count("bias") ? "" : " no-bias");
}

std::shared_ptr<Linear> make_gemm(const Tensor& b, const std::optional<Tensor>& c, bool trans_b, float alpha,
                                  float beta) {
    if (b.rank() != 2) throw Error("Gemm: B must be 2-D, got " + shape_str(b.shape()));
    const int64_t m = trans_b ? b.dim(0) : b.dim(1), k = trans_b ? b.dim(1) : b.dim(0);
    Tensor w({m, k});
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < k; ++j) w[i * k + j] = alpha * (trans_b ? b[i * k + j] : b[j * m + i]);
    std::optional<Tensor> bias;
    if (c && beta != 0.0f) {
        const Shape& cs = c->shape();
        const bool scalar = c->numel() == 1 && (cs.empty() || cs == Shape{1} || cs == Shape{1, 1});
        if (!scalar && cs != Shape{m} && cs != Shape{1, m})
            throw Error("Gemm: C of shape " + shape_str(cs) + " does not broadcast to [" + std::to_string(m) +
                        "] (per-sample C is not supported)");
        bias = Tensor({m});
        for (int64_t i = 0; i < m; ++i) (*bias)[i] = beta * (*c)[scalar ? 0 : i];
    }
    return std::make_shared<Linear>(std::move(w), std::move(bias));
}

std::shared_ptr<Linear> make_matmul(const Tensor& b) {
    return make_gemm(b, std::nullopt, false, 1.0f, 0.0f);
}


namespace {

void import_linear(OnnxNode& n) {
    if (n.op_type() == "Gemm") {
        if (n.attr_int("transA", 0) != 0) throw Error("Gemm with transA=1 is not supported");
        const Tensor b = n.parameter(1, "B");
        std::optional<Tensor> c;
        if (n.has_input(2)) c = n.parameter(2, "C");
        const float alpha = n.attr_float("alpha", 1.0f), beta = n.attr_float("beta", 1.0f);
        auto linear = make_gemm(b.rank() == 2 ? b : b.reshaped({b.numel(), 1}), c, n.attr_int("transB", 0) != 0,
                                alpha, beta);
        n.require_finite_folded(linear->params().at("weight"), "alpha * B (alpha = " + std::to_string(alpha) + ")");
        if (linear->params().count("bias"))
            n.require_finite_folded(linear->params().at("bias"), "beta * C (beta = " + std::to_string(beta) + ")");
        return n.emit(linear, {n.runtime_input(0)});
    }
    if (!n.is_constant(1))
        throw Error("MatMul of two model values is not supported (the right-hand side must be a constant [K, M])");
    const Tensor b = n.parameter(1, "B (the right-hand side)");
    if (b.rank() != 2) throw Error("MatMul needs a 2-D constant right-hand side [K, M], got " + shape_str(b.shape()));
    n.emit(make_matmul(b), {n.runtime_input(0)});
}

}  // namespace

RELPROP_REGISTER_OP(Linear) {
    return OpInfo{
        .type = OpType::Linear,
        .name = "Linear",
        .category = OpCategory::Linear,
        .kernels = Kernel::Linear | Kernel::Elementwise,
        .onnx = {{"Gemm"}, {"MatMul"}},
        .import = import_linear,
        .samples = []() -> std::vector<OpSample> {
            auto make = [](int64_t m, int64_t k, bool bias) {
                Tensor w({m, k}), b({m});
                for (int64_t i = 0; i < w.numel(); ++i) w[i] = 0.25f * static_cast<float>(i % 7) - 0.7f;
                for (int64_t i = 0; i < m; ++i) b[i] = 0.1f * static_cast<float>(i) - 0.2f;
                return std::make_shared<Linear>(w, bias ? std::optional<Tensor>(b) : std::nullopt);
            };
            return {{"Linear [3,5]->4 with bias", make(4, 5, true), {{3, 5}}},
                    {"Linear channels-last [2,3,4,5]->6 (N-D MatMul)", make(6, 5, false), {{2, 3, 4, 5}}},
                    {"Linear [2,7,5]->3 with bias (N-D)", make(3, 5, true), {{2, 7, 5}}}};
        },
    };
}

}  // namespace relprop
