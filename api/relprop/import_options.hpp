/// @file
/// relprop::ImportOptions — the limits and overrides of the ONNX import (relprop::LoadOptions::import).
#pragma once

#include <cstdint>
#include <string>

#include "tensor.hpp"

namespace relprop {

/// Limits are checked before anything of that size is allocated; a model beyond one is refused with an
/// Error giving the model's number, the limit and the option to raise. The defaults are generous for
/// real CNNs (VGG-16: 138 M parameters, 553 MB; ResNet-152: 60 M; DenseNet-201: ~700 nodes).
struct ImportOptions {
    /// The input's shape, overriding the model's declaration (needed when it has symbolic spatial
    /// dimensions). Dimension 0 may be -1 (any batch size).
    Shape input_shape;
    int64_t max_tensor_elements = int64_t{1} << 31;   ///< per initializer or constant (8 GiB as float32)
    int64_t max_parameter_bytes = int64_t{16} << 30;  ///< all initializers together, as float32
    int64_t max_nodes = 1'000'000;                    ///< nodes of the ONNX graph
    int64_t max_value_elements = int64_t{1} << 28;    ///< any value of the graph, per sample (1 GiB)
    int64_t max_folded_elements = int64_t{1} << 24;   ///< a constant computed at import time
    /// Weights with NaN/Inf are refused (naming the tensor and how many) unless this is set.
    bool allow_nonfinite = false;
    /// The folder where ONNX external data files (`model.onnx.data`, as PyTorch's dynamo exporter writes)
    /// are found. Empty: the model file's folder; for a model from memory, external data is refused.
    std::string external_data_dir;
};

}  // namespace relprop
