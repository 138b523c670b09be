// Argument checks and launch helpers shared by the CUDA backend's files (CUDA-only header).
// Shapes are validated when the graph is built; these checks catch misuse of the Backend API and
// throw relprop::Error naming the kernel and the argument.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>

#include "relprop/error.hpp"
#include "relprop/tensor.hpp"

namespace relprop::cuda_detail {

[[noreturn]] inline void fail(const char* kernel, const std::string& what) {
    throw Error(std::string("CUDA backend: ") + kernel + ": " + what);
}

inline void require_cuda(const Tensor& t, const char* kernel, const char* arg) {
    if (!t.defined()) fail(kernel, std::string(arg) + " is an undefined tensor");
    if (t.device() != Device::CUDA)
        fail(kernel, std::string(arg) + " is a " + device_name(t.device()) + " tensor; upload it to the GPU first");
}

inline void require_numel(const Tensor& t, int64_t numel, const char* kernel, const char* arg) {
    if (t.numel() != numel)
        fail(kernel, std::string(arg) + " has shape " + shape_str(t.shape()) + " (" + std::to_string(t.numel()) +
                         " elements), expected " + std::to_string(numel) + " elements");
}

inline void require_rank(const Tensor& t, size_t rank, const char* kernel, const char* arg) {
    if (t.rank() != rank)
        fail(kernel, std::string(arg) + " has shape " + shape_str(t.shape()) + ", expected rank " +
                         std::to_string(rank));
}

// A dimension for an API that takes int (cuBLAS, cuDNN).
inline int int_dim(int64_t d, const char* kernel) {
    if (d < 0 || d > INT_MAX) fail(kernel, "dimension " + std::to_string(d) + " does not fit the library's int");
    return static_cast<int>(d);
}

constexpr int kThreads = 256;
// Enough blocks to fill an H100 several times over; grid-stride loops cover the rest.
constexpr int64_t kMaxBlocks = 8192;

inline unsigned blocks_for(int64_t n) {
    return static_cast<unsigned>(std::clamp<int64_t>((n + kThreads - 1) / kThreads, 1, kMaxBlocks));
}

#ifdef __CUDACC__
__device__ inline int64_t first_index() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t grid_stride() { return static_cast<int64_t>(blockDim.x) * gridDim.x; }
#endif

}  // namespace relprop::cuda_detail
