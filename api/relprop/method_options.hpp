/// @file
/// The parameters of the attribution methods, as relprop::AttributorOptions holds them: LRP's
/// composite parameters and where its reverse pass starts, and SmoothGrad's, Integrated Gradients' and
/// Occlusion's settings. The methods themselves are described in relprop::Method (attributor.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "tensor.hpp"

namespace relprop {

/// What the reverse pass (LRP, Gradient, GradientXInput) starts from at the target.
enum class RelevanceInit {
    OneHot,       ///< R = 1 at the target (zennit's convention)
    OneHotLogit,  ///< R = the target's logit at the target
};

/// The parameters of an LRP composite (see README, "Composites").
struct CompositeOptions {
    float epsilon = 1e-6f;         ///< Epsilon rule of dense layers
    float gamma = 0.25f;           ///< Gamma rule of epsilon-gamma-box
    std::vector<float> low, high;  ///< ZBox bounds of epsilon-gamma-box (one value or one per channel)
    bool zero_bias = false;        ///< zennit's zero_params=['bias'] on every LRP rule of the composite
};

/// SmoothGrad (Smilkov et al. 2017, as zennit defines it): the mean of the gradient over `samples`
/// copies of the input with Gaussian noise added, the last copy without noise (so samples = 1, or
/// noise_level = 0, is exactly the gradient). The noise's standard deviation is
/// noise_level × (max − min) of each sample's values.
struct SmoothGradOptions {
    float noise_level = 0.1f;  ///< σ / (x_max − x_min), per sample; >= 0
    int samples = 20;          ///< gradients averaged (>= 1); the last one without noise
    uint64_t seed = 0;         ///< seed of the noise (std::mt19937_64); the same seed gives the same result
    int64_t max_batch = 32;    ///< most noisy inputs per pass (copies are stacked when the batch is free)
};

/// Integrated Gradients (Sundararajan et al. 2017, as zennit defines it): the mean gradient along the
/// straight path from a baseline b to the input x at α = 1/steps, 2/steps, ..., 1, times (x − b).
struct IntegratedGradientsOptions {
    int steps = 20;   ///< points on the path (>= 1)
    /// The baseline: undefined = all `baseline_value`; else shaped like the input, or like one sample
    /// ([1, ...]: the same baseline for every sample). Host or device.
    Tensor baseline;
    float baseline_value = 0.0f;
    int64_t max_batch = 32;  ///< most path points per pass (stacked when the model's batch is free)
};

enum class OcclusionMode {
    /// f(x) − f(x with the window set to `fill`), spread over the window: on a linear model each
    /// element gets exactly its contribution w·x (window 1, stride 1).
    Remove,
    /// f(x with everything outside the window set to `fill`), spread over the window: zennit's
    /// default Occlusion (occlude_independent).
    Keep,
};

/// Occlusion (Zeiler & Fergus 2014; windows as zennit slides them over the trailing dimensions).
struct OcclusionOptions {
    std::vector<int64_t> window = {8, 8};  ///< window size over the last window.size() dimensions
    std::vector<int64_t> stride = {8, 8};  ///< the same length as window; each >= 1
    float fill = 0.0f;                     ///< the value occluded elements take
    OcclusionMode mode = OcclusionMode::Remove;
    int64_t max_batch = 32;                ///< most occluded inputs per forward pass (>= 1)
};

}  // namespace relprop
