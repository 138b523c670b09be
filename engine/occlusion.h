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

namespace relprop {

enum class OcclusionMode {
    /// f(x) − f(x with the window set to `fill`), spread over the window: on a linear model each
    /// element gets exactly its contribution w·x (window 1, stride 1).
    Remove,
    /// f(x with everything outside the window set to `fill`), spread over the window: zennit's
    /// default Occlusion (occlude_independent).
    Keep,
};

struct OcclusionOptions {
    std::vector<int64_t> window = {8, 8};  ///< window size over the last window.size() dimensions
    std::vector<int64_t> stride = {8, 8};  ///< the same length as window; each >= 1
    float fill = 0.0f;                     ///< the value occluded elements take
    OcclusionMode mode = OcclusionMode::Remove;
    int64_t max_batch = 32;                ///< most occluded inputs per forward pass (>= 1)
};

/// Occlusion attribution of each sample's target output (forward passes only: no reverse pass).
Attribution occlusion(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets = {},
                      const OcclusionOptions& options = {});

}  // namespace relprop
