// The CUDA backend (cudart, cuBLAS, cuDNN; engine/cuda/*.cu). Compiled only when
// RELPROP_WITH_CUDA is defined; this header pulls in no CUDA headers.
#pragma once

#include <memory>

#include "engine/backend.h"

namespace relprop {

// Number of usable CUDA devices; 0 on any error (no driver, no GPU, ...). Prints nothing.
int cuda_device_count();
// A backend on device `device` (0-based); throws relprop::Error if it doesn't exist or can't be used.
std::unique_ptr<Backend> make_cuda_backend(int device);

}  // namespace relprop
