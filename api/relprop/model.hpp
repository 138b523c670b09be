/// @file
/// relprop::Model — an ONNX model imported, canonized for LRP and placed on a device, ready to be
/// explained by any number of relprop::Attributor objects.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "import_options.hpp"
#include "tensor.hpp"

namespace relprop {

// The engine's types behind a Model, declared only: they are the library's internals (not installed);
// code inside relprop's source tree includes engine/graph.h, engine/backend.h or io/onnx_import.h.
class Backend;
class Graph;
struct OnnxModel;

/// How a model is loaded.
struct LoadOptions {
    /// Canonization pipeline: "auto" (merge BatchNorm, DenseNet's BN-after-concat, ...), "none", or a
    /// comma list of passes ("auto,-densenet"); see README, "Canonization".
    std::string canonize = "auto";
    /// "cpu", "cuda", "cuda:N" or "auto" (the GPU when one is usable, else the CPU).
    std::string device = "cpu";
    /// Import limits, an input shape override, and whether NaN/Inf weights are accepted.
    ImportOptions import;
};

/// A model ready to explain. Copies are cheap and share the graph and the device; the model lives as
/// long as any copy (or an Attributor made from it) does.
class Model {
public:
    /// Loads an .onnx file. Throws relprop::Error naming the file (and the node) when it can't.
    static Model load(const std::string& path, const LoadOptions& options = {});
    /// Loads the bytes of an .onnx file held in memory (read during the call, not kept).
    static Model load_buffer(const void* data, size_t size, const LoadOptions& options = {});
    /// Wraps a graph built in code (GraphBuilder); it is canonized as `options.canonize` says.
    static Model from_graph(const Graph& graph, const LoadOptions& options = {});
    /// Canonizes and places an imported model (what load() does after reading the file).
    static Model from_imported(OnnxModel imported, const LoadOptions& options = {});

    /// The canonized graph that is explained.
    const Graph& graph() const;
    const std::shared_ptr<const Graph>& shared_graph() const;
    /// The backend the model runs on.
    Backend& backend() const;
    /// The backend actually used (what "auto" chose), e.g. "cpu (oneDNN 2.6.3)" or "cuda:0 (NVIDIA H100 ...)".
    std::string device() const;
    /// The declared input shape; dimension 0 is -1 when any batch size is accepted.
    const Shape& input_shape() const;
    /// The model as imported, before canonization: its graph, opset, producer and import notes
    /// (opset 0 for a model made from_graph).
    const OnnxModel& imported() const;
    /// What canonization changed, one line each ("merge-batchnorm: merged BatchNorm 'bn1' into ...").
    const std::vector<std::string>& canonize_changes() const;

private:
    friend class Attributor;  // takes the device lock (one CUDA stream per model)
    friend struct EvaluateAccess;  // relprop::evaluate's forward passes take it too (api/evaluate.cpp)
    struct State;
    // Held while using a device backend (one stream per model); not taken on the CPU.
    std::unique_lock<std::mutex> lock_device() const;
    explicit Model(std::shared_ptr<const State> state);
    std::shared_ptr<const State> m_state;
};

}  // namespace relprop
