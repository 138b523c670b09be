/// @file
/// Composites: which rule each node of a graph gets (zennit's presets), plus user overrides by op type,
/// node name glob, node index and first layer (a later override wins).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "relprop/method_options.hpp"  // CompositeOptions
#include "rules/rule.h"

namespace relprop {

/// SELECTOR: "first" (the first Conv or Linear node), "#N" (node index), "op:TYPE" or a bare op type
/// (relprop's name, e.g. Conv, Linear, or an ONNX type, e.g. Gemm; case-insensitive), "name:GLOB" or a
/// bare glob on node names (*, ?, [...]).
struct RuleOverride {
    std::string selector;
    std::shared_ptr<const Rule> rule;
};

/// The rule of every node (index = node index; null means the gradient) and where it came from.
struct RuleAssignment {
    std::vector<std::shared_ptr<const Rule>> rules;
    std::vector<std::string> sources;  ///< "composite", "override 'conv*'"
};

std::vector<std::string> composite_names();

/// Throws relprop::Error for an unknown composite (listing the known ones), epsilon-gamma-box without
/// bounds, or an override that matches no node.
RuleAssignment assign_rules(const Graph& graph, const std::string& composite, const CompositeOptions& options = {},
                            const std::vector<RuleOverride>& overrides = {});

/// The same with the overrides as "SELECTOR=RULE" texts (parse_override): the one builder of a composite plus
/// overrides that the C++ API (Attributor) and the command line both use.
RuleAssignment assign_rules(const Graph& graph, const std::string& composite, const CompositeOptions& options,
                            const std::vector<std::string>& override_specs);

/// "SELECTOR=RULE" (RULE as parse_rule takes it).
RuleOverride parse_override(const std::string& text);

/// Index of the first Conv (or Linear, if include_dense) node in topological order, or -1.
int first_layer(const Graph& graph, bool include_dense = true);

/// A table: index, node name, op, output shape, rule, source.
std::string rule_listing(const Graph& graph, const RuleAssignment& assignment);

}  // namespace relprop
