// Gradient attributors on top of the executor: the plain gradient of one output unit per sample
// (one-hot at the target) with respect to the input, and gradient × input.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/executor.h"

namespace relprop {

struct Attribution {
    Tensor output;                  // the model's output (host), [N, ...]
    std::vector<int64_t> targets;   // the output unit explained, per sample (flat index within the sample)
    Tensor attribution;             // shaped like the input (host)
};

// One target per sample; -1 (or an empty list) means the sample's argmax. Throws on an index out of range.
std::vector<int64_t> resolve_targets(const Tensor& output, const std::vector<int64_t>& targets);
// A host tensor shaped like `output`, 1 at each sample's target and 0 elsewhere.
Tensor one_hot(const Shape& output_shape, const std::vector<int64_t>& targets);

Attribution gradient(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets = {});
Attribution gradient_x_input(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets = {});

}  // namespace relprop
