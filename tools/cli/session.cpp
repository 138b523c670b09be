#include <cstdio>
#include <cstdlib>

#include "relprop/error.hpp"
#include "rules/rules.h"
#include "tools/cli/commands.h"

namespace relprop::cli {

Model open_model(const ModelOptions& options) {
    LoadOptions load;
    load.canonize = options.canonize;
    load.device = options.device;
    load.import.allow_nonfinite = options.allow_nonfinite;
    Model model = Model::load(options.model, load);
    if (options.device == "auto") {
        // Under a scheduler each task sees only the GPU it was given (CUDA_VISIBLE_DEVICES), as cuda:0.
        const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
        const std::string given = visible ? std::string("CUDA_VISIBLE_DEVICES=") + visible : "CUDA_VISIBLE_DEVICES unset";
        if (model.device().starts_with("cpu"))
            std::fprintf(stderr, "relprop: --device auto: no usable CUDA GPU (%s); running on the CPU\n", given.c_str());
        else
            std::fprintf(stderr, "relprop: --device auto: %s (%s)\n", model.device().c_str(), given.c_str());
    }
    return model;
}

CompositeOptions composite_options_for(const ModelOptions& options, const std::vector<float>& default_low,
                                       const std::vector<float>& default_high) {
    CompositeOptions c;
    c.epsilon = options.epsilon;
    c.zero_bias = options.zero_bias;
    c.low = options.low.empty() ? default_low : parse_floats(options.low, "--low");
    c.high = options.high.empty() ? default_high : parse_floats(options.high, "--high");
    if (options.composite == "epsilon-gamma-box" && (c.low.empty() || c.high.empty()))
        throw Error("--composite epsilon-gamma-box needs --low and --high (the input's value range) for .npy inputs");
    return c;
}

RuleAssignment rules_for(const Model& model, const ModelOptions& options, const std::vector<float>& default_low,
                         const std::vector<float>& default_high) {
    return assign_rules(model.graph(), options.composite, composite_options_for(options, default_low, default_high),
                        options.rules);
}

}  // namespace relprop::cli
