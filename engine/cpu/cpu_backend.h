// The CPU backend: oneDNN for convolution, inner product and pooling; Eigen for elementwise work.
#pragma once

#include <memory>

#include "engine/backend.h"

namespace relprop {

std::unique_ptr<Backend> make_cpu_backend();

}  // namespace relprop
