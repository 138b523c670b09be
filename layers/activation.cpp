#include "layers/activation.h"

#include <map>
#include <sstream>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "io/onnx_node.h"

namespace relprop {

Tensor Activation::forward(Backend& backend, const std::vector<Tensor>& inputs) const {
    Tensor y = backend.empty(inputs.at(0).shape());
    backend.unary(m_fn, inputs[0], y);
    return y;
}

std::vector<Tensor> Activation::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                         const Tensor& grad_output) const {
    Tensor gx = backend.empty(inputs.at(0).shape());
    backend.unary_backward(m_fn, inputs[0], grad_output, gx);
    return {gx};
}

std::string Activation::describe() const {
    std::ostringstream out;
    switch (m_fn.kind) {
        case UnaryKind::Clip: out << "min=" << m_fn.alpha << " max=" << m_fn.beta; break;
        case UnaryKind::HardSigmoid: out << "alpha=" << m_fn.alpha << " beta=" << m_fn.beta; break;
        case UnaryKind::LeakyRelu:
        case UnaryKind::Elu: out << "alpha=" << m_fn.alpha; break;
        case UnaryKind::Pow: out << "exponent=" << m_fn.alpha; break;
        case UnaryKind::GeluTanh: out << "approximate=tanh"; break;
        default: break;
    }
    return out.str();
}

namespace {

// The reference functions by op type (set once by unary_op_info; read by the registry's reference hook).
std::map<OpType, double (*)(double, const UnaryFn&)>& references() {
    static std::map<OpType, double (*)(double, const UnaryFn&)> r;
    return r;
}

RefArray unary_reference(const Op& op, const std::vector<RefArray>& inputs) {
    const auto& act = dynamic_cast<const Activation&>(op);
    const auto f = references().at(op.type());
    RefArray y{inputs.at(0).shape, inputs.at(0).v};
    for (double& v : y.v) v = f(v, act.function());
    return y;
}

}  // namespace

OpInfo unary_op_info(const UnaryUnit& unit) {
    references()[unit.type] = unit.reference;
    return OpInfo{
        .type = unit.type,
        .name = unit.name,
        .category = unit.category,
        .kernels = Kernel::Unary,
        .onnx = unit.onnx,
        .import = unit.import,
        .reference = unary_reference,
        .samples = unit.samples,
    };
}

std::vector<OpSample> unary_samples(OpType type, UnaryFn fn, double lo, double hi, const std::string& label) {
    auto op = std::make_shared<Activation>(type, fn);
    const std::string name = std::string(op_name(type)) + (label.empty() ? "" : " " + label);
    return {{name + " [2,3,4,5]", op, {{2, 3, 4, 5}}, lo, hi}, {name + " [3,7]", op, {{3, 7}}, lo, hi}};
}

void emit_unary(OnnxNode& node, OpType type, UnaryFn fn) {
    node.emit(std::make_shared<Activation>(type, fn), {node.runtime_input(0)});
}

}  // namespace relprop
