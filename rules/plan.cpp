#include "rules/plan.h"

#include "relprop/error.hpp"
#include "rules/rules.h"

namespace relprop {

Plan::Plan(std::shared_ptr<const Graph> graph, RuleAssignment assignment, Backend& backend)
    : m_graph(std::move(graph)), m_backend(backend), m_assignment(std::move(assignment)) {
    if (!m_graph) throw Error("Plan: no graph");
    if (m_assignment.rules.size() != m_graph->nodes().size())
        throw Error("Plan: the rule assignment has " + std::to_string(m_assignment.rules.size()) + " rules for " +
                    std::to_string(m_graph->nodes().size()) + " nodes (it was made for another graph)");
    const auto gradient = make_gradient();
    for (size_t i = 0; i < m_assignment.rules.size(); ++i) {
        const Rule& rule = m_assignment.rules[i] ? *m_assignment.rules[i] : *gradient;
        try {
            m_prepared.push_back(rule.prepare_node(*m_graph, static_cast<int>(i), backend));
        } catch (const Error& e) {
            throw Error(m_graph->node_label(static_cast<int>(i)) + ": " + e.what());
        }
    }
}

Propagator Plan::propagator() const {
    return [this](int node, const std::vector<Tensor>& inputs, const Tensor& output, const Tensor& relevance) {
        return m_prepared.at(node)->propagate(m_backend, inputs, output, relevance);
    };
}

}  // namespace relprop
