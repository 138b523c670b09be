#include "relprop/attributor.hpp"

#include "engine/backend.h"
#include "engine/graph.h"
#include "engine/integrated_gradients.h"
#include "engine/occlusion.h"
#include "engine/smoothgrad.h"
#include "rules/composite.h"
#include "rules/explainer.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "relprop/error.hpp"
#include "engine/finite.h"

namespace relprop {

namespace {

struct MethodInfo {
    Method method;
    const char* name;
};

constexpr MethodInfo kMethods[] = {
    {Method::Lrp, "lrp"},
    {Method::Gradient, "gradient"},
    {Method::GradientXInput, "input-x-gradient"},
    {Method::SmoothGrad, "smoothgrad"},
    {Method::IntegratedGradients, "integrated-gradients"},
    {Method::Occlusion, "occlusion"},
};

bool is_reverse_method(Method m) { return m == Method::Lrp || m == Method::Gradient || m == Method::GradientXInput; }

// parts[i]'s tensors [1, ...] stacked into [N, ...] (host).
Tensor stack(const std::vector<const Tensor*>& parts, const Shape& one) {
    Shape shape = one;
    shape[0] = static_cast<int64_t>(parts.size());
    Tensor out(shape);
    const int64_t per = shape_numel(one);
    for (size_t i = 0; i < parts.size(); ++i) {
        float* to = out.data() + static_cast<int64_t>(i) * per;
        if (parts[i])
            std::copy(parts[i]->data(), parts[i]->data() + per, to);
        else
            std::fill(to, to + per, 0.0f);  // no relevance arrived at this node for this sample
    }
    return out;
}

// One Result of the samples' Results, in order.
Result stack_results(const std::vector<Result>& parts) {
    Result r;
    r.explained_output = parts.at(0).explained_output;
    std::vector<const Tensor*> logits, relevance;
    for (const Result& p : parts) {
        logits.push_back(&p.logits);
        relevance.push_back(&p.relevance);
        r.targets.insert(r.targets.end(), p.targets.begin(), p.targets.end());
    }
    r.logits = stack(logits, parts[0].logits.shape());
    r.relevance = stack(relevance, parts[0].relevance.shape());
    std::map<std::string, Shape> names;
    for (const Result& p : parts)
        for (const auto& [name, t] : p.node_relevance) names.emplace(name, t.shape());
    for (const auto& [name, one] : names) {
        std::vector<const Tensor*> at_node;
        for (const Result& p : parts) {
            const auto it = p.node_relevance.find(name);
            at_node.push_back(it == p.node_relevance.end() ? nullptr : &it->second);
        }
        r.node_relevance[name] = stack(at_node, one);
    }
    return r;
}

}  // namespace

std::string method_name(Method method) {
    for (const MethodInfo& m : kMethods)
        if (m.method == method) return m.name;
    throw Error("unknown attribution method " + std::to_string(static_cast<int>(method)));
}

std::vector<std::string> method_names() {
    std::vector<std::string> names;
    for (const MethodInfo& m : kMethods) names.push_back(m.name);
    return names;
}

Method parse_method(const std::string& name) {
    for (const MethodInfo& m : kMethods)
        if (name == m.name) return m.method;
    std::string known;
    for (const std::string& n : method_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown method '" + name + "' (known: " + known + ")");
}

ExplainedGraph explained_graph(const Model& model, ExplainOutput output) {
    const std::shared_ptr<const Graph>& graph = model.shared_graph();
    const Value& out = graph->values()[graph->outputs().at(0)];
    const Node* last = out.producer >= 0 ? &graph->nodes()[out.producer] : nullptr;
    if (!last || last->op->type() != OpType::Softmax)
        return {graph, "output", out.name, "the model's output '" + printable(out.name) + "'"};
    const std::string& logits = graph->values()[last->inputs.at(0)].name;
    if (output == ExplainOutput::Probabilities || graph->values()[last->inputs.at(0)].producer < 0)  // nothing before it
        return {graph, "probabilities", out.name,
                "the probabilities: the output of the final Softmax '" + printable(last->name) + "'"};
    GraphBuilder b;
    b.input(graph->values()[graph->inputs().at(0)].name, graph->input_shapes().at(0));
    for (const Node& n : graph->nodes()) {
        if (&n == last) continue;
        std::vector<std::string> inputs;
        for (int v : n.inputs) inputs.push_back(graph->values()[v].name);
        b.node(n.name, n.op, inputs, graph->values()[n.output].name);
    }
    b.output(logits);
    return {std::make_shared<const Graph>(b.build()), "logits", logits,
            "the logits: the input of the final Softmax '" + printable(last->name) + "'"};
}

struct Attributor::State {
    Model model;
    AttributorOptions options;
    ExplainedGraph explained;
    std::optional<RuleAssignment> rules;
    std::unique_ptr<Plan> plan;
    Explainer explainer;
    Executor executor;

    State(Model m, AttributorOptions o)
        : model(std::move(m)),
          options(std::move(o)),
          explained(explained_graph(model, options.explain_output)),
          explainer(explained.graph, model.backend()),
          executor(*explained.graph, model.backend()) {}
};

Attributor::Attributor(Model model, AttributorOptions options)
    : m_state(std::make_unique<State>(std::move(model), std::move(options))) {
    State& s = *m_state;
    const AttributorOptions& o = s.options;
    method_name(o.method);  // an out-of-range enum value is an error now, not at the first call
    if (o.keep_node_relevance && !is_reverse_method(o.method))
        throw Error("keep_node_relevance needs the lrp, gradient or input-x-gradient method, not " + method_name(o.method));
    if (o.method == Method::Lrp || o.use_rules) {
        const auto lock = s.model.lock_device();  // the Plan uploads
        s.rules = assign_rules(*s.explained.graph, o.composite, o.composite_options, o.rules);
        s.plan = std::make_unique<Plan>(s.explained.graph, *s.rules, s.model.backend());
    }
}

Attributor::~Attributor() = default;
Attributor::Attributor(Attributor&&) noexcept = default;
Attributor& Attributor::operator=(Attributor&&) noexcept = default;

const Model& Attributor::model() const { return m_state->model; }
const AttributorOptions& Attributor::options() const { return m_state->options; }
const RuleAssignment* Attributor::rules() const { return m_state->rules ? &*m_state->rules : nullptr; }
const ExplainedGraph& Attributor::explained() const { return m_state->explained; }
std::string Attributor::rule_listing() const {
    return m_state->rules ? relprop::rule_listing(*m_state->explained.graph, *m_state->rules) : std::string();
}

Result Attributor::operator()(const Tensor& batch, const std::vector<int64_t>& targets) const {
    const State& s = *m_state;
    const AttributorOptions& o = s.options;
    if (!batch.defined()) throw Error("Attributor: the input batch is empty (an undefined tensor)");
    if (!o.allow_nonfinite && batch.device() == Device::CPU)
        require_finite(batch, "input '" + s.model.graph().values()[s.model.graph().inputs()[0]].name + "'",
                       "set AttributorOptions::allow_nonfinite (--allow-nonfinite on the command line) to explain "
                       "anyway");
    const Shape& declared = s.model.input_shape();
    if (!declared.empty() && declared[0] == 1 && batch.rank() >= 1 && batch.dim(0) > 1) return explain_each(batch, targets);
    const auto lock = s.model.lock_device();

    Result r;
    r.explained_output = s.explained.output_kind;
    if (is_reverse_method(o.method)) {
        const Recording rec = s.explainer.forward(batch, true);
        Explanation e = o.method == Method::Lrp
                            ? s.explainer.explain(rec, *s.plan, targets, o.init, o.keep_node_relevance)
                            : s.explainer.gradient(rec, targets, o.init, o.keep_node_relevance);
        if (o.method == Method::GradientXInput) {
            const Tensor x = host_copy(s.executor, batch);
            for (int64_t i = 0; i < x.numel(); ++i) e.relevance[i] *= x[i];
        }
        r.logits = std::move(e.output);
        r.targets = std::move(e.targets);
        r.relevance = std::move(e.relevance);
        if (o.keep_node_relevance)
            for (const Node& node : s.explained.graph->nodes())
                if (e.at_value[node.output].defined()) r.node_relevance[node.name] = e.at_value[node.output];
        return r;
    }
    const Propagator propagate = o.use_rules ? s.plan->propagator() : Propagator{};
    Attribution a;
    switch (o.method) {
        case Method::SmoothGrad: a = smoothgrad(s.executor, batch, targets, o.smoothgrad, propagate); break;
        case Method::IntegratedGradients:
            a = integrated_gradients(s.executor, batch, targets, o.integrated_gradients, propagate);
            break;
        default: a = occlusion(s.executor, batch, targets, o.occlusion); break;
    }
    r.logits = std::move(a.output);
    r.targets = std::move(a.targets);
    r.relevance = std::move(a.attribution);
    return r;
}

Result Attributor::explain_each(const Tensor& batch, const std::vector<int64_t>& targets) const {
    const int64_t n = batch.dim(0), per = batch.numel() / n;
    if (targets.size() > 1 && static_cast<int64_t>(targets.size()) != n)
        throw Error("got " + std::to_string(targets.size()) + " targets for a batch of " + std::to_string(n));
    Shape one = batch.shape();
    one[0] = 1;
    std::vector<Result> parts;
    for (int64_t i = 0; i < n; ++i) {
        // A view of sample i (host or device memory alike); the call only reads it.
        const Tensor sample = Tensor::wrap(one, const_cast<float*>(batch.data()) + i * per, batch.device());
        parts.push_back((*this)(sample, targets.size() > 1 ? std::vector<int64_t>{targets[i]} : targets));
    }
    return stack_results(parts);
}

}  // namespace relprop
