#include "engine/error.h"
#include "rules/rules.h"
#include "tools/cli/commands.h"

namespace relprop::cli {

Session open_model(const ModelOptions& options) {
    Session s;
    s.model = load_onnx(options.model);
    s.canonized = canonize(s.model.graph, options.canonize);
    s.graph = std::make_shared<const Graph>(s.canonized.graph);
    s.backend = make_backend(options.device);
    return s;
}

RuleAssignment rules_for(const Session& session, const ModelOptions& options, const std::vector<float>& default_low,
                         const std::vector<float>& default_high) {
    CompositeOptions c;
    c.epsilon = options.epsilon;
    c.zero_bias = options.zero_bias;
    c.low = options.low.empty() ? default_low : parse_floats(options.low, "--low");
    c.high = options.high.empty() ? default_high : parse_floats(options.high, "--high");
    if (options.composite == "epsilon-gamma-box" && (c.low.empty() || c.high.empty()))
        throw Error("--composite epsilon-gamma-box needs --low and --high (the input's value range) for .npy inputs");
    std::vector<RuleOverride> overrides;
    for (const std::string& r : options.rules) overrides.push_back(parse_override(r));
    return assign_rules(*session.graph, options.composite, c, overrides);
}

}  // namespace relprop::cli
