// ReLU/ReLU6/max-pool decisions of relprop's float32 forward against a float64 reference's decision codes
// (tools/keras_flip_references.py, tools/full_flip_references.py): shared by the Keras and torchvision flip tests.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "relprop/error.hpp"
#include "relprop/tensor.hpp"

namespace relprop::test {

enum class Decision { Relu, Relu6, MaxPool };

/// "relu", "relu6" or "maxpool" (a reference's MANIFEST) as a Decision.
inline Decision parse_decision(const std::string& kind, const std::string& where) {
    if (kind == "relu") return Decision::Relu;
    if (kind == "relu6") return Decision::Relu6;
    if (kind == "maxpool") return Decision::MaxPool;
    throw Error(where + ": unknown decision kind '" + kind + "' (relu, relu6, maxpool)");
}

inline float relu6_code(float v) { return v <= 0.0f ? 0.0f : (v >= 6.0f ? 2.0f : 1.0f); }

/// Elements of `node`'s decision that differ from the float64 codes: relu 1 (> 0) or 0; relu6 0 (<= 0), 1, 2 (>= 6);
/// maxpool the flat index of the window's maximum in the input plane, or -1 where it does not matter.
inline long count_flips(Decision kind, const Tensor& input, const Tensor& output, const Tensor& codes,
                        const std::string& node) {
    REQUIRE_MESSAGE(codes.numel() == output.numel(), node << ": " << codes.numel() << " float64 codes for "
                                                           << output.numel() << " outputs");
    long flips = 0;
    if (kind == Decision::Relu) {
        for (int64_t i = 0; i < output.numel(); ++i) flips += (output[i] > 0.0f) != (codes[i] > 0.5f);
    } else if (kind == Decision::Relu6) {
        for (int64_t i = 0; i < output.numel(); ++i) flips += relu6_code(output[i]) != codes[i];
    } else {
        REQUIRE(input.shape().size() == 4);
        const int64_t in_plane = input.shape()[2] * input.shape()[3];
        const int64_t out_plane = output.shape()[2] * output.shape()[3];
        for (int64_t i = 0; i < output.numel(); ++i) {
            if (codes[i] < 0.0f) continue;  // the float64 window is all <= 0: its choice does not matter
            const auto at = static_cast<int64_t>(codes[i]);
            if (at >= in_plane) throw Error(node + ": window index " + std::to_string(at) + " outside the input plane");
            flips += input[(i / out_plane) * in_plane + at] != output[i];
        }
    }
    return flips;
}

}  // namespace relprop::test
