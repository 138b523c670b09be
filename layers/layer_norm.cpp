#include "layers/layer_norm.h"

#include <cmath>
#include <sstream>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/binary.h"
#include "layers/op_registry.h"

namespace relprop {

LayerNorm::LayerNorm(int64_t axis, float epsilon, Tensor scale, Tensor bias) : m_axis(axis), m_epsilon(epsilon) {
    if (axis < 1) throw Error("LayerNormalization over the batch axis (axis " + std::to_string(axis) + ") is not supported");
    if (!(epsilon >= 0.0f) || !std::isfinite(epsilon))
        throw Error("LayerNormalization: epsilon must be a finite number ≥ 0, got " + std::to_string(epsilon));
    m_params["scale"] = std::move(scale);
    if (bias.numel() > 0) m_params["bias"] = std::move(bias);
}

Shape LayerNorm::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape& x = inputs.at(0);
    const int64_t rank = static_cast<int64_t>(x.size());
    if (m_axis >= rank)
        throw Error("LayerNormalization: axis " + std::to_string(m_axis) + " is out of range for input " + shape_str(x));
    const Shape normalized(x.begin() + m_axis, x.end());
    for (const char* name : {"scale", "bias"}) {
        if (!m_params.count(name)) continue;
        const Shape& p = m_params.at(name).shape();
        bool ok = p.size() <= normalized.size();
        const Shape padded = left_padded(p, normalized.size());
        for (size_t d = 0; ok && d < normalized.size(); ++d) ok = padded[d] == 1 || padded[d] == normalized[d];
        if (!ok)
            throw Error(std::string("LayerNormalization: the ") + name + " " + shape_str(p) +
                        " does not broadcast to the normalized axes " + shape_str(normalized) + " of input " + shape_str(x) +
                        " (axis " + std::to_string(m_axis) + ")");
    }
    return x;
}

Tensor LayerNorm::normalized_mean(Backend& backend, const Tensor& g) const {
    Shape kept = g.shape();
    int64_t count = 1;
    for (size_t d = static_cast<size_t>(m_axis); d < kept.size(); ++d) count *= kept[d], kept[d] = 1;
    Tensor m = backend.empty(kept);
    backend.reduce_sum(g, m);
    backend.scale(m, 1.0f / static_cast<float>(count), m);
    return m;
}

LayerNorm::Statistics LayerNorm::statistics(Backend& backend, const Tensor& x) const {
    // The same float operations as the exported arithmetic (mean, x − μ, (x − μ)², mean, + ε, √, ÷), so
    // fuse-layernorm keeps the forward function to the last bit where the kernels accumulate alike.
    Statistics s;
    s.centered = broadcast_binary(backend, BinaryKind::Sub, x, normalized_mean(backend, x));
    Tensor sq = backend.empty(x.shape());
    backend.mul(s.centered, s.centered, sq);
    Tensor var = normalized_mean(backend, sq);
    s.std = broadcast_binary(backend, BinaryKind::Add, var, Tensor({}, {m_epsilon}));
    backend.unary({UnaryKind::Sqrt}, s.std, s.std);
    s.normalized = broadcast_binary(backend, BinaryKind::Div, s.centered, s.std);
    return s;
}

Tensor LayerNorm::forward(Backend& backend, const std::vector<Tensor>& inputs) const {
    Tensor y = broadcast_binary(backend, BinaryKind::Mul, statistics(backend, inputs.at(0)).normalized,
                                m_params.at("scale"));
    return has_bias() ? broadcast_binary(backend, BinaryKind::Add, y, m_params.at("bias")) : y;
}

std::vector<Tensor> LayerNorm::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                        const Tensor& gy) const {
    // gx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / √(σ² + ε) with ĝ = γ·gy, means over the normalized axes.
    const Statistics s = statistics(backend, inputs.at(0));
    const Tensor gn = broadcast_binary(backend, BinaryKind::Mul, gy, m_params.at("scale"));
    Tensor p = backend.empty(gn.shape());
    backend.mul(gn, s.normalized, p);
    Tensor t = broadcast_binary(backend, BinaryKind::Sub, gn, normalized_mean(backend, gn));
    const Tensor u = broadcast_binary(backend, BinaryKind::Mul, s.normalized, normalized_mean(backend, p));
    backend.multiply_accumulate(u, nullptr, -1.0f, t);
    return {broadcast_binary(backend, BinaryKind::Div, t, s.std)};
}

Tensor LayerNorm::fixed_std_transpose(Backend& backend, const Statistics& stats, const Tensor& g) const {
    Tensor h = broadcast_binary(backend, BinaryKind::Mul, g, m_params.at("scale"));
    h = broadcast_binary(backend, BinaryKind::Div, h, stats.std);
    return broadcast_binary(backend, BinaryKind::Sub, h, normalized_mean(backend, h));
}

std::string LayerNorm::describe() const {
    std::ostringstream out;
    out << "axis=" << m_axis << " epsilon=" << m_epsilon << (has_bias() ? "" : " no bias");
    return out.str();
}

namespace {

void import_layer_norm(OnnxNode& n) {
    if (n.input_count() < 2) throw Error("LayerNormalization needs the inputs X and Scale");
    if (n.output_used(1) || n.output_used(2))
        throw Error("LayerNormalization: the outputs Mean and InvStdDev are not supported (only Y may be used)");
    const int64_t stash = n.attr_int("stash_type", 1);
    if (stash != 1)
        throw Error("LayerNormalization: stash_type=" + std::to_string(stash) + " is not supported (only 1, float32)");
    const std::string& x = n.runtime_input(0);
    const int64_t rank = static_cast<int64_t>(n.shape(x).size());
    const int64_t axis = normalize_axes({n.attr_int("axis", -1)}, rank, "LayerNormalization axis").at(0);
    if (!n.is_constant(1)) throw Error("LayerNormalization: Scale must be a constant (an initializer)");
    Tensor scale = n.parameter(1, "Scale").reshaped(n.constant_shape(1, "Scale"));
    Tensor bias;
    if (n.has_input(2)) {
        if (!n.is_constant(2)) throw Error("LayerNormalization: B must be a constant (an initializer)");
        bias = n.parameter(2, "B").reshaped(n.constant_shape(2, "B"));
    }
    n.emit(std::make_shared<LayerNorm>(axis, n.attr_float("epsilon", 1e-5f), scale, bias), {x});
}

// Plain loops in double precision: per position of the leading axes, mean and variance over the rest.
RefArray layer_norm_reference(const Op& op, const std::vector<RefArray>& inputs) {
    const auto& ln = dynamic_cast<const LayerNorm&>(op);
    const RefArray& x = inputs.at(0);
    const Shape normalized(x.shape.begin() + ln.axis(), x.shape.end());
    const int64_t inner = shape_numel(normalized), outer = static_cast<int64_t>(x.v.size()) / inner;
    // The element of a parameter broadcast to the normalized axes, at flat normalized index j.
    auto param = [&](const char* name, int64_t j) -> double {
        const Tensor& p = op.params().at(name);
        const Shape ps = left_padded(p.shape(), normalized.size());
        int64_t index = 0, rest = j, stride = inner;
        for (size_t d = 0; d < normalized.size(); ++d) {
            stride /= normalized[d];
            const int64_t i = rest / stride;
            rest %= stride;
            index = index * ps[d] + (ps[d] == 1 ? 0 : i);
        }
        return p[index];
    };
    RefArray y{x.shape, std::vector<double>(x.v.size())};
    for (int64_t o = 0; o < outer; ++o) {
        const double* xs = x.v.data() + o * inner;
        double mean = 0.0, var = 0.0;
        for (int64_t j = 0; j < inner; ++j) mean += xs[j];
        mean /= static_cast<double>(inner);
        for (int64_t j = 0; j < inner; ++j) var += (xs[j] - mean) * (xs[j] - mean);
        var /= static_cast<double>(inner);
        const double s = std::sqrt(var + double{ln.epsilon()});
        for (int64_t j = 0; j < inner; ++j)
            y.v[o * inner + j] = (xs[j] - mean) / s * param("scale", j) + (ln.has_bias() ? param("bias", j) : 0.0);
    }
    return y;
}

Tensor sample_param(const Shape& shape, float base, float step) {
    Tensor t(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = base + step * static_cast<float>(i % 5);
    return t;
}

std::vector<OpSample> layer_norm_samples() {
    auto ln = [](int64_t axis, float eps, const Shape& scale, const Shape& bias) {
        return std::make_shared<LayerNorm>(axis, eps, sample_param(scale, 0.5f, 0.25f),
                                           bias.empty() ? Tensor() : sample_param(bias, -0.3f, 0.2f));
    };
    return {
        {"LayerNormalization last axis [2,3,5]", ln(2, 1e-5f, {5}, {5}), {{2, 3, 5}}},
        {"LayerNormalization channels-last [2,4,3,6]", ln(3, 1e-6f, {6}, {6}), {{2, 4, 3, 6}}},
        {"LayerNormalization axes 1.. [2,3,4,5]", ln(1, 1e-5f, {3, 4, 5}, {3, 4, 5}), {{2, 3, 4, 5}}},
        {"LayerNormalization scale broadcast [4,1], no bias", ln(1, 1e-3f, {4, 1}, {}), {{3, 4, 5}}},
    };
}

}  // namespace

RELPROP_REGISTER_OP(LayerNormalization) {
    return OpInfo{
        .type = OpType::LayerNormalization,
        .name = "LayerNormalization",
        .category = OpCategory::Normalization,
        .kernels = Kernel::Reduce | Kernel::Binary | Kernel::Unary | Kernel::Elementwise,
        .onnx = {{"LayerNormalization", 17}},
        .import = import_layer_norm,
        .reference = layer_norm_reference,
        .samples = layer_norm_samples,
    };
}

}  // namespace relprop
