/// @file
/// Gradient attributors on top of the executor: the plain gradient of one output unit per sample
/// (one-hot at the target) with respect to the input, and gradient × input. SmoothGrad, Integrated
/// Gradients (engine/smoothgrad.h, engine/integrated_gradients.h) average these; Occlusion
/// (engine/occlusion.h) uses forward passes only.
///
/// `propagate` replaces the gradient of every node (an LRP plan's propagator: rules/plan.h); empty = the
/// plain gradient.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/executor.h"

namespace relprop {

struct Attribution {
    Tensor output;                  ///< the model's output (host), [N, ...]
    std::vector<int64_t> targets;   ///< the output unit explained, per sample (flat index within the sample)
    Tensor attribution;             ///< shaped like the input (host)
};

/// One target per sample; -1 (or an empty list) means the sample's argmax. Throws on an index out of range.
std::vector<int64_t> resolve_targets(const Tensor& output, const std::vector<int64_t>& targets);
/// A host tensor shaped like `output`, 1 at each sample's target and 0 elsewhere.
Tensor one_hot(const Shape& output_shape, const std::vector<int64_t>& targets);

/// The one reverse pass from the targets, shared by the gradient attributors and the LRP Explainer: seeds
/// one-hot(target) (× the logit if `times_logit`) at the output of a recorded forward pass and runs the
/// executor's reverse pass with `propagate` (empty = the gradient).
struct TargetPass {
    std::vector<int64_t> targets;  ///< resolved: one per sample
    std::vector<Tensor> at_value;  ///< per value id, on the backend's device (undefined where nothing arrived)
    Tensor at_input;               ///< host, shaped like the input (zero if the output does not depend on it)
};
TargetPass reverse_from_targets(const Executor& executor, const Activations& acts, const Tensor& host_output,
                                const std::vector<int64_t>& targets, const Propagator& propagate,
                                bool times_logit = false);

/// The gradient of each sample's target output with respect to the input.
Attribution gradient(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets = {},
                     const Propagator& propagate = {});
/// gradient(...) × input, element by element.
Attribution gradient_x_input(const Executor& executor, const Tensor& input, const std::vector<int64_t>& targets = {},
                             const Propagator& propagate = {});

/// How many copies of an [n, ...] input one forward pass may stack along the batch: up to
/// max_batch / n when the graph's batch dimension is free (-1), else 1.
int64_t copies_per_pass(const Graph& graph, int64_t n, int64_t max_batch);

/// Σ_k of the gradient (or `propagate`'s modified gradient) of each sample's target at the points
/// k = 0 … count−1, which `make_point(k, dst)` writes (shaped like `shape`, [n, ...], on the host). Points
/// are made in order and stacked `copies_per_pass` at a time into one pass.
Tensor sum_of_gradients(const Executor& executor, const Shape& shape, int count,
                        const std::function<void(int, float*)>& make_point, const std::vector<int64_t>& targets,
                        const Propagator& propagate, int64_t max_batch);

/// A host copy of `t` (itself if it is on the CPU already).
Tensor host_copy(const Executor& executor, const Tensor& t);
/// Throws relprop::Error unless the graph has exactly one input and one output; `what` names the method.
void require_single_io(const Graph& graph, const std::string& what);

}  // namespace relprop
