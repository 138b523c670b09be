// Seeded random tensors and the relative L2 error, shared by the CPU and CUDA test suites.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "relprop/tensor.hpp"

namespace relprop::test {

// Uniform values in [lo, hi) from std::mt19937(seed): the same values on every machine and backend.
inline Tensor seeded_tensor(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> values(static_cast<size_t>(shape_numel(shape)));
    for (float& v : values) v = dist(rng);
    return Tensor(shape, values);
}

// ‖expected − actual‖₂ / ‖expected‖₂ (absolute when expected is zero). Host tensors.
inline double relative_l2(const Tensor& expected, const Tensor& actual) {
    double diff = 0.0, norm = 0.0;
    for (int64_t i = 0; i < expected.numel(); ++i) {
        const double d = static_cast<double>(expected[i]) - actual[i];
        diff += d * d;
        norm += static_cast<double>(expected[i]) * expected[i];
    }
    return norm > 0.0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

}  // namespace relprop::test
