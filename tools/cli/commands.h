// The subcommands of `relprop`. Each returns the process exit code; errors are thrown as
// relprop::Error (exit 1) by the caller's handler.
#pragma once

#include <memory>
#include <string>

#include "engine/backend.h"
#include "engine/graph.h"
#include "io/onnx_import.h"
#include "relprop/model.hpp"
#include "rules/composite.h"
#include "tools/cli/options.h"

namespace relprop::cli {

struct OutputOptions {
    std::string out;      // relevance .npy
    std::string out_dir;  // batch mode: per-input .npy + heatmap + index, resumable
    std::string shard;    // with out_dir: "K/N", "auto" or "auto/N" (tools/cli/shard.h); empty: all inputs
    std::string heatmap;  // PNG file, or a folder for a batch
    std::string cmap = "bwr";
    bool asymmetric = false;
    bool overlay = false;
    int heatmap_scale = 1;
    bool json = false;
};

// The model loaded, canonized and put on the --device (through the public API, api/relprop/model.hpp).
Model open_model(const ModelOptions& options);
// The composite's options: --epsilon, --zero-bias, the bounds (--low/--high, else `default_low/high`).
CompositeOptions composite_options_for(const ModelOptions& options, const std::vector<float>& default_low,
                                       const std::vector<float>& default_high);
// The rule of every node: the composite, its options (composite_options_for) and the --rule overrides.
RuleAssignment rules_for(const Model& model, const ModelOptions& options, const std::vector<float>& default_low,
                         const std::vector<float>& default_high);

int run_explain(const ModelOptions& model, const InputOptions& inputs, const ExplainOptions& explain,
                const OutputOptions& output);
int run_check(const ModelOptions& model, const InputOptions& inputs, const ExplainOptions& explain);
int run_inspect(const ModelOptions& model);

}  // namespace relprop::cli
