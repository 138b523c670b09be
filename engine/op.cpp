#include "engine/op.h"

#include <sstream>

namespace relprop {

namespace {
struct OpInfo {
    const char* name;
    const char* onnx;
};
const OpInfo kOps[] = {
#define RELPROP_OP(id, name, onnx) {name, onnx},
#include "engine/ops.def"
#undef RELPROP_OP
};
}  // namespace

const char* op_name(OpType type) {
    return kOps[static_cast<int>(type)].name;
}

std::vector<std::string> op_onnx_types(OpType type) {
    std::istringstream in(kOps[static_cast<int>(type)].onnx);
    std::vector<std::string> out;
    for (std::string word; in >> word;) out.push_back(word);
    return out;
}

std::vector<std::string> op_names() {
    std::vector<std::string> out;
    for (const OpInfo& info : kOps) out.push_back(info.name);
    return out;
}

std::vector<Tensor> LinearOp::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                       const Tensor& grad_output) const {
    std::vector<Shape> shapes;
    for (const Tensor& x : inputs) shapes.push_back(x.shape());
    return transpose_with(backend, shapes, m_params, grad_output);
}

}  // namespace relprop
