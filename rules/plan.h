/// @file
/// Plan: a graph with a rule on every node, prepared for one backend (modified parameters made once).
/// Plans share the graph they were made for; an Explainer only combines a plan with a forward pass of
/// that same graph.
#pragma once

#include <memory>

#include "engine/executor.h"
#include "rules/composite.h"

namespace relprop {

class Plan {
public:
    Plan(std::shared_ptr<const Graph> graph, RuleAssignment assignment, Backend& backend);

    const std::shared_ptr<const Graph>& graph() const { return m_graph; }
    Backend& backend() const { return m_backend; }
    const RuleAssignment& assignment() const { return m_assignment; }
    /// The executor's reverse-pass callback: each node's rule.
    Propagator propagator() const;

private:
    std::shared_ptr<const Graph> m_graph;
    Backend& m_backend;
    RuleAssignment m_assignment;
    std::vector<std::shared_ptr<const NodePropagator>> m_prepared;
};

}  // namespace relprop
