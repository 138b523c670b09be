#include "relprop/error.hpp"
#include "rules/rules.h"
#include "tools/cli/commands.h"

namespace relprop::cli {

Model open_model(const ModelOptions& options) {
    LoadOptions load;
    load.canonize = options.canonize;
    load.device = options.device;
    load.import.allow_nonfinite = options.allow_nonfinite;
    return Model::load(options.model, load);
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
