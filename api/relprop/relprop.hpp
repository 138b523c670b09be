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
#include "error.hpp"
#include "evaluate.hpp"
#include "heatmap.hpp"
#include "image.hpp"
#include "method_options.hpp"
#include "model.hpp"
#include "npy.hpp"
#include "relprop/version.hpp"  // generated (build tree; installed beside the others)
#include "tensor.hpp"
