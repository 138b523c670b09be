/// @file
/// Canonization pipelines: "auto" (remove-identity, cancel-transposes, fuse-activations, fuse-layernorm,
/// affine-to-batchnorm, input-affine, merge-batchnorm, densenet), "none", or a
/// comma-separated list of pass names ("auto,fold-batchnorm", "auto,-densenet"). Passes always run in
/// the order below, whatever the order of the list.
#pragma once

#include <string>
#include <vector>

#include "canonize/graph_editor.h"

namespace relprop {

/// remove-identity, cancel-transposes, fuse-activations, fuse-layernorm, affine-to-batchnorm, input-affine,
/// merge-batchnorm, fold-batchnorm, densenet — the order they run in.
std::vector<std::string> canonize_pass_names();

struct CanonizeResult {
    Graph graph;
    std::vector<std::string> changes;  ///< "merge-batchnorm: merged BatchNorm 'bn1' into Conv 'conv1'"
};

/// Throws relprop::Error naming an unknown pass (and listing the known ones).
CanonizeResult canonize(const Graph& graph, const std::string& spec = "auto");

}  // namespace relprop
