// relprop.Attributor (one attribution method set up for a Model, called per batch) and relprop.Result.
// The GIL is released while an explanation runs; one Attributor may be called from several threads.
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "openmp_fork.h"
#include "relprop/error.hpp"
#include "engine/op.h"
#include "relprop/attributor.hpp"
#include "rules/composite.h"
#include "rules/rule.h"

namespace relprop::python {

namespace {

/// One explained batch, as numpy arrays (each shares the C++ result's memory).
struct PyResult {
    py::array logits, relevance;
    py::array_t<int64_t> targets;
    py::object node_relevance = py::none();
    std::string explained_output;
};

std::string one_of(const std::string& option, const std::string& value, const std::vector<std::string>& known) {
    for (const std::string& k : known)
        if (k == value) return value;
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    throw Error(option + ": '" + value + "' is not one of " + list);
}

/// "SELECTOR=RULE" texts from a dict {selector: rule} (in order; later entries win) or a list of such texts.
std::vector<std::string> rule_overrides(const py::object& rules) {
    std::vector<std::string> out;
    if (rules.is_none()) return out;
    if (py::isinstance<py::dict>(rules)) {
        for (const auto& [selector, rule] : rules.cast<py::dict>())
            out.push_back(py::str(selector).cast<std::string>() + "=" + py::str(rule).cast<std::string>());
        return out;
    }
    const std::string expected = "rules: expected a dict {selector: rule} or a list of 'SELECTOR=RULE' texts, got ";
    if (py::isinstance<py::str>(rules)) throw Error(expected + "the text '" + rules.cast<std::string>() + "'");
    if (!PySequence_Check(rules.ptr())) throw py::type_error(expected + type_name(rules));
    for (const py::handle text : py::reinterpret_borrow<py::sequence>(rules)) {
        if (!py::isinstance<py::str>(text))
            throw py::type_error(expected + type_name(rules) + " holding " + type_name(text));
        out.push_back(text.cast<std::string>());
    }
    return out;
}

/// An occlusion window or stride: one size for every dimension after the channels, or one per dimension.
std::vector<int64_t> window_sizes(const py::object& value, const std::string& what, const Model& model) {
    bool one = false;
    const std::vector<int64_t> sizes = int_list(value, what, &one);
    if (!one) return sizes;
    const size_t sample_rank = model.input_shape().size() - 1;
    return std::vector<int64_t>(sample_rank > 1 ? sample_rank - 1 : 1, sizes[0]);
}

/// None (each sample's highest output), one class for all, or one per sample (-1: that sample's highest).
std::vector<int64_t> target_list(const py::object& targets) {
    if (targets.is_none()) return {};
    bool one = false;
    return int_list(targets, "targets", &one);
}

struct Arguments {
    std::string method, composite;
    py::object rules;
    float epsilon, gamma;
    py::object low, high;
    bool zero_bias;
    std::string init;
    bool keep_node_relevance, use_rules;
    float noise_level;
    int samples;
    uint64_t seed;
    int steps;
    py::object baseline, window, stride;
    float fill;
    std::string occlusion_mode;
    int64_t max_batch;
    bool allow_nonfinite;
    std::string explain_output;
};

std::unique_ptr<Attributor> make_attributor(const Model& model, const Arguments& a) {
    AttributorOptions o;
    o.method = parse_method(a.method);
    o.composite = a.composite;
    o.rules = rule_overrides(a.rules);
    o.composite_options.epsilon = finite(a.epsilon, "epsilon");
    o.composite_options.gamma = finite(a.gamma, "gamma");
    if (!a.low.is_none()) o.composite_options.low = float_list(a.low, "low");
    if (!a.high.is_none()) o.composite_options.high = float_list(a.high, "high");
    o.composite_options.zero_bias = a.zero_bias;
    o.init = one_of("init", a.init, {"onehot", "logit"}) == "logit" ? RelevanceInit::OneHotLogit : RelevanceInit::OneHot;
    o.keep_node_relevance = a.keep_node_relevance;
    o.use_rules = a.use_rules;
    o.smoothgrad.noise_level = a.noise_level;
    o.smoothgrad.samples = a.samples;
    o.smoothgrad.seed = a.seed;
    o.smoothgrad.max_batch = a.max_batch;
    o.integrated_gradients.steps = a.steps;
    o.integrated_gradients.max_batch = a.max_batch;
    const FloatArray baseline = float_array(a.baseline, "baseline");
    require_finite(baseline.data(), static_cast<size_t>(baseline.size()), "baseline");
    if (baseline.ndim() == 0) {  // a number (also a numpy scalar or a 0-d array)
        o.integrated_gradients.baseline_value = *baseline.data();
    } else {  // copied: changing the caller's array later must not change what this Attributor computes
        Tensor copy = wrap(baseline).clone();
        if (copy.rank() + 1 == model.input_shape().size()) {  // one sample without the batch axis
            Shape s = copy.shape();
            s.insert(s.begin(), 1);
            copy = copy.reshaped(s);
        }
        o.integrated_gradients.baseline = copy;
    }
    o.occlusion.window = window_sizes(a.window, "window", model);
    o.occlusion.stride = a.stride.is_none() ? o.occlusion.window : window_sizes(a.stride, "stride", model);
    o.occlusion.fill = finite(a.fill, "fill");
    o.occlusion.mode = one_of("occlusion_mode", a.occlusion_mode, {"remove", "keep"}) == "keep" ? OcclusionMode::Keep
                                                                                               : OcclusionMode::Remove;
    o.occlusion.max_batch = a.max_batch;
    o.allow_nonfinite = a.allow_nonfinite;
    o.explain_output = one_of("explain_output", a.explain_output, {"logits", "probabilities"}) == "probabilities"
                           ? ExplainOutput::Probabilities
                           : ExplainOutput::Logits;
    py::gil_scoped_release free_python;  // preparing the rules can take a while on a large model
    const OpenMpCall openmp;
    return std::make_unique<Attributor>(model, std::move(o));
}

PyResult explain(const Attributor& attributor, const py::object& x, const py::object& targets) {
    const FloatArray input = float_array(x, "input");
    const std::vector<int64_t> target = target_list(targets);
    Result r;
    {
        py::gil_scoped_release free_python;
        const OpenMpCall openmp;
        r = attributor(wrap(input), target);
    }
    PyResult out;
    out.logits = to_numpy(r.logits);
    out.relevance = to_numpy(r.relevance);
    out.targets = py::array_t<int64_t>(static_cast<py::ssize_t>(r.targets.size()), r.targets.data());
    out.explained_output = r.explained_output;
    if (attributor.options().keep_node_relevance) {
        py::dict nodes;
        for (const auto& [name, t] : r.node_relevance) nodes[py::str(name)] = to_numpy(t);
        out.node_relevance = nodes;
    }
    return out;
}

py::list rule_table(const Attributor& attributor) {
    py::list out;
    const RuleAssignment* rules = attributor.rules();
    if (!rules) return out;
    const Graph& graph = *attributor.explained().graph;
    for (size_t i = 0; i < graph.nodes().size() && i < rules->rules.size(); ++i) {
        const Node& node = graph.nodes()[i];
        out.append(py::make_tuple(node.name, op_name(node.op->type()),
                                  rules->rules[i] ? rules->rules[i]->describe() : std::string("Gradient"),
                                  i < rules->sources.size() ? rules->sources[i] : std::string()));
    }
    return out;
}

}  // namespace

void bind_attributor(py::module_& m) {
    py::class_<PyResult>(m, "Result", "One explained batch (numpy arrays).")
        .def_readonly("logits", &PyResult::logits, "float32 [N, classes]: the output explained")
        .def_readonly("targets", &PyResult::targets, "int64 [N]: the class explained per sample")
        .def_readonly("relevance", &PyResult::relevance, "float32, shaped like the input: the attribution")
        .def_readonly("node_relevance", &PyResult::node_relevance,
                      "{node name: float32 array}: the relevance at each node's output (keep_node_relevance=True), else None")
        .def_readonly("explained_output", &PyResult::explained_output,
                      "'logits' (a final Softmax left out), 'probabilities' (kept) or 'output' (no final Softmax)")
        .def("__repr__", [](const PyResult& r) {
            return "relprop.Result(relevance=" + std::string(py::str(r.relevance.attr("shape"))) +
                   ", targets=" + std::string(py::str(r.targets.attr("tolist")())) + ")";
        });

    py::class_<Attributor>(m, "Attributor", R"doc(
One attribution method with its parameters, prepared once for a Model and called per batch.

Calling it releases the GIL; one Attributor may be called from several threads at once (on the CPU the
calls run concurrently, on a CUDA device one after another).
)doc")
        .def(py::init([](const Model& model, const std::string& method, const std::string& composite,
                         const py::object& rules, float epsilon, float gamma, const py::object& low,
                         const py::object& high, bool zero_bias, const std::string& init, bool keep_node_relevance,
                         bool use_rules, float noise_level, int samples, uint64_t seed, int steps,
                         const py::object& baseline, const py::object& window, const py::object& stride, float fill,
                         const std::string& occlusion_mode, int64_t max_batch, bool allow_nonfinite,
                         const std::string& explain_output) {
                 return make_attributor(model, {method, composite, rules, epsilon, gamma, low, high, zero_bias, init,
                                                keep_node_relevance, use_rules, noise_level, samples, seed, steps,
                                                baseline, window, stride, fill, occlusion_mode, max_batch,
                                                allow_nonfinite, explain_output});
             }),
             py::arg("model"), py::kw_only(), py::arg("method") = "lrp", py::arg("composite") = "epsilon-plus-flat",
             py::arg("rules") = py::none(), py::arg("epsilon") = 1e-6f, py::arg("gamma") = 0.25f,
             py::arg("low") = py::none(), py::arg("high") = py::none(), py::arg("zero_bias") = false,
             py::arg("init") = "onehot", py::arg("keep_node_relevance") = false, py::arg("use_rules") = false,
             py::arg("noise_level") = 0.1f, py::arg("samples") = 20, py::arg("seed") = 0, py::arg("steps") = 20,
             py::arg("baseline") = 0.0f, py::arg("window") = 8, py::arg("stride") = py::none(), py::arg("fill") = 0.0f,
             py::arg("occlusion_mode") = "remove", py::arg("max_batch") = 32, py::arg("allow_nonfinite") = false,
             py::arg("explain_output") = "logits",
             R"doc(
method: "lrp", "gradient", "input-x-gradient", "smoothgrad", "integrated-gradients", "occlusion".
LRP: composite ("epsilon-plus", "epsilon-plus-flat", "epsilon-gamma-box", "epsilon-alpha2-beta1",
    "epsilon-alpha2-beta1-flat"), rules (overrides: {selector: rule} or ["SELECTOR=RULE", ...], later
    ones winning; selectors "first", "#N", an op type such as "Conv" or "Linear", a node-name glob;
    rules such as "flat", "epsilon:0.1", "alpha-beta:1,0", "zplus", "gamma:0.25"), epsilon (Epsilon rule
    of dense layers), gamma, low/high (ZBox bounds of epsilon-gamma-box: a number or one per channel),
    zero_bias (zennit's zero_params=['bias']).
init: "onehot" (relevance 1 at the target, zennit's convention) or "logit" (the target's logit).
keep_node_relevance: also return the relevance at every node's output (Result.node_relevance).
smoothgrad: noise_level (sigma / (max - min) per sample), samples (zennit's n_iter), seed.
integrated-gradients: steps (zennit's n_iter), baseline (a number, or an array shaped like the input or
    like one sample; copied, so changing the array later changes nothing).
smoothgrad / integrated-gradients: use_rules averages the LRP (the composite) instead of the gradient.
occlusion: window and stride (one size for every dimension after the channels, or one per dimension;
    stride defaults to the window), fill, occlusion_mode ("remove" or zennit's "keep").
max_batch: most noisy inputs / path points / occluded inputs per forward pass.
allow_nonfinite: accept inputs with NaN/Inf (refused by default).
explain_output: for a model ending in a Softmax, "logits" (its input) or "probabilities".
Raises relprop.Error for an unknown method, composite or rule, an override matching no node, a NaN/Inf
number, ...;
TypeError for rules, window or stride of the wrong type.
)doc")
        .def("__call__", &explain, py::arg("x"), py::arg("targets") = py::none(), R"doc(
Explains a batch x [N, ...] shaped like the model's input. A C-contiguous float32 array is used in
place (no copy); anything else of bool, integer or float type is converted once. targets: None (each
sample's highest output), one class for all, or one per sample (integers; -1: that sample's highest).
Returns a Result. Raises relprop.Error (wrong shape, NaN/Inf, a target out of range, ...) or TypeError
(targets that are not integers).
)doc")
        .def_property_readonly("model", [](const Attributor& self) { return self.model(); },
                               "The Model explained.")
        .def_property_readonly("method", [](const Attributor& self) { return method_name(self.options().method); },
                               "The method's name.")
        .def_property_readonly("rules", &rule_table,
                               "LRP: (node name, op, rule, source) for every node of the explained graph; [] for the other methods.")
        .def("__repr__", [](const Attributor& self) {
            const AttributorOptions& o = self.options();
            return "relprop.Attributor(method='" + method_name(o.method) + "'" +
                   (o.method == Method::Lrp ? ", composite='" + o.composite + "'" : std::string()) + ")";
        });

    m.def(
        "_input_address",
        [](const py::object& x) {
            const FloatArray input = float_array(x, "input");
            return reinterpret_cast<uintptr_t>(wrap(input).data());
        },
        py::arg("x"), "The address an Attributor reads x from (tests: C-contiguous float32 arrays are not copied).");
    m.def("methods", &method_names, "The attribution methods' names.");
    m.def("composites", &composite_names, "The LRP composites' names.");
}

}  // namespace relprop::python
