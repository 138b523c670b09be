// The subcommands of `relprop`. Each returns the process exit code; errors are thrown as
// relprop::Error (exit 1) by the caller's handler.
#pragma once

#include <memory>
#include <string>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "io/onnx_import.h"
#include "rules/composite.h"
#include "tools/cli/options.h"

namespace relprop::cli {

struct OutputOptions {
    std::string out;      // relevance .npy
    std::string heatmap;  // PNG file, or a folder for a batch
    std::string cmap = "bwr";
    bool asymmetric = false;
    bool overlay = false;
    int heatmap_scale = 1;
    bool json = false;
};

// A model loaded, canonized and put on a backend.
struct Session {
    OnnxModel model;
    CanonizeResult canonized;
    std::shared_ptr<const Graph> graph;
    std::unique_ptr<Backend> backend;
};

Session open_model(const ModelOptions& options);
// The rule of every node: the composite, its options (bounds: --low/--high, else `default_low/high`)
// and the --rule overrides.
RuleAssignment rules_for(const Session& session, const ModelOptions& options, const std::vector<float>& default_low,
                         const std::vector<float>& default_high);

int run_explain(const ModelOptions& model, const InputOptions& inputs, const ExplainOptions& explain,
                const OutputOptions& output);
int run_check(const ModelOptions& model, const InputOptions& inputs, const ExplainOptions& explain);
int run_inspect(const ModelOptions& model);

}  // namespace relprop::cli
