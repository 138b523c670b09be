/// @file
/// ONNX import: reads a .onnx file (protobuf, ONNX's own generated classes from Debian's libonnx-dev)
/// into the graph IR. Initializers and Constant nodes become op parameters; small constant subgraphs
/// (shape arithmetic, computed pads) are evaluated at import time; Identity/Dropout stay as Identity
/// nodes (canonization removes them); a zero Pad is folded into the following Conv or
/// count_include_pad AveragePool where exact; a constant Add after Gemm/MatMul/Conv becomes its bias.
/// Node and value names are kept. Bad input is a relprop::Error that says what and where.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.h"

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
};

struct OnnxModel {
    Graph graph;
    int64_t opset = 0;                ///< default-domain opset the model declares
    std::string producer;             ///< "pytorch 1.13.1"
    std::vector<std::string> notes;   ///< conversions and folds made on import, for listings
};

/// Throws relprop::Error (naming the file) when the file is missing, not ONNX, or not importable.
/// The file is mapped into memory and imported by the same code as load_onnx_buffer.
OnnxModel load_onnx(const std::string& path, const ImportOptions& options = {});
/// The same from the bytes of an .onnx file in memory (messages call it "ONNX buffer"). The buffer is
/// only read, and not kept after the call.
OnnxModel load_onnx_buffer(const void* data, size_t size, const ImportOptions& options = {});
/// The same, with `source` naming the bytes in messages.
OnnxModel parse_onnx(const std::string& bytes, const std::string& source, const ImportOptions& options = {});

/// The ONNX op types the importer maps (IR ops and constant-folded ops), for messages and docs.
std::vector<std::string> supported_onnx_ops();

}  // namespace relprop
