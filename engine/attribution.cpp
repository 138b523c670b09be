#include "engine/attribution.h"

#include <algorithm>

#include "relprop/error.hpp"

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

void require_single_io(const Graph& graph, const std::string& what) {
    if (graph.inputs().size() != 1 || graph.outputs().size() != 1)
        throw Error(what + " needs a graph with one input and one output (this one has " +
                    std::to_string(graph.inputs().size()) + " and " + std::to_string(graph.outputs().size()) + ")");
}

Tensor host_copy(const Executor& executor, const Tensor& t) {
    return t.device() == Device::CPU ? t : executor.backend().download(t);
}

TargetPass reverse_from_targets(const Executor& executor, const Activations& acts, const Tensor& host_output,
                                const std::vector<int64_t>& targets, const Propagator& propagate, bool times_logit) {
    const Graph& graph = executor.graph();
    require_single_io(graph, "an attribution");
    TargetPass pass;
    pass.targets = resolve_targets(host_output, targets);
    Tensor seed = one_hot(host_output.shape(), pass.targets);
    if (times_logit)
        for (int64_t i = 0; i < seed.numel(); ++i) seed[i] *= host_output[i];
    pass.at_value = executor.reverse(acts, {{graph.outputs()[0], seed}}, propagate);
    const Tensor& at_input = pass.at_value[graph.inputs()[0]];
    // The output may not depend on the input at all: then the gradient is zero.
    pass.at_input = at_input.defined() ? executor.backend().download(at_input) : Tensor(acts[graph.inputs()[0]].shape());
    return pass;
}

Attribution gradient(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets,
                     const Propagator& propagate) {
    require_single_io(executor.graph(), "gradient attribution");
    const Activations acts = executor.forward({input});
    Attribution result;
    result.output = executor.backend().download(acts.output());
    TargetPass pass = reverse_from_targets(executor, acts, result.output, targets, propagate);
    result.targets = std::move(pass.targets);
    result.attribution = std::move(pass.at_input);
    return result;
}

int64_t copies_per_pass(const Graph& graph, int64_t n, int64_t max_batch) {
    const Shape& declared = graph.input_shapes().at(0);
    const bool free_batch = !declared.empty() && declared[0] < 0;
    return free_batch ? std::max<int64_t>(1, max_batch / std::max<int64_t>(n, 1)) : 1;
}

Tensor sum_of_gradients(const Executor& executor, const Shape& shape, int count,
                        const std::function<void(int, float*)>& make_point, const std::vector<int64_t>& targets,
                        const Propagator& propagate, int64_t max_batch) {
    if (max_batch < 1) throw Error("max_batch must be >= 1 (got " + std::to_string(max_batch) + ")");
    const int64_t n = shape.at(0), numel = shape_numel(shape);
    const int64_t group = copies_per_pass(executor.graph(), n, max_batch);
    Tensor sum(shape);
    for (int64_t first = 0; first < count; first += group) {  // int64: a group of 2^32 points cast to int was 0
        const int copies = static_cast<int>(std::min<int64_t>(group, count - first));
        Shape stacked = shape;
        stacked[0] = n * copies;
        Tensor points(stacked);
        std::vector<int64_t> stacked_targets;
        for (int c = 0; c < copies; ++c) {
            make_point(static_cast<int>(first) + c, points.data() + c * numel);
            stacked_targets.insert(stacked_targets.end(), targets.begin(), targets.end());
        }
        const Attribution g = gradient(executor, points, stacked_targets, propagate);
        for (int c = 0; c < copies; ++c)
            for (int64_t i = 0; i < numel; ++i) sum[i] += g.attribution[c * numel + i];
    }
    return sum;
}

Attribution gradient_x_input(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets,
                             const Propagator& propagate) {
    Attribution result = gradient(executor, input, targets, propagate);
    const Tensor host_input = host_copy(executor, input);
    for (int64_t i = 0; i < host_input.numel(); ++i) result.attribution[i] *= host_input[i];
    return result;
}

}  // namespace relprop
