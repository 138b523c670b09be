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
#include "relprop/import_options.hpp"

namespace relprop {

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
