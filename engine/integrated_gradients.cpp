#include "engine/integrated_gradients.h"

#include "relprop/error.hpp"

namespace relprop {

namespace {

// The baseline expanded to the input's shape, on the host.
Tensor expand_baseline(const Executor& executor, const Tensor& x, const IntegratedGradientsOptions& o) {
    Tensor b(x.shape());
    if (!o.baseline.defined()) {
        for (int64_t i = 0; i < b.numel(); ++i) b[i] = o.baseline_value;
        return b;
    }
    const Tensor given = host_copy(executor, o.baseline);
    Shape one = x.shape();
    one[0] = 1;
    if (given.shape() != x.shape() && given.shape() != one)
        throw Error("Integrated Gradients: the baseline is " + shape_str(given.shape()) + "; expected the input's shape " +
                    shape_str(x.shape()) + " or one sample's " + shape_str(one));
    const int64_t per = given.numel();
    for (int64_t i = 0; i < b.numel(); ++i) b[i] = given[i % per];
    return b;
}

}  // namespace

Attribution integrated_gradients(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets,
                                 const IntegratedGradientsOptions& options, const Propagator& propagate) {
    if (options.steps < 1)
        throw Error("Integrated Gradients: steps must be >= 1 (got " + std::to_string(options.steps) + ")");
    const Tensor x = host_copy(executor, input);
    const Tensor b = expand_baseline(executor, x, options);
    // α = 1 first: the output is the input's, and it fixes argmax targets for every step.
    Attribution result = gradient(executor, x, targets, propagate);
    const Tensor path_sum = sum_of_gradients(
        executor, x.shape(), options.steps - 1,
        [&](int k, float* dst) {
            const float alpha = static_cast<float>(k + 1) / static_cast<float>(options.steps);
            for (int64_t i = 0; i < x.numel(); ++i) dst[i] = b[i] + alpha * (x[i] - b[i]);
        },
        result.targets, propagate, options.max_batch);
    for (int64_t i = 0; i < x.numel(); ++i) result.attribution[i] += path_sum[i];
    const float inv = 1.0f / static_cast<float>(options.steps);
    for (int64_t i = 0; i < x.numel(); ++i) result.attribution[i] *= inv * (x[i] - b[i]);
    return result;
}

}  // namespace relprop
