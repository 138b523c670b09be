#include "relprop/model.hpp"

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "engine/graph.h"
#include "io/onnx_import.h"

#include "relprop/error.hpp"

namespace relprop {

struct Model::State {
    OnnxModel imported;
    std::shared_ptr<const Graph> graph;
    std::vector<std::string> changes;
    std::unique_ptr<Backend> backend;
    mutable std::mutex device_mutex;  // serializes calls on a CUDA backend
};

Model::Model(std::shared_ptr<const State> state) : m_state(std::move(state)) {}

Model Model::load(const std::string& path, const LoadOptions& options) {
    return from_imported(load_onnx(path, options.import), options);
}

Model Model::load_buffer(const void* data, size_t size, const LoadOptions& options) {
    if (data == nullptr && size > 0) throw Error("Model::load_buffer: a null buffer of " + std::to_string(size) + " bytes");
    return from_imported(load_onnx_buffer(data, size, options.import), options);
}

Model Model::from_graph(const Graph& graph, const LoadOptions& options) {
    return from_imported(OnnxModel{graph, 0, "", {}}, options);
}

Model Model::from_imported(OnnxModel imported, const LoadOptions& options) {
    auto state = std::make_shared<State>();
    state->imported = std::move(imported);
    CanonizeResult c = canonize(state->imported.graph, options.canonize);
    state->graph = std::make_shared<const Graph>(std::move(c.graph));
    state->changes = std::move(c.changes);
    state->backend = make_backend(options.device);
    return Model(std::move(state));
}

std::unique_lock<std::mutex> Model::lock_device() const {
    if (m_state->backend->device() == Device::CPU) return {};
    return std::unique_lock<std::mutex>(m_state->device_mutex);
}
const OnnxModel& Model::imported() const { return m_state->imported; }
const Graph& Model::graph() const { return *m_state->graph; }
const std::shared_ptr<const Graph>& Model::shared_graph() const { return m_state->graph; }
Backend& Model::backend() const { return *m_state->backend; }
std::string Model::device() const { return m_state->backend->name(); }
const Shape& Model::input_shape() const { return m_state->graph->input_shapes().at(0); }
const std::vector<std::string>& Model::canonize_changes() const { return m_state->changes; }

}  // namespace relprop
