/// @file
/// Executor: runs a Graph forward on a Backend, keeping what the reverse pass needs, and runs the
/// reverse pass: nodes in reverse topological order, each mapping the signal at its output to its
/// inputs (the gradient by default, an LRP rule when the caller says so), summing contributions where
/// a value has several consumers. Nothing here knows about LRP rules.
#pragma once

#include <functional>
#include <vector>

#include "engine/backend.h"
#include "engine/graph.h"

namespace relprop {

/// What a forward pass keeps: every value of the graph (inputs, intermediate, outputs), by value id.
struct Activations {
    const Graph* graph = nullptr;
    std::vector<Tensor> values;

    const Tensor& operator[](int value) const { return values.at(value); }
    const Tensor& output(size_t i = 0) const { return values.at(graph->outputs().at(i)); }
};

/// Maps the signal at a node's output to one tensor per input (shaped like the inputs).
using Propagator = std::function<std::vector<Tensor>(int node, const std::vector<Tensor>& inputs,
                                                     const Tensor& output, const Tensor& signal)>;

class Executor {
public:
    Executor(const Graph& graph, Backend& backend);

    const Graph& graph() const { return m_graph; }
    Backend& backend() const { return m_backend; }

    /// Runs every node; inputs are given in the order of graph().inputs() and copied to the device.
    Activations forward(const std::vector<Tensor>& inputs) const;

    /// The reverse pass from `seeds` (value id → signal at that value, shaped like it). Returns the
    /// signal at every value reached (undefined tensors elsewhere). `propagate` defaults to each
    /// op's exact vector-Jacobian product (the gradient).
    std::vector<Tensor> reverse(const Activations& acts, const std::vector<std::pair<int, Tensor>>& seeds,
                                const Propagator& propagate = {}) const;

private:
    const Graph& m_graph;
    Backend& m_backend;
};

}  // namespace relprop
