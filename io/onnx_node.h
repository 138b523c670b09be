/// @file
/// OnnxNode: the importer's view of one ONNX node, as an op unit's import function sees it (no protobuf
/// here). The unit reads attributes and inputs, validates them, and emits IR nodes; every error it throws
/// is prefixed by the importer with the file, node name and op type.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/op.h"
#include "relprop/tensor.hpp"

namespace relprop {

class OnnxNode {
public:
    virtual ~OnnxNode() = default;

    virtual const std::string& op_type() const = 0;
    /// The IR name of the node (the ONNX name, or made unique).
    virtual const std::string& name() const = 0;
    virtual int64_t opset() const = 0;

    // Attributes, with the ONNX default given by the caller; a wrong type is an Error.
    virtual bool has_attribute(const std::string& name) const = 0;
    virtual int64_t attr_int(const std::string& name, int64_t fallback) const = 0;
    virtual float attr_float(const std::string& name, float fallback) const = 0;
    virtual std::string attr_string(const std::string& name, const std::string& fallback) const = 0;
    virtual std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> fallback) const = 0;

    // Inputs. Optional inputs may be missing (empty name).
    virtual int input_count() const = 0;
    virtual bool has_input(int k) const = 0;
    virtual bool is_constant(int k) const = 0;
    /// A model value (not a constant): its name; an Error if it is a constant or missing.
    virtual const std::string& runtime_input(int k) const = 0;
    /// The shape of a model value for batch size 1.
    virtual const Shape& shape(const std::string& value) const = 0;
    /// Whether the model's batch size is symbolic (the input's dimension 0 is -1).
    virtual bool symbolic_batch() const = 0;
    /// A float constant input (non-finite values refused unless allowed), shaped as in the model
    /// (a scalar as [1]).
    virtual Tensor parameter(int k, const char* what) const = 0;
    /// A parameter computed at import from finite constants and attributes (Gemm's alpha·B, BatchNorm's
    /// scale/√(var + ε)) can still overflow: an Error naming `what`, unless non-finite weights are allowed.
    virtual void require_finite_folded(const Tensor& t, const std::string& what) const = 0;
    /// The constant's shape exactly as in the model (a scalar is []).
    virtual Shape constant_shape(int k, const char* what) const = 0;
    /// An integer constant input; kBatchDim (io/onnx_constants.h) stands for the symbolic batch size.
    virtual std::vector<int64_t> constant_ints(int k, const char* what) const = 0;

    // Outputs.
    virtual int output_count() const = 0;
    /// Whether output k exists and something uses it.
    virtual bool output_used(int k) const = 0;
    /// An Error if an output other than the first is used.
    virtual void only_first_output() const = 0;

    /// Adds an IR node computing output `output_index` of this ONNX node from the named model values (named
    /// `name()`, or `name()_k` for output k > 0); its shape is inferred now.
    virtual void emit(std::shared_ptr<const Op> op, std::vector<std::string> inputs, int output_index = 0) = 0;
    /// A line for the model's notes ("Pad 'p' folded into Conv 'c'").
    virtual void note(std::string text) = 0;

    // Folding into earlier nodes.
    /// The op of the emitted node that produces `value`, if `value` has no other use; else null.
    virtual const Op* single_use_producer(const std::string& value) const = 0;
    /// The IR name of that node.
    virtual std::string producer_name(const std::string& value) const = 0;
    /// The inputs of that node.
    virtual std::vector<std::string> producer_inputs(const std::string& value) const = 0;
    /// Removes that node (its output must be used by this node only, which will not use it either).
    virtual void remove_producer(const std::string& value) = 0;
    /// That node now computes `op` and produces this node's output instead of `value` (a fold of this node
    /// into it); this node emits nothing.
    virtual void replace_producer(const std::string& value, std::shared_ptr<const Op> op) = 0;
};

/// `v` as 2 values ("kernel_shape must have 2 values (2-D spatial ops only)").
std::array<int64_t, 2> pair_of(const std::vector<int64_t>& v, const char* what);
/// Explicit pads from ONNX's pads / auto_pad for a 2-D window op on input shape `x` [N, C, H, W].
void resolve_pads(const OnnxNode& node, const Shape& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                  std::array<int64_t, 2> dilation, std::array<int64_t, 2>& begin, std::array<int64_t, 2>& end);
/// Axes of a rank-`rank` value, negative ones counted from the end; out of range or repeated is an Error.
std::vector<int64_t> normalize_axes(std::vector<int64_t> axes, int64_t rank, const char* what);

}  // namespace relprop
