// Select (for residual Add nodes): all relevance goes to one input — by index, or "skip" (the input
// produced earlier in the graph: the shortcut) or "residual" (the one produced later: the branch).
// Conservative by construction; for debugging unstable residual attributions.
#include "relprop/error.hpp"
#include "rules/rules.h"

namespace relprop {

namespace {

class SelectPropagator final : public NodePropagator {
public:
    explicit SelectPropagator(size_t chosen) : m_chosen(chosen) {}
    std::vector<Tensor> propagate(Backend& backend, const std::vector<Tensor>& inputs, const Tensor&,
                                  const Tensor& relevance) const override {
        std::vector<Tensor> out;
        for (size_t i = 0; i < inputs.size(); ++i)
            out.push_back(i == m_chosen ? relevance.reshaped(inputs[i].shape()) : backend.zeros(inputs[i].shape()));
        return out;
    }

private:
    size_t m_chosen;
};

class Select final : public Rule {
public:
    explicit Select(std::string which) : m_which(std::move(which)) {}
    std::string describe() const override { return "Select(" + m_which + ")"; }
    std::unique_ptr<NodePropagator> prepare(const Op& op, Backend&) const override {
        throw Error(std::string("rule Select needs the node's place in the graph (") + op_name(op.type()) + ")");
    }
    std::unique_ptr<NodePropagator> prepare_node(const Graph& graph, int node, Backend&) const override {
        const Node& n = graph.nodes().at(node);
        if (n.op->type() != OpType::Add || n.inputs.size() != 2)
            throw Error(std::string("rule Select applies only to Add nodes, not to ") + op_name(n.op->type()));
        if (m_which == "0" || m_which == "1") return std::make_unique<SelectPropagator>(m_which == "1");
        const int p0 = graph.values()[n.inputs[0]].producer, p1 = graph.values()[n.inputs[1]].producer;
        if (p0 == p1)
            throw Error("rule Select(" + m_which + "): both inputs of the Add come from the same node, so neither is "
                        "the skip connection; select by index (select:0 or select:1)");
        const size_t skip = p0 < p1 ? 0 : 1;
        return std::make_unique<SelectPropagator>(m_which == "skip" ? skip : 1 - skip);
    }

private:
    std::string m_which;
};

}  // namespace

std::shared_ptr<const Rule> make_select(const std::string& which) {
    if (which != "0" && which != "1" && which != "skip" && which != "residual")
        throw Error("rule select: expected select:skip, select:residual, select:0 or select:1, got '" + which + "'");
    return std::make_shared<Select>(which);
}

}  // namespace relprop
