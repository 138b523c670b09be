// Softmax: y = exp(x) / Σ exp(x) over one axis (ONNX Softmax, opset 13 on: the axis `axis`, default −1) or over
// the flattened trailing axes (opsets 1–12: the input coerced to 2-D at `axis`, default 1). Never across the
// batch. VJP: gx = y ⊙ (gy − Σ_axis gy ⊙ y). Category reduction (a sum over the axis, then a division): the
// exact gradient in every composite. A model whose output is a Softmax is explained at the Softmax's input, its
// logits, unless AttributorOptions::explain_output asks for the probabilities (api/relprop/attributor.hpp).
// Kernels: exp (unary), reduce_sum, broadcasting binary. The exponent is shifted by the tensor's maximum, and by
// each row's maximum where a row lies so far below it that its sum would underflow.
#include <algorithm>
#include <cfloat>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/binary.h"
#include "layers/op_registry.h"

namespace relprop {

namespace {

class Softmax final : public Op {
public:
    /// axis ≥ 1 (normalized by the importer); flatten: opset < 13 (the axes from `axis` on as one).
    Softmax(int64_t axis, bool flatten) : m_axis(axis), m_flatten(flatten) {
        if (m_axis < 1) throw Error("Softmax over the batch axis (0) is not supported (it would mix the samples)");
    }

    OpType type() const override { return OpType::Softmax; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override {
        view(inputs.at(0));
        return inputs[0];
    }
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override {
        const Shape v = view(inputs.at(0).shape());
        const Tensor x = inputs[0].reshaped(v);
        const Shape sum_shape{v[0], 1, v[2]};
        Tensor shift({1, 1, 1});
        shift[0] = backend.min_max(x).second;
        Tensor e = backend.empty(v), sum = backend.empty(sum_shape);
        auto exp_sum = [&] {
            backend.unary({UnaryKind::Exp}, broadcast_binary(backend, BinaryKind::Sub, x, shift), e);
            backend.reduce_sum(e, sum);
        };
        exp_sum();
        if (backend.min_max(sum).first < 1e-30f) {  // a row far below the maximum: shift each row by its own
            shift = row_max(backend.download(x), v);
            exp_sum();
        }
        return broadcast_binary(backend, BinaryKind::Div, e, sum).reshaped(inputs[0].shape());
    }
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& gy) const override {
        const Shape v = view(inputs.at(0).shape());
        const Tensor y = output.reshaped(v), g = gy.reshaped(v);
        const Tensor dot = reduce_to_shape(backend, broadcast_binary(backend, BinaryKind::Mul, g, y), {v[0], 1, v[2]});
        const Tensor gx = broadcast_binary(backend, BinaryKind::Mul, broadcast_binary(backend, BinaryKind::Sub, g, dot), y);
        return {gx.reshaped(inputs[0].shape())};
    }
    std::string describe() const override {
        return "axis=" + std::to_string(m_axis) + (m_flatten ? " (opset < 13: the axes from it on as one)" : "");
    }

    /// x as [outer, n, inner] with the softmax over n.
    Shape view(const Shape& x) const {
        if (m_axis >= static_cast<int64_t>(x.size()))
            throw Error("Softmax axis " + std::to_string(m_axis) + " is out of range for input " + shape_str(x));
        Shape v{1, 1, 1};
        for (int64_t d = 0; d < static_cast<int64_t>(x.size()); ++d)
            v[d < m_axis ? 0 : (d == m_axis || m_flatten) ? 1 : 2] *= x[d];
        return v;
    }

private:
    // Each row's maximum (x on the host, [outer, n, inner]) as [outer, 1, inner].
    static Tensor row_max(const Tensor& x, const Shape& v) {
        Tensor m({v[0], 1, v[2]});
        for (int64_t o = 0; o < v[0]; ++o)
            for (int64_t i = 0; i < v[2]; ++i) {
                float best = -FLT_MAX;
                for (int64_t k = 0; k < v[1]; ++k) best = std::max(best, x[(o * v[1] + k) * v[2] + i]);
                m[o * v[2] + i] = best;
            }
        return m;
    }

    int64_t m_axis;
    bool m_flatten;
};

void import_softmax(OnnxNode& n) {
    const std::string& x = n.runtime_input(0);
    const bool flatten = n.opset() < 13;
    const int64_t rank = static_cast<int64_t>(n.shape(x).size());
    const int64_t axis = normalize_axes({n.attr_int("axis", flatten ? 1 : -1)}, rank, "Softmax axis")[0];
    n.emit(std::make_shared<Softmax>(axis, flatten), {x});
}

RefArray softmax_reference(const Op& op, const std::vector<RefArray>& inputs) {
    const RefArray& x = inputs.at(0);
    const Shape v = dynamic_cast<const Softmax&>(op).view(x.shape);
    RefArray y{x.shape, std::vector<double>(x.v.size())};
    for (int64_t o = 0; o < v[0]; ++o)
        for (int64_t i = 0; i < v[2]; ++i) {
            auto at = [&](int64_t k) { return (o * v[1] + k) * v[2] + i; };
            double top = x.v[at(0)], sum = 0.0;
            for (int64_t k = 1; k < v[1]; ++k) top = std::max(top, x.v[at(k)]);
            for (int64_t k = 0; k < v[1]; ++k) sum += std::exp(x.v[at(k)] - top);
            for (int64_t k = 0; k < v[1]; ++k) y.v[at(k)] = std::exp(x.v[at(k)] - top) / sum;
        }
    return y;
}

}  // namespace

RELPROP_REGISTER_OP(Softmax) {
    OpInfo info;
    info.type = OpType::Softmax;
    info.name = "Softmax";
    info.category = OpCategory::Reduction;
    info.kernels = Kernel::Unary | Kernel::Binary | Kernel::Reduce | Kernel::Elementwise;
    info.onnx = {{"Softmax"}};
    info.import = import_softmax;
    info.reference = softmax_reference;
    info.samples = []() -> std::vector<OpSample> {
        auto s = [](int64_t axis, bool flatten) { return std::make_shared<Softmax>(axis, flatten); };
        return {{"Softmax classes [3,10]", s(1, false), {{3, 10}}, -3.0, 3.0},
                {"Softmax axis 1 of [2,3,4,5] (opset 13)", s(1, false), {{2, 3, 4, 5}}, -3.0, 3.0},
                {"Softmax last axis of [2,3,4]", s(2, false), {{2, 3, 4}}, -3.0, 3.0},
                {"Softmax axis 1 of [2,3,4] flattened (opset 11)", s(1, true), {{2, 3, 4}}, -3.0, 3.0}};
    };
    return info;
}

}  // namespace relprop
