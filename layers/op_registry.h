/// @file
/// The op registry: everything relprop knows about an op type, declared by the op's own file in layers/.
///
/// An op unit (e.g. layers/softplus.cpp) defines `OpInfo register_op_Softplus()` with RELPROP_REGISTER_OP and
/// has one line `RELPROP_OP(Softplus)` in engine/ops.def, the explicit registration list: the OpType enum and
/// the registry table are made from that list, and the table calls each unit's function, so the linker keeps
/// every unit even in the static library (no static initializers to lose). The ONNX importer's dispatch, the
/// supported-ops message, the composites (by category) and the op test harness read this registry.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/op.h"
#include "relprop/tensor.hpp"

namespace relprop {

class OnnxNode;

const char* category_name(OpCategory category);
/// Whether a composite may leave this category without a rule (then the node gets the exact gradient).
bool category_defaults_to_gradient(OpCategory category);

/// An ONNX op type this unit imports, for default-domain opsets [since, until].
struct OnnxBinding {
    std::string op_type;
    int since = 1;
    int until = 1 << 30;
};

/// A dense double-precision array (the naive references' values).
struct RefArray {
    Shape shape;
    std::vector<double> v;
};

/// One test case of the op harness: an op, its input shapes, and the interval the random inputs come from
/// (kept away from kinks and singularities so finite differences are meaningful).
struct OpSample {
    std::string label;
    std::shared_ptr<const Op> op;
    std::vector<Shape> inputs;
    double lo = -1.0, hi = 1.0;
};

struct OpInfo {
    OpType type{};
    const char* name = "";
    OpCategory category = OpCategory::DataMovement;
    unsigned kernels = 0;                ///< Kernel families the op needs (engine/backend.h)
    std::vector<OnnxBinding> onnx;       ///< empty: made only by canonization passes
    /// Builds the IR node(s) for one ONNX node (attributes validated, errors thrown as relprop::Error).
    void (*import)(OnnxNode& node) = nullptr;
    /// The naive forward in double precision, written from the op's definition (the tests' oracle).
    RefArray (*reference)(const Op& op, const std::vector<RefArray>& inputs) = nullptr;
    /// The op harness's cases (tests/test_op_harness.cpp runs every registered op's samples).
    std::vector<OpSample> (*samples)() = nullptr;
};

/// Every registered op, in ops.def order.
const std::vector<OpInfo>& op_registry();
const OpInfo& op_info(OpType type);
/// The unit importing ONNX op type `onnx_type` at `opset`, or null.
const OpInfo* find_onnx_op(const std::string& onnx_type, int64_t opset);
/// Every ONNX op type some unit imports (in registration order, unique).
std::vector<std::string> registered_onnx_ops();

#define RELPROP_REGISTER_OP(id) OpInfo register_op_##id()

}  // namespace relprop
