#include "canonize/graph_editor.h"

#include "relprop/error.hpp"

namespace relprop {

GraphEditor::GraphEditor(const Graph& graph) : m_graph(graph) {
    m_nodes.reserve(graph.nodes().size());
    m_producer.reserve(graph.nodes().size());
    m_consumers.reserve(graph.values().size());
    for (const Node& n : graph.nodes()) {
        EditNode e{n.name, n.op, {}, graph.values()[n.output].name, false};
        for (int v : n.inputs) e.inputs.push_back(graph.values()[v].name);
        m_nodes.push_back(std::move(e));
        m_producer[m_nodes.back().output] = m_nodes.size() - 1;
        add_uses(m_nodes.size() - 1);
    }
    for (int v : graph.outputs()) {
        m_output_slots[graph.values()[v].name].push_back(m_outputs.size());
        m_outputs.push_back(graph.values()[v].name);
    }
}

void GraphEditor::add_uses(size_t node) {
    const std::vector<std::string>& inputs = m_nodes[node].inputs;
    for (size_t k = 0; k < inputs.size(); ++k) m_consumers[inputs[k]].emplace(node, k);
}

void GraphEditor::drop_uses(size_t node) {
    const std::vector<std::string>& inputs = m_nodes[node].inputs;
    for (size_t k = 0; k < inputs.size(); ++k) {
        auto it = m_consumers.find(inputs[k]);
        if (it == m_consumers.end()) continue;
        it->second.erase({node, k});
        if (it->second.empty()) m_consumers.erase(it);
    }
}

std::vector<size_t> GraphEditor::consumers(const std::string& value) const {
    std::vector<size_t> out;
    auto it = m_consumers.find(value);
    if (it == m_consumers.end()) return out;
    out.reserve(it->second.size());
    for (const auto& [node, position] : it->second) out.push_back(node);
    return out;
}

size_t GraphEditor::use_count(const std::string& value) const {
    auto it = m_consumers.find(value);
    return it == m_consumers.end() ? 0 : it->second.size();
}

int GraphEditor::producer(const std::string& value) const {
    auto it = m_producer.find(value);
    return it == m_producer.end() ? -1 : static_cast<int>(it->second);
}

bool GraphEditor::is_graph_output(const std::string& value) const { return m_output_slots.count(value) > 0; }

const Shape& GraphEditor::shape(const std::string& value) const {
    return m_graph.values().at(m_graph.value_id(value)).shape;
}

void GraphEditor::replace_uses(const std::string& from, const std::string& to) {
    if (from == to) return;
    auto it = m_consumers.find(from);
    if (it != m_consumers.end()) {
        const std::set<std::pair<size_t, size_t>> reads = std::move(it->second);
        m_consumers.erase(it);
        auto& target = m_consumers[to];
        for (const auto& [node, position] : reads) {
            m_nodes[node].inputs[position] = to;
            target.emplace(node, position);
        }
    }
    auto slots = m_output_slots.find(from);
    if (slots != m_output_slots.end()) {
        std::vector<size_t> moved = std::move(slots->second);
        m_output_slots.erase(slots);
        for (size_t k : moved) m_outputs[k] = to;
        std::vector<size_t>& target = m_output_slots[to];
        target.insert(target.end(), moved.begin(), moved.end());
    }
}

void GraphEditor::set_inputs(size_t node, std::vector<std::string> inputs) {
    drop_uses(node);
    m_nodes.at(node).inputs = std::move(inputs);
    add_uses(node);
}

void GraphEditor::set_output(size_t node, const std::string& value) {
    EditNode& n = m_nodes.at(node);
    auto it = m_producer.find(n.output);
    if (it != m_producer.end() && it->second == node) m_producer.erase(it);
    n.output = value;
    m_producer[value] = node;
}

void GraphEditor::remove(size_t node) {
    EditNode& n = m_nodes.at(node);
    if (n.removed) return;
    drop_uses(node);
    auto it = m_producer.find(n.output);
    if (it != m_producer.end() && it->second == node) m_producer.erase(it);
    n.removed = true;
}

void GraphEditor::fuse(size_t node, std::shared_ptr<const Op> op, std::vector<std::string> inputs,
                       const std::vector<size_t>& absorbed) {
    set_op(node, std::move(op));
    set_inputs(node, std::move(inputs));
    for (size_t n : absorbed) remove(n);
}

Graph GraphEditor::build() const {
    GraphBuilder b;
    for (size_t i = 0; i < m_graph.inputs().size(); ++i)
        b.input(m_graph.values()[m_graph.inputs()[i]].name, m_graph.input_shapes()[i]);
    for (const EditNode& n : m_nodes)
        if (!n.removed) b.node(n.name, n.op, n.inputs, n.output);
    for (const std::string& o : m_outputs) b.output(o);
    return b.build();
}

}  // namespace relprop
