// `relprop inspect`: the imported and canonized graph with the rule each node gets.
#include <cstdio>

#include "relprop/error.hpp"
#include "relprop/image.hpp"
#include "relprop/attributor.hpp"
#include "tools/cli/commands.h"

namespace relprop::cli {

int run_inspect(const ModelOptions& mo) {
    const Model s = open_model(mo);
    // Without --low/--high, show epsilon-gamma-box's ZBox with the bounds explain uses for images
    // preprocessed the default way.
    const Preprocess p;
    const Shape& in = s.input_shape();
    const int64_t channels = in.size() == 4 ? image_channels(in) : in.size() > 1 ? in[1] : 1;
    const bool rgb = channels == 3;
    const RuleAssignment rules = rules_for(s, mo, rgb ? input_bounds_low(p, 3) : std::vector<float>{-3.0f},
                                           rgb ? input_bounds_high(p, 3) : std::vector<float>{3.0f});
    std::printf("model %s: opset %lld, producer %s, input %s, %zu nodes after canonization (%zu before)\n",
                printable(mo.model).c_str(), static_cast<long long>(s.imported().opset),
                printable(s.imported().producer).c_str(),
                shape_str(in).c_str(), s.graph().nodes().size(), s.imported().graph.nodes().size());
    if (in.size() == 4)
        std::printf("input layout: %s (images are fed and relevance .npy written in it)\n",
                    layout_name(image_layout(in)));
    // explain and evaluate leave a final Softmax out by default (api/relprop/attributor.hpp, explained_graph).
    const ExplainedGraph explained = explained_graph(s, ExplainOutput::Logits);
    if (explained.output_kind == "logits")
        std::printf("explained output: %s; the Softmax is left out of explanations by default "
                    "(explain/evaluate --explain-output probabilities keep it, with the gradient rule)\n",
                    explained.description.c_str());
    else
        std::printf("explained output: %s\n", explained.description.c_str());
    std::printf("rules (%s):\n%s", mo.composite.c_str(), rule_listing(s.graph(), rules).c_str());
    std::printf("canonization (%s): %zu change(s)\n", mo.canonize.c_str(), s.canonize_changes().size());
    // Names from the model are escaped (printable): one line each, no terminal escape sequences.
    for (const std::string& c : s.canonize_changes()) std::printf("  %s\n", printable(c).c_str());
    if (!s.imported().notes.empty()) std::printf("import notes:\n");
    for (const std::string& n : s.imported().notes) std::printf("  %s\n", printable(n).c_str());
    return 0;
}

}  // namespace relprop::cli
