#include "engine/executor.h"

#include <new>

#include "relprop/error.hpp"

namespace relprop {

Executor::Executor(const Graph& graph, Backend& backend) : m_graph(graph), m_backend(backend) {
    for (size_t n = 0; n < graph.nodes().size(); ++n)
        if (!backend.supports(graph.nodes()[n].op->type()))
            throw Error(graph.node_label(static_cast<int>(n)) + " is not supported by the " + backend.name() +
                        " backend");
}

Activations Executor::forward(const std::vector<Tensor>& inputs) const {
    std::vector<Shape> in_shapes;
    for (const Tensor& t : inputs) in_shapes.push_back(t.shape());
    const std::vector<Shape> shapes = m_graph.infer_shapes(in_shapes);

    Activations acts{&m_graph, std::vector<Tensor>(m_graph.values().size())};
    for (size_t i = 0; i < inputs.size(); ++i)
        acts.values[m_graph.inputs()[i]] =
            inputs[i].device() == m_backend.device() ? inputs[i] : m_backend.upload(inputs[i]);
    for (size_t n = 0; n < m_graph.nodes().size(); ++n) {
        const Node& node = m_graph.nodes()[n];
        std::vector<Tensor> in;
        for (int v : node.inputs) in.push_back(acts.values[v]);
        try {
            acts.values[node.output] = node.op->forward(m_backend, in);
        } catch (const Error& e) {
            throw Error(m_graph.node_label(static_cast<int>(n)) + ", forward: " + e.what());
        } catch (const std::bad_alloc&) {
            throw Error(m_graph.node_label(static_cast<int>(n)) + ", forward: out of memory (output " +
                        shape_str(shapes[node.output]) + "); use a smaller batch");
        }
        if (acts.values[node.output].shape() != shapes[node.output])
            throw Error(m_graph.node_label(static_cast<int>(n)) + " produced shape " +
                        shape_str(acts.values[node.output].shape()) + ", expected " +
                        shape_str(shapes[node.output]));
    }
    return acts;
}

std::vector<Tensor> Executor::reverse(const Activations& acts, const std::vector<std::pair<int, Tensor>>& seeds,
                                      const Propagator& propagate) const {
    if (acts.graph != &m_graph) throw Error("reverse pass: the activations come from another graph");
    std::vector<Tensor> signal(m_graph.values().size());
    auto accumulate = [&](int value, const Tensor& contribution) {
        const Tensor& at = acts.values[value];
        if (contribution.shape() != at.shape())
            throw Error("reverse pass: signal of shape " + shape_str(contribution.shape()) + " reaches value '" +
                        m_graph.values()[value].name + "' of shape " + shape_str(at.shape()));
        if (!signal[value].defined()) {
            signal[value] = contribution;
        } else {
            Tensor sum = m_backend.empty(at.shape());  // never write into a tensor someone else may hold
            m_backend.add(signal[value], contribution, sum);
            signal[value] = sum;
        }
    };
    for (const auto& [value, seed] : seeds) {
        if (value < 0 || value >= static_cast<int>(signal.size())) throw Error("reverse pass: seed at unknown value");
        accumulate(value, seed.device() == m_backend.device() ? seed : m_backend.upload(seed));
    }
    for (int n = static_cast<int>(m_graph.nodes().size()) - 1; n >= 0; --n) {
        const Node& node = m_graph.nodes()[n];
        if (!signal[node.output].defined()) continue;
        std::vector<Tensor> in;
        for (int v : node.inputs) in.push_back(acts.values[v]);
        std::vector<Tensor> back;
        try {
            back = propagate ? propagate(n, in, acts.values[node.output], signal[node.output])
                             : node.op->backward(m_backend, in, acts.values[node.output], signal[node.output]);
        } catch (const Error& e) {
            throw Error(m_graph.node_label(n) + ", reverse: " + e.what());
        } catch (const std::bad_alloc&) {
            throw Error(m_graph.node_label(n) + ", reverse: out of memory; use a smaller batch");
        }
        if (back.size() != node.inputs.size())
            throw Error(m_graph.node_label(n) + ", reverse: returned " + std::to_string(back.size()) +
                        " tensors for " + std::to_string(node.inputs.size()) + " inputs");
        for (size_t i = 0; i < back.size(); ++i) accumulate(node.inputs[i], back[i]);
    }
    return signal;
}

}  // namespace relprop
