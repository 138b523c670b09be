/// @file
/// GraphEditor: a mutable copy of a Graph for canonization passes (nodes by name, values by name), that
/// builds a new, validated Graph. Passes never change the graph they were given.
///
/// Every query and edit is indexed (producer and consumers per value, graph outputs by name), so a pass
/// that visits each node once and asks about its neighbours is linear in the graph's size: a chain of
/// 200,000 Identity nodes canonizes in about a second (tests/test_canonize_scale.cpp).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
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

    /// In the graph's topological order; removed nodes stay in place, marked. Edit them through the
    /// methods below, which keep the indexes.
    const std::vector<EditNode>& nodes() const { return m_nodes; }
    /// Live nodes reading `value`, in order (a node reading it twice is listed twice).
    std::vector<size_t> consumers(const std::string& value) const;
    /// How many times live nodes read `value`. Constant time.
    size_t use_count(const std::string& value) const;
    /// The live node producing `value`, or -1 (a graph input).
    int producer(const std::string& value) const;
    bool is_graph_output(const std::string& value) const;
    /// Whether `value` is read by exactly one live node and is no graph output: an intermediate that a
    /// pass may fold away with the node reading it.
    bool single_use(const std::string& value) const { return use_count(value) == 1 && !is_graph_output(value); }
    /// The shape `value` had in the original graph (batch 1).
    const Shape& shape(const std::string& value) const;

    /// Every live node reading `from` reads `to` instead (and a graph output `from` becomes `to`).
    /// Costs O(uses of `from`).
    void replace_uses(const std::string& from, const std::string& to);
    /// Node `node` computes `op` (same inputs and output).
    void set_op(size_t node, std::shared_ptr<const Op> op) { m_nodes.at(node).op = std::move(op); }
    /// Node `node` is called `name` (which no other live node may have).
    void set_name(size_t node, std::string name) { m_nodes.at(node).name = std::move(name); }
    /// Node `node` reads `inputs` instead of what it read.
    void set_inputs(size_t node, std::vector<std::string> inputs);
    /// Node `node` writes `value` (which no live node may write) instead of its output.
    void set_output(size_t node, const std::string& value);
    /// Marks node `node` removed; what read its output must have been rewired first.
    void remove(size_t node);
    /// A fusion: node `node` computes `op` from `inputs` (its output stays), and the nodes `absorbed`, whose
    /// outputs only the fused pattern read, are removed.
    void fuse(size_t node, std::shared_ptr<const Op> op, std::vector<std::string> inputs,
              const std::vector<size_t>& absorbed);

    Graph build() const;

private:
    void add_uses(size_t node);
    void drop_uses(size_t node);

    const Graph& m_graph;
    std::vector<EditNode> m_nodes;
    std::vector<std::string> m_outputs;
    std::unordered_map<std::string, size_t> m_producer;                    // live producers only
    // value -> (live node, input position) of each read, in order: rewiring touches only those reads
    std::unordered_map<std::string, std::set<std::pair<size_t, size_t>>> m_consumers;
    std::unordered_map<std::string, std::vector<size_t>> m_output_slots;  // value -> indices in m_outputs
};

/// The result of a pass: the new graph and, per change, a line saying what was done.
struct PassResult {
    Graph graph;
    std::vector<std::string> changes;
};

}  // namespace relprop
