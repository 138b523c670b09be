/// @file
/// SmoothGrad (Smilkov et al. 2017, as zennit defines it): the mean of the gradient over `samples`
/// copies of the input with Gaussian noise added, the last copy without noise (so samples = 1, or
/// noise_level = 0, is exactly the gradient). The noise's standard deviation is
/// noise_level × (max − min) of each sample's values.
#pragma once

#include <cstdint>

#include "engine/attribution.h"
#include "relprop/method_options.hpp"  // SmoothGradOptions

namespace relprop {

/// SmoothGrad of each sample's target output. `propagate` (an LRP plan's propagator) averages the
/// modified gradient instead, as zennit does when SmoothGrad is given a composite.
Attribution smoothgrad(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets = {},
                       const SmoothGradOptions& options = {}, const Propagator& propagate = {});

}  // namespace relprop
