// Activation: y = f(x) elementwise for a unary function of engine/elementwise.h (Relu, Clip, Sigmoid, ...),
// with its exact VJP gx = gy·f'(x). Every elementwise activation unit (layers/relu.cpp, clip.cpp, ...) is an
// Activation with its own OpType and function; the backends run them all with one kernel pair.
#pragma once

#include <vector>

#include "engine/elementwise.h"
#include "engine/op.h"
#include "layers/op_registry.h"

namespace relprop {

class Activation : public Op {
public:
    Activation(OpType type, UnaryFn fn) : m_type(type), m_fn(fn) {}

    OpType type() const override { return m_type; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override { return inputs.at(0); }
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override;
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& grad_output) const override;
    std::string describe() const override;

    const UnaryFn& function() const { return m_fn; }

private:
    OpType m_type;
    UnaryFn m_fn;
};

/// The registration of a one-input elementwise unit: `import` makes its UnaryFn from the ONNX node
/// (runtime input 0), `reference` is f in double precision (the tests' oracle).
struct UnaryUnit {
    OpType type;
    const char* name;
    OpCategory category;
    std::vector<OnnxBinding> onnx;
    void (*import)(OnnxNode& node);
    double (*reference)(double x, const UnaryFn& fn);
    std::vector<OpSample> (*samples)();
};
OpInfo unary_op_info(const UnaryUnit& unit);
/// A sample of an Activation with `fn` on a few shapes, inputs in [lo, hi].
std::vector<OpSample> unary_samples(OpType type, UnaryFn fn, double lo, double hi, const std::string& label = "");
/// Emits Activation(type, fn) on the node's input 0.
void emit_unary(OnnxNode& node, OpType type, UnaryFn fn);

}  // namespace relprop
