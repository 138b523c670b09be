// ONNX import: reads a .onnx file (protobuf, ONNX's own generated classes from Debian's libonnx-dev)
// into the graph IR. Initializers and Constant nodes become op parameters; small constant subgraphs
// (shape arithmetic, computed pads) are evaluated at import time; Identity/Dropout stay as Identity
// nodes (canonization removes them); a zero Pad is folded into the following Conv or
// count_include_pad AveragePool where exact; a constant Add after Gemm/MatMul/Conv becomes its bias.
// Node and value names are kept. Bad input is a relprop::Error that says what and where.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.h"

namespace relprop {

struct ImportOptions {
    // The input's shape, overriding the model's declaration (needed when it has symbolic spatial
    // dimensions). Dimension 0 may be -1 (any batch size).
    Shape input_shape;
    int64_t max_tensor_elements = int64_t{1} << 31;   // per initializer or constant
    int64_t max_parameter_bytes = int64_t{16} << 30;  // all initializers together
    int64_t max_nodes = 1'000'000;
    int64_t max_value_elements = int64_t{1} << 28;    // any value of the graph, per sample
    int64_t max_folded_elements = int64_t{1} << 24;   // a constant computed at import time
};

struct OnnxModel {
    Graph graph;
    int64_t opset = 0;                // default-domain opset the model declares
    std::string producer;             // "pytorch 1.13.1"
    std::vector<std::string> notes;   // conversions and folds made on import, for listings
};

// Throws relprop::Error (naming the file) when the file is missing, not ONNX, or not importable.
OnnxModel load_onnx(const std::string& path, const ImportOptions& options = {});
// The same from bytes in memory; `source` names them in messages.
OnnxModel parse_onnx(const std::string& bytes, const std::string& source, const ImportOptions& options = {});

// The ONNX op types the importer maps (IR ops and constant-folded ops), for messages and docs.
std::vector<std::string> supported_onnx_ops();

}  // namespace relprop
