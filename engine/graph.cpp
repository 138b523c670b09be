#include "engine/graph.h"

#include <algorithm>
#include <unordered_set>

#include "relprop/error.hpp"

namespace relprop {

int Graph::value_id(const std::string& name) const {
    auto it = m_value_ids.find(name);
    if (it == m_value_ids.end()) throw Error("the graph has no value named '" + name + "'");
    return it->second;
}

int Graph::node_index(const std::string& name) const {
    auto it = m_node_ids.find(name);
    if (it == m_node_ids.end()) throw Error("the graph has no node named '" + name + "'");
    return it->second;
}

std::string Graph::node_label(int node) const {
    const Node& n = m_nodes.at(node);
    return "node '" + n.name + "' (" + op_name(n.op->type()) + ")";
}

std::vector<Shape> Graph::infer_shapes(const std::vector<Shape>& input_shapes) const {
    if (input_shapes.size() != m_inputs.size())
        throw Error("the graph takes " + std::to_string(m_inputs.size()) + " input(s), got " +
                    std::to_string(input_shapes.size()));
    std::vector<Shape> shapes(m_values.size());
    for (size_t i = 0; i < m_inputs.size(); ++i) {
        const Shape& declared = m_input_shapes[i];
        const Shape& given = input_shapes[i];
        bool ok = declared.size() == given.size();
        for (size_t d = 0; ok && d < given.size(); ++d)
            ok = given[d] == declared[d] || (d == 0 && declared[d] == -1 && given[d] > 0);
        if (!ok)
            throw Error("input '" + m_values[m_inputs[i]].name + "' has shape " + shape_str(given) +
                        " but the model expects " + shape_str(declared) + (declared[0] == -1 ? " (-1: any batch size)" : ""));
        shapes[m_inputs[i]] = given;
    }
    for (size_t n = 0; n < m_nodes.size(); ++n) {
        const Node& node = m_nodes[n];
        std::vector<Shape> in;
        for (int v : node.inputs) in.push_back(shapes[v]);
        try {
            shapes[node.output] = node.op->infer_shape(in);
        } catch (const Error& e) {
            std::string got;
            for (size_t i = 0; i < in.size(); ++i)
                got += (i ? ", " : "") + m_values[node.inputs[i]].name + " " + shape_str(in[i]);
            throw Error(node_label(static_cast<int>(n)) + ": " + e.what() + " (inputs: " + got + ")");
        }
    }
    return shapes;
}

GraphBuilder& GraphBuilder::input(const std::string& name, Shape shape) {
    m_inputs.emplace_back(name, std::move(shape));
    return *this;
}

GraphBuilder& GraphBuilder::node(const std::string& name, std::shared_ptr<const Op> op, std::vector<std::string> inputs,
                                 const std::string& output) {
    m_nodes.push_back({name, std::move(op), std::move(inputs), output});
    return *this;
}

GraphBuilder& GraphBuilder::output(const std::string& name) {
    m_outputs.push_back(name);
    return *this;
}

Graph GraphBuilder::build() const {
    auto label = [](const NodeSpec& s) {
        return "node '" + s.name + "' (" + (s.op ? op_name(s.op->type()) : "no op") + ")";
    };
    if (m_inputs.empty()) throw Error("the graph has no input");
    if (m_outputs.empty()) throw Error("the graph has no output");

    // Who produces each value name (graph inputs are produced by nobody).
    std::unordered_map<std::string, int> producer;  // value name -> spec index, -1 for graph inputs
    std::unordered_set<std::string> node_names;
    producer.reserve(m_inputs.size() + m_nodes.size());
    node_names.reserve(m_nodes.size());
    for (const auto& [name, shape] : m_inputs) {
        if (!producer.emplace(name, -1).second) throw Error("graph input '" + name + "' is declared twice");
        if (shape.empty()) throw Error("graph input '" + name + "' has no shape");
        for (size_t d = 0; d < shape.size(); ++d)
            if (shape[d] <= 0 && !(d == 0 && shape[d] == -1))
                throw Error("graph input '" + name + "' has invalid shape " + shape_str(shape));
    }
    for (size_t i = 0; i < m_nodes.size(); ++i) {
        const NodeSpec& s = m_nodes[i];
        if (!s.op) throw Error(label(s) + " has no op");
        if (s.name.empty()) throw Error("a " + std::string(op_name(s.op->type())) + " node has no name");
        if (!node_names.insert(s.name).second) throw Error("two nodes are named '" + s.name + "'");
        if (!producer.emplace(s.output, static_cast<int>(i)).second)
            throw Error(label(s) + " writes value '" + s.output + "', which is already produced elsewhere");
        int arity = s.op->arity();
        if ((arity >= 0 && static_cast<int>(s.inputs.size()) != arity) || s.inputs.empty())
            throw Error(label(s) + " takes " + (arity < 0 ? std::string("one or more") : std::to_string(arity)) +
                        " input(s), got " + std::to_string(s.inputs.size()));
    }
    for (const NodeSpec& s : m_nodes)
        for (const std::string& in : s.inputs)
            if (!producer.count(in))
                throw Error(label(s) + " reads value '" + in + "', which no node produces and is not a graph input");
    for (const std::string& out : m_outputs)
        if (!producer.count(out)) throw Error("graph output '" + out + "' is not produced by any node");

    // Topological order, stable in the order nodes were given: what sweeping the list again and again,
    // placing each node whose inputs are placed, would give — in O(nodes + edges). A node is placed in
    // sweep r(i) = max(1, r(p) for its producers p before it, r(p) + 1 for those after it); the order
    // is by (sweep, index). The sweeps are computed along Kahn's algorithm.
    std::vector<int> pending(m_nodes.size());
    std::vector<std::vector<int>> users(m_nodes.size());
    for (size_t i = 0; i < m_nodes.size(); ++i)
        for (const std::string& in : m_nodes[i].inputs) {
            int p = producer.at(in);
            if (p >= 0) {
                ++pending[i];
                users[p].push_back(static_cast<int>(i));
            }
        }
    std::vector<size_t> sweep(m_nodes.size(), 1);
    std::vector<int> ready;
    for (size_t i = 0; i < m_nodes.size(); ++i)
        if (pending[i] == 0) ready.push_back(static_cast<int>(i));
    size_t placed = 0;
    while (!ready.empty()) {
        const int i = ready.back();
        ready.pop_back();
        ++placed;
        for (int u : users[i]) {
            sweep[u] = std::max(sweep[u], sweep[i] + (i > u ? 1 : 0));
            if (--pending[u] == 0) ready.push_back(u);
        }
    }
    if (placed < m_nodes.size()) {
        std::string names;
        for (size_t i = 0; i < m_nodes.size(); ++i)
            if (pending[i] != 0) names += (names.empty() ? "" : ", ") + label(m_nodes[i]);
        throw Error("the graph has a cycle through " + names);
    }
    // By sweep, then index: a counting sort (sweeps are at most the number of nodes).
    std::vector<size_t> start(m_nodes.size() + 2, 0);
    for (size_t r : sweep) ++start[r + 1];
    for (size_t r = 1; r < start.size(); ++r) start[r] += start[r - 1];
    std::vector<int> order(m_nodes.size());
    for (size_t i = 0; i < m_nodes.size(); ++i) order[start[sweep[i]]++] = static_cast<int>(i);

    Graph g;
    std::unordered_map<std::string, int>& value_ids = g.m_value_ids;
    value_ids.reserve(producer.size());
    g.m_values.reserve(producer.size());
    g.m_nodes.reserve(m_nodes.size());
    auto add_value = [&](const std::string& name, int node) {
        const int id = static_cast<int>(g.m_values.size());
        value_ids[name] = id;
        g.m_values.push_back({name, {}, node, {}});
        return id;
    };
    for (const auto& [name, shape] : m_inputs) {
        g.m_inputs.push_back(add_value(name, -1));
        g.m_input_shapes.push_back(shape);
    }
    for (int spec : order) {
        const NodeSpec& s = m_nodes[spec];
        Node n{s.name, s.op, {}, -1};
        int index = static_cast<int>(g.m_nodes.size());
        for (const std::string& in : s.inputs) {
            int v = value_ids.at(in);
            n.inputs.push_back(v);
            g.m_values[v].consumers.push_back(index);
        }
        n.output = add_value(s.output, index);
        g.m_nodes.push_back(std::move(n));
    }
    for (const std::string& out : m_outputs) g.m_outputs.push_back(value_ids.at(out));
    g.m_node_ids.reserve(g.m_nodes.size());
    for (size_t i = 0; i < g.m_nodes.size(); ++i) g.m_node_ids.emplace(g.m_nodes[i].name, static_cast<int>(i));

    std::vector<Shape> shapes = g.m_input_shapes;
    for (Shape& s : shapes)
        if (s[0] == -1) s[0] = 1;
    shapes = g.infer_shapes(shapes);
    for (size_t v = 0; v < shapes.size(); ++v) g.m_values[v].shape = shapes[v];
    return g;
}

}  // namespace relprop
