// PRelu: y = x where x > 0, slope·x elsewhere, with a constant "slope" broadcast to the input (ONNX PRelu,
// unidirectional broadcasting: torch exports nn.PReLU(C) on [N, C, H, W] with a slope of shape [C, 1, 1],
// nn.PReLU() with one value). VJP: gx = gy where x > 0, slope·gy elsewhere (PyTorch's choice at x = 0).
// Runs on the generic kernels: y = r + slope·(x − r) with r = relu(x), which is exact in float (one of the two
// terms is zero). Category activation: Pass in every composite, as zennit's Activation group has PReLU.
#include <sstream>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/binary.h"
#include "layers/op_registry.h"

namespace relprop {

namespace {

class PRelu final : public Op {
public:
    explicit PRelu(Tensor slope) { m_params["slope"] = std::move(slope); }

    OpType type() const override { return OpType::PRelu; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override {
        const Shape& x = inputs.at(0);
        const Shape& s = m_params.at("slope").shape();
        bool fits = s.size() <= x.size();
        for (size_t d = 0; fits && d < s.size(); ++d) fits = s[d] == 1 || s[d] == x[x.size() - s.size() + d];
        if (!fits)
            throw Error("PRelu: the slope " + shape_str(s) + " does not broadcast to the input " + shape_str(x) +
                        " (per channel of an [N, C, H, W] input it is [C, 1, 1])");
        return x;
    }
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override {
        return positive_plus_slope_times_rest(backend, inputs.at(0), [&](Tensor& r) {
            backend.unary({UnaryKind::Relu}, inputs[0], r);
        });
    }
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                 const Tensor& gy) const override {
        return {positive_plus_slope_times_rest(backend, gy, [&](Tensor& r) {
            backend.unary_backward({UnaryKind::Relu}, inputs.at(0), gy, r);
        })};
    }
    std::string describe() const override {
        std::ostringstream out;
        const Tensor& s = m_params.at("slope");
        out << "slope " << shape_str(s.shape());
        if (s.numel() == 1) out << " = " << s[0];
        return out.str();
    }

private:
    // r + slope·(v − r), where `make_r` writes r: the part of v on the positive side of x (forward: v = x,
    // r = relu(x); VJP: v = gy, r = gy·[x > 0]).
    template <class MakeR>
    Tensor positive_plus_slope_times_rest(Backend& backend, const Tensor& v, MakeR make_r) const {
        Tensor r = backend.empty(v.shape());
        make_r(r);
        Tensor out = broadcast_binary(backend, BinaryKind::Mul, broadcast_binary(backend, BinaryKind::Sub, v, r),
                                      m_params.at("slope"));
        backend.add(out, r, out);
        return out;
    }
};

void import_prelu(OnnxNode& n) {
    if (n.input_count() != 2) throw Error("PRelu needs two inputs (X and slope)");
    const std::string& x = n.runtime_input(0);
    if (!n.is_constant(1)) throw Error("PRelu with a slope computed by the model is not supported (it must be a constant)");
    Tensor slope = n.parameter(1, "slope");
    n.emit(std::make_shared<PRelu>(slope.reshaped(n.constant_shape(1, "slope"))), {x});
}

RefArray prelu_reference(const Op& op, const std::vector<RefArray>& inputs) {
    return reference_broadcast(inputs.at(0), reference_constant(op.params().at("slope")),
                               [](double x, double s) { return x > 0.0 ? x : s * x; });
}

Tensor slopes(const Shape& shape) {
    Tensor s(shape);
    for (int64_t i = 0; i < s.numel(); ++i) s[i] = -0.5f + 0.375f * static_cast<float>(i % 5);
    return s;
}

}  // namespace

RELPROP_REGISTER_OP(PRelu) {
    OpInfo info;
    info.type = OpType::PRelu;
    info.name = "PRelu";
    info.category = OpCategory::Activation;
    info.kernels = Kernel::Unary | Kernel::Binary | Kernel::Elementwise;
    info.onnx = {{"PRelu", 7}};
    info.import = import_prelu;
    info.reference = prelu_reference;
    info.samples = []() -> std::vector<OpSample> {
        return {{"PRelu per channel [3,1,1] on [2,3,4,5]", std::make_shared<PRelu>(slopes({3, 1, 1})), {{2, 3, 4, 5}}},
                {"PRelu one slope [1] on [3,7]", std::make_shared<PRelu>(slopes({1})), {{3, 7}}},
                {"PRelu per feature [7] on [3,7]", std::make_shared<PRelu>(slopes({7})), {{3, 7}}}};
    };
    return info;
}

}  // namespace relprop
