/// @file
/// NaN/Inf detection for weights and inputs: the one place that counts non-finite values and words
/// the error ("input 'x.npy': 3 of 150528 values are NaN/Inf (first at index 17); <hint>").
#pragma once

#include <cstdint>
#include <string>

#include "relprop/tensor.hpp"

namespace relprop {

struct NonFinite {
    int64_t count = 0;   ///< NaN and ±inf values
    int64_t first = -1;  ///< flat index of the first one, -1 when there is none
};

/// Counts the non-finite values of a CPU tensor (a bit test on the exponent, so it holds even under
/// -ffast-math). A tensor on another device is an Error.
NonFinite find_nonfinite(const Tensor& t);

/// Number of NaN and ±inf values in a CPU tensor.
inline int64_t count_nonfinite(const Tensor& t) { return find_nonfinite(t).count; }

/// Throws relprop::Error "<what>: N of M values are NaN/Inf (first at index I); <hint>" when `t` holds a
/// non-finite value. `what` names the tensor (e.g. "input 'x.npy'", "weight 'conv1.weight'").
void require_finite(const Tensor& t, const std::string& what, const std::string& hint);

}  // namespace relprop
