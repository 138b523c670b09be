/// @file
/// relprop — Layer-wise Relevance Propagation and gradient attributions for ONNX models, in C++.
/// The one header an application includes:
///
/// @code
/// #include <relprop/relprop.hpp>
///
/// relprop::Model model = relprop::Model::load("resnet18.onnx");      // import + canonize, on the CPU
/// relprop::AttributorOptions opts;                                    // LRP, epsilon-plus-flat
/// relprop::Attributor explain(model, opts);                           // rules prepared once
/// relprop::Tensor x = relprop::Tensor::wrap({1, 3, 224, 224}, pixels);  // caller's memory, no copy
/// relprop::Result r = explain(x);                                     // per batch
/// // r.logits [1, 1000], r.targets {argmax}, r.relevance [1, 3, 224, 224]
/// @endcode
///
/// Errors are relprop::Error exceptions whose message says what is wrong and where.
#pragma once

#include "attributor.hpp"
#include "evaluate.hpp"
#include "engine/error.h"
#include "engine/tensor.h"
#include "io/heatmap.h"
#include "io/image.h"
#include "io/npy.h"
#include "model.hpp"
#include "relprop/version.hpp"
