#include "engine/attribution.h"

#include <algorithm>

#include "engine/error.h"

namespace relprop {

std::vector<int64_t> resolve_targets(const Tensor& output, const std::vector<int64_t>& targets) {
    if (output.rank() < 1 || output.dim(0) < 1) throw Error("the model output " + shape_str(output.shape()) + " has no batch");
    const int64_t n = output.dim(0), per = output.numel() / n;
    if (!targets.empty() && static_cast<int64_t>(targets.size()) != n && targets.size() != 1)
        throw Error("got " + std::to_string(targets.size()) + " targets for a batch of " + std::to_string(n));
    std::vector<int64_t> out(n);
    for (int64_t i = 0; i < n; ++i) {
        int64_t t = targets.empty() ? -1 : targets[targets.size() == 1 ? 0 : i];
        if (t == -1) {
            const float* row = output.data() + i * per;
            t = std::max_element(row, row + per) - row;
        } else if (t < 0 || t >= per) {
            throw Error("target " + std::to_string(t) + " is out of range: the model has " + std::to_string(per) +
                        " outputs per sample");
        }
        out[i] = t;
    }
    return out;
}

Tensor one_hot(const Shape& output_shape, const std::vector<int64_t>& targets) {
    Tensor t(output_shape);
    const int64_t per = t.numel() / std::max<int64_t>(output_shape.at(0), 1);
    for (size_t i = 0; i < targets.size(); ++i) t[static_cast<int64_t>(i) * per + targets[i]] = 1.0f;
    return t;
}

Attribution gradient(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets) {
    Backend& backend = executor.backend();
    const Graph& graph = executor.graph();
    if (graph.inputs().size() != 1 || graph.outputs().size() != 1)
        throw Error("gradient attribution needs a graph with one input and one output");
    const Activations acts = executor.forward({input});
    Attribution result;
    result.output = backend.download(acts.output());
    result.targets = resolve_targets(result.output, targets);
    const std::vector<Tensor> signal =
        executor.reverse(acts, {{graph.outputs()[0], one_hot(result.output.shape(), result.targets)}});
    const Tensor& at_input = signal[graph.inputs()[0]];
    // The output may not depend on the input at all: then the gradient is zero.
    result.attribution = at_input.defined() ? backend.download(at_input) : Tensor(input.shape());
    return result;
}

Attribution gradient_x_input(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets) {
    Attribution result = gradient(executor, input, targets);
    const Tensor host_input = input.device() == Device::CPU ? input : executor.backend().download(input);
    for (int64_t i = 0; i < host_input.numel(); ++i) result.attribution[i] *= host_input[i];
    return result;
}

}  // namespace relprop
