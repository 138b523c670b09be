// Constants of an ONNX graph at import time: initializers, Constant nodes and whatever the small
// constant subgraphs real exporters write compute from them (shape arithmetic, pads, reshapes).
// They are evaluated here ("constant folding") so that only the graph IR's ops remain.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relprop/tensor.hpp"

namespace onnx {
class TensorProto;
class NodeProto;
}  // namespace onnx

namespace relprop {

// An integer standing for the (symbolic) batch size in shape arithmetic: Shape(x)[0] of a value
// whose first dimension is the batch. Reshape turns it into 0 ("copy the input's dimension").
constexpr int64_t kBatchDim = INT64_MIN + 7;

struct Constant {
    Shape shape;
    bool integer = false;
    Tensor f;                 // floating-point data (float32), when !integer
    std::vector<int64_t> i;   // integer (and bool) data, when integer

    int64_t numel() const { return integer ? static_cast<int64_t>(i.size()) : f.numel(); }
    // The values as integers (floats must be whole numbers).
    std::vector<int64_t> ints(const std::string& what) const;
    // The values as a float32 tensor (integers converted).
    Tensor floats() const;
};

struct ConstantLimits {
    int64_t max_elements = int64_t{1} << 31;         // per tensor read from the file
    int64_t max_folded_elements = int64_t{1} << 24;  // per constant computed by folding
};

// " (raise ImportOptions::<option> to import it)": how to raise a limit, appended to its message.
std::string limit_hint(const char* option);
// Element count of `shape` (a tensor called `label` in messages); a negative dimension or more than
// limits.max_elements elements is an Error, checked without overflow.
int64_t checked_numel(const Shape& shape, const ConstantLimits& limits, const std::string& label);

// Bytes per element of an ONNX data type in raw_data, for the types relprop reads; 0 for the others.
int64_t raw_element_bytes(int data_type);

// Converts an ONNX TensorProto. Float16/float64 become float32 (a note is added to `notes`); integer
// and bool types become integers. Throws relprop::Error naming the tensor on unsupported types,
// external data not yet read (ExternalData), absurd dimensions (checked before allocating) or a data size that does not match.
Constant constant_from_proto(const onnx::TensorProto& proto, const ConstantLimits& limits,
                             std::vector<std::string>& notes);

// The ONNX op types constant folding evaluates.
const std::vector<std::string>& foldable_ops();
// Evaluates `node` on constant inputs (missing optional inputs are null). Throws relprop::Error
// when the node cannot be folded.
std::vector<Constant> fold_constant_node(const onnx::NodeProto& node, const std::vector<const Constant*>& inputs,
                                         const ConstantLimits& limits, std::vector<std::string>& notes);

}  // namespace relprop
