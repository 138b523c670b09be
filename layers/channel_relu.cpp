#include "layers/channel_relu.h"
#include "layers/op_registry.h"

#include "engine/backend.h"
#include "relprop/error.hpp"

namespace relprop {

ChannelRelu::ChannelRelu(Tensor slope, Tensor shift) {
    if (slope.rank() != 1 || shift.shape() != slope.shape())
        throw Error("ChannelRelu: slope and shift must both be [C], got " + shape_str(slope.shape()) + " and " +
                    shape_str(shift.shape()));
    m_params["slope"] = std::move(slope);
    m_params["shift"] = std::move(shift);
}

Shape ChannelRelu::infer_shape(const std::vector<Shape>& inputs) const {
    const Shape& x = inputs.at(0);
    const int64_t c = m_params.at("slope").numel();
    if (x.size() < 2 || x[1] != c)
        throw Error("ChannelRelu expects an input [N, " + std::to_string(c) + ", ...], got " + shape_str(x));
    return x;
}

Tensor ChannelRelu::forward(Backend& backend, const std::vector<Tensor>& inputs) const {
    Tensor y = backend.empty(inputs.at(0).shape());
    backend.channel_affine(inputs[0], m_params.at("slope"), &m_params.at("shift"), y);
    backend.unary({UnaryKind::Relu}, y, y);
    return y;
}

std::vector<Tensor> ChannelRelu::backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                          const Tensor& grad_output) const {
    // dy/dx = slope where the output is positive.
    Tensor gx = backend.empty(inputs.at(0).shape());
    backend.unary_backward({UnaryKind::Relu}, output, grad_output, gx);
    backend.channel_affine(gx, m_params.at("slope"), nullptr, gx);
    return {gx};
}


RELPROP_REGISTER_OP(ChannelRelu) {
    return OpInfo{
        .type = OpType::ChannelRelu,
        .name = "ChannelRelu",
        .category = OpCategory::Activation,
        .kernels = Kernel::Elementwise | Kernel::Unary,
        .onnx = {},
    };  // made by the densenet canonization pass only
}

}  // namespace relprop
