/// @file
/// Occlusion (Zeiler & Fergus 2014; windows as zennit slides them): a window slides over the trailing
/// dimensions of each sample; every position costs one forward pass (several positions share a pass
/// when the model's batch dimension is free). Dimensions between the batch and the windowed ones
/// (the channels of an image) are covered whole.
///
/// Positions start at 0, 1·stride, 2·stride, ... < size; a window that runs past the end wraps around
/// to the start (zennit's torch.roll). Where windows overlap, their values add up.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/attribution.h"
#include "relprop/method_options.hpp"  // OcclusionMode, OcclusionOptions

namespace relprop {

/// Occlusion attribution of each sample's target output (forward passes only: no reverse pass).
Attribution occlusion(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets = {},
                      const OcclusionOptions& options = {});

}  // namespace relprop
