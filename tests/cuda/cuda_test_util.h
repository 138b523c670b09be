// Helpers shared by the CUDA test files: random tensors, a CPU and a GPU backend, and comparisons of a
// GPU result with the CPU's (the reference).
#pragma once

#include <doctest/doctest.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "engine/backend.h"
#include "tests/seeded_tensor.h"

namespace relprop::cuda_test {

inline Tensor random_tensor(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    return test::seeded_tensor(shape, seed, lo, hi);
}

using test::relative_l2;

struct Backends {
    std::unique_ptr<Backend> cpu = make_backend("cpu");
    std::unique_ptr<Backend> gpu = make_backend("cuda");
};

// max |expected - actual| / max |expected| (absolute when expected is all zero). Host tensors.
inline double relative_error(const Tensor& expected, const Tensor& actual) {
    double diff = 0.0, scale = 0.0;
    for (int64_t i = 0; i < expected.numel(); ++i) {
        diff = std::max(diff, std::abs(static_cast<double>(expected[i]) - actual[i]));
        scale = std::max(scale, std::abs(static_cast<double>(expected[i])));
    }
    return scale > 0.0 ? diff / scale : diff;
}

inline bool all_finite(const Tensor& host) {
    for (int64_t i = 0; i < host.numel(); ++i)
        if (!std::isfinite(host[i])) return false;
    return true;
}

// `actual` is a CUDA tensor; it is downloaded and compared with the CPU tensor `expected`. Returns the
// relative error (max-norm).
inline double check_close(Backend& gpu, const Tensor& expected, const Tensor& actual, double tolerance) {
    REQUIRE(actual.device() == Device::CUDA);
    Tensor host = gpu.download(actual);
    REQUIRE(host.shape() == expected.shape());
    const double err = relative_error(expected, host);
    INFO("relative error " << err << " (tolerance " << tolerance << ") for shape " << shape_str(expected.shape()));
    CHECK(err <= tolerance);
    return err;
}

inline void check_equal(Backend& gpu, const Tensor& expected, const Tensor& actual) {
    Tensor host = gpu.download(actual);
    REQUIRE(host.shape() == expected.shape());
    int64_t mismatches = 0;
    for (int64_t i = 0; i < expected.numel(); ++i)
        mismatches += !(expected[i] == host[i] || (std::isnan(expected[i]) && std::isnan(host[i])));
    INFO(mismatches << " of " << expected.numel() << " elements differ for shape " << shape_str(expected.shape()));
    CHECK(mismatches == 0);
}

// Device memory in use (total − free), after waiting for the device.
inline double device_used_mib() {
    REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
    size_t free_bytes = 0, total = 0;
    REQUIRE(cudaMemGetInfo(&free_bytes, &total) == cudaSuccess);
    return static_cast<double>(total - free_bytes) / (1024.0 * 1024.0);
}

// Elementwise kernels: fused multiply-add or not, results round the same to within this.
constexpr double kElementwiseTolerance = 1e-6;
// GEMM and convolution (different summation orders in FP32) and whole rules: the bound.
constexpr double kTolerance = 1e-4;

}  // namespace relprop::cuda_test
