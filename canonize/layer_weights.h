// Which input channel a Conv/Linear weight element reads — what passes that move a per-channel
// scale or shift into a layer's weights need.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "engine/op.h"
#include "layers/conv.h"
#include "layers/linear.h"

namespace relprop {

// For weight element k (of the per-output block of size weight.numel()/O) of output o: the input
// channel it reads. A Conv's weight is [O, C/groups, KH, KW]; a Linear's is [M, K] with
// `features_per_channel` consecutive input features per channel (1, or H·W after a flatten).
class WeightChannels {
public:
    explicit WeightChannels(const Op& layer, int64_t features_per_channel = 1) {
        const Tensor& w = layer.params().at("weight");
        m_out = w.dim(0);
        if (const auto* conv = dynamic_cast<const Conv*>(&layer)) {
            m_group_in = w.dim(1);
            m_kernel = w.dim(2) * w.dim(3);
            m_group_out = m_out / conv->geometry().groups;
        } else {
            m_kernel = features_per_channel;
        }
    }
    int64_t operator()(int64_t o, int64_t k) const {
        return m_group_in ? (o / m_group_out) * m_group_in + k / m_kernel : k / m_kernel;
    }

private:
    int64_t m_out = 0, m_group_in = 0, m_group_out = 1, m_kernel = 1;
};

// The same Conv (same geometry) or Linear with other parameters.
inline std::shared_ptr<const Op> with_parameters(const Op& layer, Tensor weight, std::optional<Tensor> bias) {
    if (const auto* conv = dynamic_cast<const Conv*>(&layer))
        return std::make_shared<Conv>(std::move(weight), std::move(bias), conv->geometry());
    return std::make_shared<Linear>(std::move(weight), std::move(bias));
}

}  // namespace relprop
