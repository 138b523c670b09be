// PoolAttributes: ONNX pooling attributes (kernel_shape, strides, pads, dilations, ceil_mode),
// resolved against an input shape into the output shape and the backend's PoolGeometry.
#pragma once

#include <array>
#include <string>

#include "engine/backend.h"

namespace relprop {

class OnnxNode;

struct PoolAttributes {
    std::array<int64_t, 2> kernel{1, 1};
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> pad_begin{0, 0};
    std::array<int64_t, 2> pad_end{0, 0};
    std::array<int64_t, 2> dilation{1, 1};
    bool ceil_mode = false;

    // Throws relprop::Error on invalid values (the op name goes into the message).
    void validate(const char* op) const;
    // Output [N, C, OH, OW] for input [N, C, H, W] (ONNX/PyTorch rule: with ceil_mode the last
    // window must start inside the input or the begin padding).
    Shape output_shape(const Shape& input, const char* op) const;
    // The geometry the backend runs for `input` (end padding extended for ceil_mode).
    PoolGeometry geometry(const Shape& input) const;
    // "k=3x3 s=2 p=1,1,1,1 ceil"
    std::string describe() const;
};

/// The pooling attributes of an ONNX MaxPool/AveragePool node (dilations refused unless allowed).
PoolAttributes import_pool_attributes(const OnnxNode& node, bool dilations);

}  // namespace relprop
