/// @file
/// Explainer: LRP (and the plain gradient) for a graph on a backend.
///
///   auto graph = std::make_shared<const Graph>(...);
///   Explainer explainer(graph, backend);
///   Plan plan(graph, assign_rules(*graph, "epsilon-plus-flat"), backend);
///   Recording rec = explainer.forward(input);          // one forward ...
///   Explanation a = explainer.explain(rec, plan);       // ... serves several reverse passes:
///   Explanation b = explainer.explain(rec, plan, {7});  // other targets, other plans,
///   Explanation g = explainer.gradient(rec);            // the gradient.
/// A recording or plan made for another graph is refused.
#pragma once

#include <memory>
#include <vector>

#include "engine/executor.h"
#include "relprop/method_options.hpp"  // RelevanceInit
#include "rules/plan.h"

namespace relprop {

/// A recorded forward pass of one graph.
struct Recording {
    std::shared_ptr<const Graph> graph;
    Activations activations;
    Tensor output;  ///< host copy of the graph's output
};

struct Explanation {
    Tensor output;                 ///< host, [N, ...]
    std::vector<int64_t> targets;  ///< per sample
    Tensor relevance;              ///< host, shaped like the input
    /// With keep_values: the relevance at every value of the graph, by value id (host; undefined where
    /// none arrived). The relevance at a node's input is at_value[node.inputs[i]].
    std::vector<Tensor> at_value;
};

class Explainer {
public:
    Explainer(std::shared_ptr<const Graph> graph, Backend& backend);

    const std::shared_ptr<const Graph>& graph() const { return m_graph; }
    /// The input must have the graph's input shape (an Error gives both) and, on the CPU, only finite
    /// values: a NaN/Inf is an Error saying how many and where, unless `allow_nonfinite`.
    Recording forward(const Tensor& input, bool allow_nonfinite = false) const;
    /// targets: one per sample (or one for all); -1 or empty = argmax.
    Explanation explain(const Recording& recording, const Plan& plan, const std::vector<int64_t>& targets = {},
                        RelevanceInit init = RelevanceInit::OneHot, bool keep_values = false) const;
    Explanation gradient(const Recording& recording, const std::vector<int64_t>& targets = {},
                         RelevanceInit init = RelevanceInit::OneHot, bool keep_values = false) const;

private:
    Explanation reverse(const Recording& recording, const Propagator& propagate, const std::vector<int64_t>& targets,
                        RelevanceInit init, bool keep_values) const;

    std::shared_ptr<const Graph> m_graph;
    Backend& m_backend;
    Executor m_executor;
};

}  // namespace relprop
