#include "layers/identity.h"

#include "io/onnx_node.h"
#include "layers/op_registry.h"

namespace relprop {

namespace {

void import_identity(OnnxNode& n) {
    n.only_first_output();
    n.emit(std::make_shared<Identity>(), {n.runtime_input(0)});
}

}  // namespace

RELPROP_REGISTER_OP(Identity) {
    return OpInfo{
        .type = OpType::Identity,
        .name = "Identity",
        .category = OpCategory::DataMovement,
        .kernels = 0,
        .onnx = {{"Identity"}, {"Dropout"}},
        .import = import_identity,
    };
}

}  // namespace relprop
