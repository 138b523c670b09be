// 2-D convolution forward and backward-data on cuDNN (legacy convolution API, still in cuDNN 9).
// CUDA-only header.
//
// Per shape (input, weights, geometry, output) one entry holds the descriptors and the algorithms,
// chosen once with cudnnGetConvolution*Algorithm_v7 (heuristics, no trial runs) or, with
// RELPROP_CUDNN_SEARCH=timed, with cudnnFindConvolution*Algorithm (every algorithm timed once). Numerics match the
// CPU backend to FP32 rounding: the math type is CUDNN_FMA_MATH (no TF32 tensor cores, which
// CUDNN_DEFAULT_MATH allows on A100/H100), and the FFT and Winograd algorithms are left out unless
// RELPROP_CUDNN_ALGOS=all. cuDNN pads symmetrically: asymmetric pads (ONNX SAME_UPPER, explicit
// pads) keep the common part in cuDNN and add the rest by copying the input into a zero-padded
// buffer (forward) or cropping the padded gradient (backward-data).
#pragma once

#include <cublas_v2.h>
#include <cudnn.h>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/backend.h"
#include "engine/cuda/device_memory.h"

namespace relprop::cuda_detail {

class CudnnConv {
public:
    CudnnConv(cudnnHandle_t handle, cudaStream_t stream, DevicePool& pool, Workspace& workspace);
    ~CudnnConv();
    CudnnConv(const CudnnConv&) = delete;
    CudnnConv& operator=(const CudnnConv&) = delete;

    // All tensors on the device; shapes as Backend::conv2d_forward / conv2d_backward_data take them.
    void forward(const Tensor& x, const Tensor& w, const Tensor* bias, const ConvGeometry& g, Tensor& y);
    void backward_data(const Tensor& gy, const Tensor& w, const ConvGeometry& g, Tensor& gx);

    struct Entry;

private:
    Entry& entry(const Shape& x, const Shape& w, const ConvGeometry& g, const Shape& y);
    void choose_forward(Entry& e);
    void choose_backward(Entry& e);
    // The workspace limit for choosing an algorithm: what is allocated now plus half the free memory.
    size_t workspace_limit() const;

    cudnnHandle_t m_handle;
    cudaStream_t m_stream;
    DevicePool& m_pool;
    Workspace& m_workspace;
    std::mutex m_mutex;
    std::map<std::vector<int64_t>, std::unique_ptr<Entry>> m_entries;
};

}  // namespace relprop::cuda_detail
