// Max and average pooling on the GPU with own kernels (CUDA-only header). They mirror the CPU's
// engine/cpu/pooling.cpp exactly — window taps (dilation, padding, ceil_mode's resolved end pad),
// divisors (count_include_pad or the valid taps), summation order, and the gradient of a max window
// going to its first maximum in scan order — so results agree bit for bit. (cuDNN pooling has no
// dilation and no first-maximum tie rule.) The backward passes gather per input element, in the
// order of the output windows, instead of scattering with atomics: deterministic and equal to the
// CPU's sums.
#pragma once

#include <cuda_runtime.h>

#include "engine/backend.h"
#include "engine/cuda/device_memory.h"

namespace relprop::cuda_detail {

void cuda_pool_forward(PoolKind kind, const Tensor& x, const PoolGeometry& g, Tensor& y, cudaStream_t stream);
// For Max, x is the pooling input; for the Avg kinds only gx's shape is used (x may alias gx).
void cuda_pool_backward(PoolKind kind, const Tensor& x, const Tensor& gy, const PoolGeometry& g, Tensor& gx,
                        DevicePool& pool, cudaStream_t stream);

}  // namespace relprop::cuda_detail
