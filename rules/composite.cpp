#include "rules/composite.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

#include "relprop/error.hpp"
#include "layers/op_registry.h"
#include "rules/rules.h"

namespace relprop {

namespace {

const char* const kComposites[] = {"epsilon-plus", "epsilon-plus-flat", "epsilon-gamma-box", "epsilon-alpha2-beta1",
                                   "epsilon-alpha2-beta1-flat"};

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Whether `text` names op type `type` (relprop's or an ONNX name, case-insensitive).
bool names_op(const std::string& text, OpType type) {
    if (lower(text) == lower(op_name(type))) return true;
    for (const std::string& onnx : op_onnx_types(type))
        if (lower(text) == lower(onnx)) return true;
    return false;
}

bool is_op_name(const std::string& text) {
    for (size_t t = 0; t < op_names().size(); ++t)
        if (names_op(text, static_cast<OpType>(t))) return true;
    return false;
}

bool matches(const Graph& graph, int node, const std::string& selector) {
    const Node& n = graph.nodes()[node];
    if (selector == "first") return node == first_layer(graph, true);
    if (!selector.empty() && selector[0] == '#') {
        try {
            size_t used = 0;
            const int index = std::stoi(selector.substr(1), &used);
            if (used + 1 != selector.size()) throw std::invalid_argument(selector);
            return index == node;
        } catch (const std::exception&) {
            throw Error("rule selector '" + selector + "': expected #N with N a node index");
        }
    }
    if (selector.rfind("op:", 0) == 0) {
        if (!is_op_name(selector.substr(3)))
        {
            std::string known;
            for (const std::string& op : op_names()) known += (known.empty() ? "" : ", ") + op;
            throw Error("rule selector '" + selector + "': unknown op type; relprop's op types are " + known);
        }
        return names_op(selector.substr(3), n.op->type());
    }
    if (selector.rfind("name:", 0) == 0) return fnmatch(selector.substr(5).c_str(), n.name.c_str(), 0) == 0;
    if (is_op_name(selector)) return names_op(selector, n.op->type());
    return fnmatch(selector.c_str(), n.name.c_str(), 0) == 0;
}

}  // namespace

std::vector<std::string> composite_names() {
    return {std::begin(kComposites), std::end(kComposites)};
}

int first_layer(const Graph& graph, bool include_dense) {
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
        const OpType t = graph.nodes()[i].op->type();
        if (t == OpType::Conv || (include_dense && t == OpType::Linear)) return static_cast<int>(i);
    }
    return -1;
}

RuleAssignment assign_rules(const Graph& graph, const std::string& composite, const CompositeOptions& o,
                            const std::vector<RuleOverride>& overrides) {
    std::string name = lower(composite);
    std::replace(name.begin(), name.end(), '_', '-');
    if (std::find(std::begin(kComposites), std::end(kComposites), name) == std::end(kComposites)) {
        std::string known;
        for (const char* c : kComposites) known += std::string(known.empty() ? "" : ", ") + c;
        throw Error("composite '" + composite + "' not found; known composites: " + known);
    }
    const RuleOptions ro{1e-6f, o.zero_bias};
    std::shared_ptr<const Rule> conv_rule, first_rule;
    int first = -1;
    if (name == "epsilon-plus" || name == "epsilon-plus-flat") conv_rule = make_zplus(ro);
    if (name == "epsilon-alpha2-beta1" || name == "epsilon-alpha2-beta1-flat") conv_rule = make_alpha_beta(2, 1, ro);
    if (name.size() > 5 && name.compare(name.size() - 5, 5, "-flat") == 0) {
        first_rule = make_flat(ro);
        first = first_layer(graph, true);
    }
    if (name == "epsilon-gamma-box") {
        if (o.low.empty() || o.high.empty())
            throw Error("composite epsilon-gamma-box needs the input bounds low and high (ZBox of the first conv)");
        conv_rule = make_gamma(o.gamma, ro);
        first_rule = make_zbox(o.low, o.high, ro);
        first = first_layer(graph, false);
    }
    const auto dense_rule = make_epsilon(o.epsilon, o.zero_bias);
    const auto pass = make_pass();
    const auto norm = make_norm(ro);

    // The composite's layer map, by category (zennit's LAYER_MAP with its Activation, Linear, AvgPool,
    // BatchNorm and Sum types) and, inside the linear category, by op type. Categories without an entry
    // get the gradient only where that is their documented default (category_defaults_to_gradient).
    const std::map<OpCategory, std::shared_ptr<const Rule>> by_category{
        {OpCategory::Activation, pass},
        {OpCategory::Normalization, pass},
        {OpCategory::SumPooling, norm},
    };
    const std::map<OpType, std::shared_ptr<const Rule>> linear_rules{
        {OpType::Conv, conv_rule}, {OpType::Linear, dense_rule}, {OpType::Add, norm}};

    // Op types whose rule differs from their category's: zennit hooks no rule on LayerNorm (its BatchNorm
    // type is _BatchNorm only), so autograd's gradient runs through it (null: the gradient).
    const std::map<OpType, std::shared_ptr<const Rule>> by_type{{OpType::LayerNormalization, nullptr}};

    RuleAssignment a;
    std::vector<size_t> unresolved;  // nodes the composite has no rule for (an override may give one)
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
        const Op& op = *graph.nodes()[i].op;
        const OpCategory category = op.category();
        std::shared_ptr<const Rule> rule;
        bool has_rule = false;
        if (auto t = by_type.find(op.type()); t != by_type.end()) {
            has_rule = true;
            rule = t->second;
        } else if (category == OpCategory::Linear) {
            auto it = linear_rules.find(op.type());
            has_rule = it != linear_rules.end();
            if (has_rule) rule = it->second;
        } else {
            auto it = by_category.find(category);
            has_rule = it != by_category.end();
            if (has_rule) rule = it->second;
        }
        if (static_cast<int>(i) == first) rule = first_rule, has_rule = true;
        if (!has_rule && !category_defaults_to_gradient(category)) unresolved.push_back(i);
        a.rules.push_back(rule);
        a.sources.push_back(static_cast<int>(i) == first ? "composite (first layer)" : "composite");
    }
    for (const RuleOverride& ov : overrides) {
        bool any = false;
        for (size_t i = 0; i < graph.nodes().size(); ++i) {
            if (!matches(graph, static_cast<int>(i), ov.selector)) continue;
            a.rules[i] = ov.rule;
            a.sources[i] = "override '" + ov.selector + "'";
            any = true;
        }
        if (!any) throw Error("rule override '" + ov.selector + "' matches no node of the model");
    }
    for (size_t i : unresolved) {
        if (a.sources[i] != "composite") continue;
        const Op& op = *graph.nodes()[i].op;
        throw Error(graph.node_label(static_cast<int>(i)) + ": composite " + name + " has no rule for category " +
                    category_name(op.category()) + " (op " + op_name(op.type()) + "); give it one with an override, e.g. "
                    "--rule '" + op_name(op.type()) + "=gradient'");
    }
    return a;
}

RuleAssignment assign_rules(const Graph& graph, const std::string& composite, const CompositeOptions& options,
                            const std::vector<std::string>& override_specs) {
    std::vector<RuleOverride> overrides;
    for (const std::string& spec : override_specs) overrides.push_back(parse_override(spec));
    return assign_rules(graph, composite, options, overrides);
}

RuleOverride parse_override(const std::string& text) {
    // Split at the first '=' that is followed by a rule name (node names may contain '=').
    for (size_t pos = text.find('='); pos != std::string::npos; pos = text.find('=', pos + 1)) {
        const std::string rule = text.substr(pos + 1);
        if (pos > 0 && is_rule_name(rule.substr(0, rule.find(':')))) return {text.substr(0, pos), parse_rule(rule)};
    }
    throw Error("rule override '" + text + "': expected SELECTOR=RULE with RULE one of " + [] {
        std::string known;
        for (const std::string& n : rule_names()) known += (known.empty() ? "" : ", ") + n;
        return known;
    }() + " (e.g. Conv=zplus, features.0=flat, #3=epsilon:0.25)");
}

std::string rule_listing(const Graph& graph, const RuleAssignment& a) {
    std::ostringstream out;
    // Names come from the model: control characters are escaped (printable), so a name cannot break
    // the table or reach the terminal as an escape sequence.
    std::vector<std::string> names;
    size_t width = 4;
    for (const Node& n : graph.nodes()) width = std::max(width, names.emplace_back(printable(n.name)).size());
    out << "  #  " << std::string("node") + std::string(width - 4, ' ') << "  op             output shape        rule\n";
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
        const Node& n = graph.nodes()[i];
        std::string idx = std::to_string(i), op = op_name(n.op->type()), shape = shape_str(graph.values()[n.output].shape);
        out << std::string(3 - std::min<size_t>(3, idx.size()), ' ') << idx << "  " << names[i]
            << std::string(width - names[i].size(), ' ') << "  " << op << std::string(op.size() < 15 ? 15 - op.size() : 1, ' ')
            << shape << std::string(20 - std::min<size_t>(20, shape.size()), ' ')
            << (a.rules[i] ? a.rules[i]->describe() : "Gradient()") << "  [" << printable(a.sources[i]) << "]\n";
    }
    return out.str();
}

}  // namespace relprop
