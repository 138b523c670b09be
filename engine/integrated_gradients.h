/// @file
/// Integrated Gradients (Sundararajan et al. 2017, as zennit defines it): the mean gradient along the
/// straight path from a baseline b to the input x at α = 1/steps, 2/steps, ..., 1, times (x − b).
/// Completeness: the attribution of a sample sums to ≈ f(x) − f(b) for its target (a right Riemann
/// sum: the error shrinks as 1/steps).
#pragma once

#include "engine/attribution.h"
#include "relprop/method_options.hpp"  // IntegratedGradientsOptions

namespace relprop {

/// Integrated Gradients of each sample's target output; `propagate` (an LRP plan's propagator)
/// integrates the modified gradient instead.
Attribution integrated_gradients(const Executor& executor, const Tensor& input,
                                 const std::vector<int64_t>& targets = {},
                                 const IntegratedGradientsOptions& options = {}, const Propagator& propagate = {});

}  // namespace relprop
