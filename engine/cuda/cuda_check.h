// RELPROP_CUDA_CHECK(call): turns a failed cudaError_t / cublasStatus_t / cudnnStatus_t into a
// relprop::Error naming the call, the status, the file and the line.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "relprop/error.hpp"

namespace relprop::cuda_detail {

inline bool succeeded(cudaError_t status) { return status == cudaSuccess; }
inline bool succeeded(cublasStatus_t status) { return status == CUBLAS_STATUS_SUCCESS; }
inline bool succeeded(cudnnStatus_t status) { return status == CUDNN_STATUS_SUCCESS; }

inline std::string describe(cudaError_t status) {
    return std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
}
inline std::string describe(cublasStatus_t status) {
    return std::string(cublasGetStatusName(status)) + ": " + cublasGetStatusString(status);
}
inline std::string describe(cudnnStatus_t status) { return cudnnGetErrorString(status); }

template <class Status>
void check(Status status, const char* call, const char* file, int line) {
    if (succeeded(status)) return;
    throw Error(std::string(call) + " failed (" + describe(status) + ", code " +
                std::to_string(static_cast<int>(status)) + ") at " + file + ":" + std::to_string(line));
}

}  // namespace relprop::cuda_detail

#define RELPROP_CUDA_CHECK(call) ::relprop::cuda_detail::check((call), #call, __FILE__, __LINE__)
// After a kernel launch: reports launch errors (bad configuration, no kernel image for this GPU).
#define RELPROP_CUDA_CHECK_LAUNCH(kernel) \
    ::relprop::cuda_detail::check(cudaGetLastError(), "launch of " kernel, __FILE__, __LINE__)
