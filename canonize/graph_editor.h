/// @file
/// GraphEditor: a mutable copy of a Graph for canonization passes (nodes by name, values by name), that
/// builds a new, validated Graph. Passes never change the graph they were given.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/graph.h"

namespace relprop {

struct EditNode {
    std::string name;
    std::shared_ptr<const Op> op;
    std::vector<std::string> inputs;
    std::string output;
    bool removed = false;
};

class GraphEditor {
public:
    explicit GraphEditor(const Graph& graph);

    /// In the graph's topological order; removed nodes stay in place, marked.
    std::vector<EditNode>& nodes() { return m_nodes; }
    /// Live nodes reading `value`, in order (a node reading it twice is listed twice).
    std::vector<size_t> consumers(const std::string& value) const;
    /// The live node producing `value`, or -1 (a graph input).
    int producer(const std::string& value) const;
    bool is_graph_output(const std::string& value) const;
    /// The shape `value` had in the original graph (batch 1).
    const Shape& shape(const std::string& value) const;
    /// Every live node reading `from` reads `to` instead (and a graph output `from` becomes `to`).
    void replace_uses(const std::string& from, const std::string& to);

    Graph build() const;

private:
    const Graph& m_graph;
    std::vector<EditNode> m_nodes;
    std::vector<std::string> m_outputs;
};

/// The result of a pass: the new graph and, per change, a line saying what was done.
struct PassResult {
    Graph graph;
    std::vector<std::string> changes;
};

}  // namespace relprop
