// ChannelRelu: y[n,c,...] = max(0, slope[c]·x[n,c,...] + shift[c]), a ReLU with a per-channel threshold
// (and sign). Not an ONNX op: the DenseNet canonization turns BatchNorm→ReLU into it (with the
// BatchNorm's scale moved into the following layer). Its LRP rule is Pass, like ReLU's.
#pragma once

#include "engine/op.h"

namespace relprop {

class ChannelRelu final : public Op {
public:
    // slope and shift: [C].
    ChannelRelu(Tensor slope, Tensor shift);

    OpType type() const override { return OpType::ChannelRelu; }
    Shape infer_shape(const std::vector<Shape>& inputs) const override;
    Tensor forward(Backend& backend, const std::vector<Tensor>& inputs) const override;
    std::vector<Tensor> backward(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                 const Tensor& grad_output) const override;
    std::string describe() const override { return "c=" + std::to_string(m_params.at("slope").numel()); }
};

}  // namespace relprop
