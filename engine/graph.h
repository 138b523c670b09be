/// @file
/// Graph: named values and nodes in topological order, with shapes validated when it is built.
///
/// A graph is made with GraphBuilder (nodes may be added in any order; build() sorts them,
/// rejects cycles, missing inputs and shape mismatches with messages that name the node) and is
/// immutable afterwards. Passes that rewrite a graph build a new one.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/op.h"
#include "relprop/tensor.hpp"

namespace relprop {

struct Value {
    std::string name;
    Shape shape;                 ///< inferred for the declared input shapes (a symbolic batch as 1)
    int producer = -1;           ///< node index, or -1 for a graph input
    std::vector<int> consumers;  ///< node indices, in order, repeated if a node uses the value twice
};

struct Node {
    std::string name;
    std::shared_ptr<const Op> op;
    std::vector<int> inputs;  ///< value ids
    int output = -1;          ///< value id
};

class Graph {
public:
    const std::vector<Node>& nodes() const { return m_nodes; }
    const std::vector<Value>& values() const { return m_values; }
    const std::vector<int>& inputs() const { return m_inputs; }
    const std::vector<int>& outputs() const { return m_outputs; }
    /// Declared shape of each graph input; dimension 0 may be -1 (any batch size).
    const std::vector<Shape>& input_shapes() const { return m_input_shapes; }

    /// Throws relprop::Error naming the missing value/node. Constant time (hashed).
    int value_id(const std::string& name) const;
    int node_index(const std::string& name) const;
    /// "node 'conv1' (Conv)"
    std::string node_label(int node) const;

    /// Checks concrete input shapes against the declared ones and infers every value's shape.
    std::vector<Shape> infer_shapes(const std::vector<Shape>& input_shapes) const;

private:
    friend class GraphBuilder;
    std::vector<Node> m_nodes;
    std::vector<Value> m_values;
    std::vector<int> m_inputs;
    std::vector<int> m_outputs;
    std::vector<Shape> m_input_shapes;
    std::unordered_map<std::string, int> m_value_ids;  // name -> index in m_values
    std::unordered_map<std::string, int> m_node_ids;   // name -> index in m_nodes
};

class GraphBuilder {
public:
    /// A graph input; shape[0] may be -1 for a symbolic batch size.
    GraphBuilder& input(const std::string& name, Shape shape);
    /// A node computing `output` from the named input values.
    GraphBuilder& node(const std::string& name, std::shared_ptr<const Op> op, std::vector<std::string> inputs,
                       const std::string& output);
    GraphBuilder& output(const std::string& name);

    Graph build() const;

private:
    struct NodeSpec {
        std::string name;
        std::shared_ptr<const Op> op;
        std::vector<std::string> inputs;
        std::string output;
    };
    std::vector<std::pair<std::string, Shape>> m_inputs;
    std::vector<NodeSpec> m_nodes;
    std::vector<std::string> m_outputs;
};

}  // namespace relprop
