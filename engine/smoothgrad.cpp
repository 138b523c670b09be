#include "engine/smoothgrad.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "relprop/error.hpp"

namespace relprop {

Attribution smoothgrad(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets,
                       const SmoothGradOptions& options, const Propagator& propagate) {
    if (options.samples < 1) throw Error("SmoothGrad: samples must be >= 1 (got " + std::to_string(options.samples) + ")");
    if (!(options.noise_level >= 0.0f) || !std::isfinite(options.noise_level))
        throw Error("SmoothGrad: the noise level must be a finite number >= 0 (got " +
                    std::to_string(options.noise_level) + ")");
    const Tensor x = host_copy(executor, input);
    // The noise-free sample first: its output is the result's, and it fixes argmax targets for all.
    Attribution result = gradient(executor, x, targets, propagate);
    if (options.samples == 1) return result;
    const int64_t n = x.dim(0), per = x.numel() / std::max<int64_t>(n, 1);
    std::vector<float> sigma(n);
    for (int64_t i = 0; i < n; ++i) {
        const auto [lo, hi] = std::minmax_element(x.data() + i * per, x.data() + (i + 1) * per);
        sigma[i] = per > 0 ? options.noise_level * (*hi - *lo) : 0.0f;
    }
    std::mt19937_64 rng(options.seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const Tensor noisy_sum = sum_of_gradients(
        executor, x.shape(), options.samples - 1,
        [&](int, float* dst) {
            for (int64_t i = 0; i < x.numel(); ++i) dst[i] = x[i] + sigma[i / per] * normal(rng);
        },
        result.targets, propagate, options.max_batch);
    for (int64_t i = 0; i < x.numel(); ++i) result.attribution[i] += noisy_sum[i];
    const float inv = 1.0f / static_cast<float>(options.samples);
    for (int64_t i = 0; i < x.numel(); ++i) result.attribution[i] *= inv;
    return result;
}

}  // namespace relprop
