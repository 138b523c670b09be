/// @file
/// Rule: what replaces a node's reverse pass. prepare() is called once per plan and node (modified
/// parameters are made there, on the backend's device); the prepared propagator maps the relevance
/// at the node's output to its inputs on every reverse pass.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/graph.h"

namespace relprop {

class NodePropagator {
public:
    virtual ~NodePropagator() = default;
    /// inputs/output: the node's recorded forward values; relevance: shaped like output.
    virtual std::vector<Tensor> propagate(Backend& backend, const std::vector<Tensor>& inputs, const Tensor& output,
                                          const Tensor& relevance) const = 0;
};

class Rule {
public:
    virtual ~Rule() = default;
    /// "Epsilon(epsilon=1e-06)", for listings.
    virtual std::string describe() const = 0;
    /// Prepares the rule for `op`; throws relprop::Error when the rule does not apply to the op.
    virtual std::unique_ptr<NodePropagator> prepare(const Op& op, Backend& backend) const = 0;
    /// Prepares the rule for node `node` of `graph` (rules that depend on the node's place in the graph
    /// override this; the default prepares for the node's op).
    virtual std::unique_ptr<NodePropagator> prepare_node(const Graph& graph, int node, Backend& backend) const {
        return prepare(*graph.nodes().at(node).op, backend);
    }
};

}  // namespace relprop
