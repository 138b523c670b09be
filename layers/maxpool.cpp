#include "layers/maxpool.h"
#include "relprop/error.hpp"
#include "io/onnx_node.h"
#include "layers/op_registry.h"

#include "engine/backend.h"

namespace relprop {

MaxPool::MaxPool(PoolAttributes attributes) : m_attributes(attributes) {
    m_attributes.validate("MaxPool");
}

Shape MaxPool::infer_shape(const std::vector<Shape>& inputs) const {
    return m_attributes.output_shape(inputs.at(0), "MaxPool");
}

Tensor MaxPool::forward(Backend& backend, const std::vector<Tensor>& inputs) const {
    const Tensor& x = inputs.at(0);
    Tensor y = backend.empty(infer_shape({x.shape()}));
    backend.pool2d_forward(PoolKind::Max, x, m_attributes.geometry(x.shape()), y);
    return y;
}

std::vector<Tensor> MaxPool::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                      const Tensor& grad_output) const {
    const Tensor& x = inputs.at(0);
    Tensor gx = backend.empty(x.shape());
    backend.pool2d_backward(PoolKind::Max, x, grad_output, m_attributes.geometry(x.shape()), gx);
    return {gx};
}


PoolAttributes import_pool_attributes(const OnnxNode& n, bool dilations) {
    PoolAttributes p;
    if (!n.has_attribute("kernel_shape")) throw Error("kernel_shape is required");
    p.kernel = pair_of(n.attr_ints("kernel_shape", {}), "kernel_shape");
    p.stride = pair_of(n.attr_ints("strides", {1, 1}), "strides");
    p.dilation = pair_of(n.attr_ints("dilations", {1, 1}), "dilations");
    if (!dilations && p.dilation != std::array<int64_t, 2>{1, 1})
        throw Error("AveragePool with dilations is not supported");
    p.ceil_mode = n.attr_int("ceil_mode", 0) != 0;
    resolve_pads(n, n.shape(n.runtime_input(0)), p.kernel, p.stride, p.dilation, p.pad_begin, p.pad_end);
    return p;
}

namespace {

void import_maxpool(OnnxNode& n) {
    n.only_first_output();
    if (n.attr_int("storage_order", 0) != 0) throw Error("MaxPool storage_order=1 is not supported");
    n.emit(std::make_shared<MaxPool>(import_pool_attributes(n, true)), {n.runtime_input(0)});
}

}  // namespace

RELPROP_REGISTER_OP(MaxPool) {
    return OpInfo{
        .type = OpType::MaxPool,
        .name = "MaxPool",
        .category = OpCategory::MaxPooling,
        .kernels = Kernel::Pool,
        .onnx = {{"MaxPool"}},
        .import = import_maxpool,
    };
}

}  // namespace relprop
