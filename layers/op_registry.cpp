#include "layers/op_registry.h"

#include <algorithm>

#include "engine/backend.h"
#include "relprop/error.hpp"

namespace relprop {

#define RELPROP_OP(id) OpInfo register_op_##id();
#include "engine/ops.def"
#undef RELPROP_OP

const std::vector<OpInfo>& op_registry() {
    static const std::vector<OpInfo> registry = [] {
        std::vector<OpInfo> r{
#define RELPROP_OP(id) register_op_##id(),
#include "engine/ops.def"
#undef RELPROP_OP
        };
        for (size_t i = 0; i < r.size(); ++i)
            if (static_cast<size_t>(r[i].type) != i || !r[i].name[0])
                throw Error(std::string("op registry: the unit registered as '") + r[i].name +
                            "' does not declare its own OpType (layers/op_registry.h)");
        return r;
    }();
    return registry;
}

const OpInfo& op_info(OpType type) { return op_registry().at(static_cast<size_t>(type)); }

const OpInfo* find_onnx_op(const std::string& onnx_type, int64_t opset) {
    for (const OpInfo& info : op_registry())
        for (const OnnxBinding& b : info.onnx)
            if (b.op_type == onnx_type && opset >= b.since && opset <= b.until && info.import) return &info;
    return nullptr;
}

std::vector<std::string> registered_onnx_ops() {
    std::vector<std::string> out;
    for (const OpInfo& info : op_registry())
        for (const OnnxBinding& b : info.onnx)
            if (std::find(out.begin(), out.end(), b.op_type) == out.end()) out.push_back(b.op_type);
    return out;
}

const char* category_name(OpCategory c) {
    switch (c) {
        case OpCategory::Linear: return "linear";
        case OpCategory::Activation: return "activation";
        case OpCategory::Normalization: return "normalization";
        case OpCategory::SumPooling: return "sum-pooling";
        case OpCategory::MaxPooling: return "max-pooling";
        case OpCategory::ElementwiseBinary: return "elementwise-binary";
        case OpCategory::DataMovement: return "data-movement";
        case OpCategory::Reduction: return "reduction";
    }
    return "?";
}

bool category_defaults_to_gradient(OpCategory c) {
    return c == OpCategory::MaxPooling || c == OpCategory::ElementwiseBinary || c == OpCategory::DataMovement ||
           c == OpCategory::Reduction;
}

const char* op_name(OpType type) { return op_info(type).name; }

std::vector<std::string> op_onnx_types(OpType type) {
    std::vector<std::string> out;
    for (const OnnxBinding& b : op_info(type).onnx) out.push_back(b.op_type);
    return out;
}

std::vector<std::string> op_names() {
    std::vector<std::string> out;
    for (const OpInfo& info : op_registry()) out.push_back(info.name);
    return out;
}

OpCategory Op::category() const { return op_info(type()).category; }

bool Backend::supports(OpType type) const { return (op_info(type).kernels & ~kernels()) == 0; }

const char* unary_name(UnaryKind kind) {
    switch (kind) {
#define RELPROP_UNARY_NAME(k) \
    case UnaryKind::k: return #k;
        RELPROP_UNARY_KINDS(RELPROP_UNARY_NAME)
#undef RELPROP_UNARY_NAME
    }
    return "?";
}

const char* binary_name(BinaryKind kind) {
    switch (kind) {
        case BinaryKind::Add: return "Add";
        case BinaryKind::Sub: return "Sub";
        case BinaryKind::Mul: return "Mul";
        case BinaryKind::Div: return "Div";
    }
    return "?";
}

}  // namespace relprop
