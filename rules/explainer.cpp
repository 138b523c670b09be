#include "rules/explainer.h"

#include "engine/attribution.h"
#include "relprop/error.hpp"
#include "engine/finite.h"

namespace relprop {

Explainer::Explainer(std::shared_ptr<const Graph> graph, Backend& backend)
    : m_graph(graph ? std::move(graph) : throw Error("Explainer: no graph")),
      m_backend(backend),
      m_executor(*m_graph, backend) {
    if (m_graph->inputs().size() != 1 || m_graph->outputs().size() != 1)
        throw Error("Explainer needs a graph with one input and one output");
}

Recording Explainer::forward(const Tensor& input, bool allow_nonfinite) const {
    if (!allow_nonfinite && input.device() == Device::CPU)
        require_finite(input, "input '" + m_graph->values()[m_graph->inputs()[0]].name + "'",
                       "pass allow_nonfinite to Explainer::forward (--allow-nonfinite on the command line) to explain "
                       "anyway");
    Recording r{m_graph, m_executor.forward({input}), {}};
    r.output = m_backend.download(r.activations.output());
    return r;
}

Explanation Explainer::explain(const Recording& recording, const Plan& plan, const std::vector<int64_t>& targets,
                               RelevanceInit init, bool keep_values) const {
    if (plan.graph() != m_graph)
        throw Error("Explainer: the plan was made for another graph (make it from the same canonized graph)");
    if (&plan.backend() != &m_backend) throw Error("Explainer: the plan was prepared for another backend");
    return reverse(recording, plan.propagator(), targets, init, keep_values);
}

Explanation Explainer::gradient(const Recording& recording, const std::vector<int64_t>& targets, RelevanceInit init,
                                bool keep_values) const {
    return reverse(recording, {}, targets, init, keep_values);
}

Explanation Explainer::reverse(const Recording& recording, const Propagator& propagate,
                               const std::vector<int64_t>& targets, RelevanceInit init, bool keep_values) const {
    if (recording.graph != m_graph || recording.activations.graph != m_graph.get())
        throw Error("Explainer: the recording is a forward pass of another graph");
    Explanation e;
    e.output = recording.output;
    TargetPass pass = reverse_from_targets(m_executor, recording.activations, e.output, targets, propagate,
                                           init == RelevanceInit::OneHotLogit);
    e.targets = std::move(pass.targets);
    e.relevance = std::move(pass.at_input);
    std::vector<Tensor>& at_value = pass.at_value;
    if (keep_values) {
        e.at_value.resize(at_value.size());
        for (size_t v = 0; v < at_value.size(); ++v)
            if (at_value[v].defined()) e.at_value[v] = m_backend.download(at_value[v]);
    }
    return e;
}

}  // namespace relprop
