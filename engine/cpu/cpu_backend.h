// The CPU backend: oneDNN for convolution and inner product; OpenMP loops for pooling (pooling.h) and
// elementwise work, on all cores.
#pragma once

#include <memory>

#include "engine/backend.h"

namespace relprop {

std::unique_ptr<Backend> make_cpu_backend();

}  // namespace relprop
