#include "canonize/graph_editor.h"

#include <algorithm>

#include "engine/error.h"

namespace relprop {

GraphEditor::GraphEditor(const Graph& graph) : m_graph(graph) {
    for (const Node& n : graph.nodes()) {
        EditNode e{n.name, n.op, {}, graph.values()[n.output].name, false};
        for (int v : n.inputs) e.inputs.push_back(graph.values()[v].name);
        m_nodes.push_back(std::move(e));
    }
    for (int v : graph.outputs()) m_outputs.push_back(graph.values()[v].name);
}

std::vector<size_t> GraphEditor::consumers(const std::string& value) const {
    std::vector<size_t> out;
    for (size_t i = 0; i < m_nodes.size(); ++i) {
        if (m_nodes[i].removed) continue;
        for (const std::string& in : m_nodes[i].inputs)
            if (in == value) out.push_back(i);
    }
    return out;
}

int GraphEditor::producer(const std::string& value) const {
    for (size_t i = 0; i < m_nodes.size(); ++i)
        if (!m_nodes[i].removed && m_nodes[i].output == value) return static_cast<int>(i);
    return -1;
}

bool GraphEditor::is_graph_output(const std::string& value) const {
    return std::find(m_outputs.begin(), m_outputs.end(), value) != m_outputs.end();
}

const Shape& GraphEditor::shape(const std::string& value) const {
    return m_graph.values().at(m_graph.value_id(value)).shape;
}

void GraphEditor::replace_uses(const std::string& from, const std::string& to) {
    for (EditNode& n : m_nodes)
        if (!n.removed) std::replace(n.inputs.begin(), n.inputs.end(), from, to);
    std::replace(m_outputs.begin(), m_outputs.end(), from, to);
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
