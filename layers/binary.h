// Binary: elementwise Add/Sub/Mul/Div with numpy broadcasting, between two model values or a model value
// and a constant (a squeeze-excitation gate, a layer scale, a constant shift). The VJP sums the gradient
// over each operand's broadcast axes. Units: Mul, Sub, Div (ONNX ops of their name) and AddConstant (made by
// the Add unit when a constant addend is not a foldable bias). Add of two model values is layers/add.h.
#pragma once

#include <functional>
#include <optional>

#include "engine/elementwise.h"
#include "engine/op.h"
#include "layers/op_registry.h"

namespace relprop {

/// The numpy broadcast of two shapes; an Error naming `op` if they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// `s` with leading 1s up to `rank`.
Shape left_padded(const Shape& s, size_t rank);
/// a ∘ b with numpy broadcasting on `backend` (host constants are fine: backends upload them).
Tensor broadcast_binary(Backend& backend, BinaryKind kind, const Tensor& a, const Tensor& b);
/// g summed over the axes broadcast from `shape` (the transpose of broadcasting `shape` to g's shape).
Tensor reduce_to_shape(Backend& backend, const Tensor& g, const Shape& shape);

/// The naive references' broadcasting loop: f(a, b) elementwise with numpy broadcasting, in double.
RefArray reference_broadcast(const RefArray& a, const RefArray& b, const std::function<double(double, double)>& f);
/// A host constant as a RefArray.
RefArray reference_constant(const Tensor& c);

class Binary final : public Op {
public:
    /// Between two model values (no constant), or with `constant` as operand `constant_index` (0 or 1).
    Binary(OpType type, BinaryKind kind, std::optional<Tensor> constant = std::nullopt, int constant_index = 1);

    OpType type() const override { return m_type; }
    int arity() const override { return m_params.count("constant") ? 1 : 2; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override;
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& grad_output) const override;
    std::string describe() const override;

    BinaryKind kind() const { return m_kind; }
    /// The constant operand's position, or -1 between two model values.
    int constant_index() const { return m_params.count("constant") ? m_constant_index : -1; }

private:
    // Both operands in order (the constant where it belongs).
    std::pair<Tensor, Tensor> operands(const std::vector<Tensor>& inputs) const;

    OpType m_type;
    BinaryKind m_kind;
    int m_constant_index;
};

}  // namespace relprop
