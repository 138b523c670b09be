/// @file
/// Op: what one graph node computes. Concrete ops live in layers/, one file each.
///
/// Every op has a forward pass and the exact vector-Jacobian product with respect to each of its
/// inputs (backward). Linear-type ops (conv, linear, avgpool, add) additionally run the forward
/// with *given* parameters and its transpose; that is all an LRP rule needs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "relprop/tensor.hpp"

namespace relprop {

class Backend;

enum class OpType {
#define RELPROP_OP(id) id,
#include "engine/ops.def"
#undef RELPROP_OP
};

/// What an op is to the LRP composites (zennit's LAYER_MAP groups).
enum class OpCategory {
    Linear,             ///< Conv, Linear (Gemm/MatMul), Add of model values: the composite's layer rules
    Activation,         ///< Relu, Clip, Sigmoid, ...: Pass in every composite (zennit's Activation group)
    Normalization,      ///< BatchNorm: Pass
    SumPooling,         ///< AvgPool, GlobalAvgPool, ReduceMean over space: Norm
    MaxPooling,         ///< MaxPool: the gradient (the documented default)
    ElementwiseBinary,  ///< Mul, Sub, Div, scaling by a constant: the gradient (what zennit's autograd does)
    DataMovement,       ///< Transpose, Reshape, Slice, Concat, Pad, Identity: the gradient (exact either way)
    Reduction,          ///< ReduceMean over other axes: the gradient
};
/// The op's registered name (layers/op_registry.h).
const char* op_name(OpType type);
/// The ONNX op types that map to `type` (from the registry).
std::vector<std::string> op_onnx_types(OpType type);
/// All op names, for error messages ("supported ops are ...").
std::vector<std::string> op_names();

/// Named parameters: "weight", "bias", "mean", ... (NCHW / OIHW layouts, float32).
using Params = std::map<std::string, Tensor>;

class LinearOp;

class Op {
public:
    virtual ~Op() = default;

    virtual OpType type() const = 0;
    /// The registered category of type(); an op whose role depends on its attributes (ReduceMean over
    /// space is a sum-pooling) overrides it.
    virtual OpCategory category() const;
    /// How many inputs the node takes; -1 means one or more (concat).
    virtual int arity() const { return 1; }
    /// Output shape for the given input shapes; throws relprop::Error describing the mismatch
    /// (the graph adds the node's name).
    virtual Shape infer_shape(const std::vector<Shape>& inputs) const = 0;
    virtual Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const = 0;
    /// grad_output has the output's shape; returns one gradient per input, shaped like the inputs.
    virtual std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs,
                                         const Tensor& output, const Tensor& grad_output) const = 0;
    /// Non-null for linear-type ops.
    virtual const LinearOp* as_linear() const { return nullptr; }
    /// Attributes in words, for listings ("k=3x3 s=2 p=1,1,1,1").
    virtual std::string describe() const { return ""; }

    const Params& params() const { return m_params; }

protected:
    Params m_params;
};

/// Ops that are linear in their input given parameters: y = A(θ)·x + b(θ).
class LinearOp : public Op {
public:
    /// The forward with given parameters (e.g. rule-modified weights); a missing "bias" means none.
    virtual Tensor forward_with(Backend& backend, const std::vector<Tensor>& inputs,
                                const Params& params) const = 0;
    /// The transpose of x ↦ A(θ)·x for the given parameters, applied to grad_output; one tensor per
    /// input, shaped like `input_shapes`.
    virtual std::vector<Tensor> transpose_with(Backend& backend, const std::vector<Shape>& input_shapes,
                                               const Params& params, const Tensor& grad_output) const = 0;

    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override {
        return forward_with(backend, inputs, m_params);
    }
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                 const Tensor& grad_output) const override;
    const LinearOp* as_linear() const override { return this; }
};

}  // namespace relprop
