// Canonization passes: each takes a graph and returns a new graph with the same forward function,
// plus a line per change. pipeline.h runs them by name.
#pragma once

#include "canonize/graph_editor.h"

namespace relprop {

// Identity/Dropout and shape-preserving Reshape/Flatten nodes removed.
PassResult remove_identity(const Graph& graph);
// x·Sigmoid(x) → Silu, x·HardSigmoid(x) (α = 1/6, β = ½) → HardSwish, ½·x·(1 + erf(x/√2)) → Gelu.
PassResult fuse_activations(const Graph& graph);
// The exported LayerNorm arithmetic (ReduceMean, Sub, Pow, ReduceMean, Add ε, Sqrt, Div[, Mul γ][, Add β])
// over trailing axes → LayerNormalization.
PassResult fuse_layernorm(const Graph& graph);
// BatchNorm after a Conv/Linear whose output has no other use, merged into that layer.
PassResult merge_batchnorm(const Graph& graph);
// BatchNorm whose output only feeds Conv/Linear layers, folded into them where exact (a Conv with
// zero padding only if the BatchNorm's shift is zero).
PassResult fold_batchnorm(const Graph& graph);
// DenseNet: BatchNorm → ReLU → (pooling/flatten) → Conv/Linear becomes ChannelRelu with the
// BatchNorm's scale moved into the following layers' input channels.
PassResult densenet_threshold_relu(const Graph& graph);
// tf2onnx's Transposes: carried to the input, cancelled in pairs, made Reshapes where they move only axes of
// size 1, folded into the next Linear's weight before a Flatten; a Squeeze after GlobalAveragePool a Flatten.
PassResult cancel_transposes(const Graph& graph);
// A per-channel constant Mul (then Add) on a Conv/Linear/Concat output (tf2onnx's BatchNorm) → BatchNorm.
PassResult affine_to_batchnorm(const Graph& graph);
// The input's preprocessing (Keras Rescaling/Normalization: Mul, Add/Sub, Div by per-channel constants, BatchNorms
// from the graph input on) → one BatchNorm.
PassResult input_affine(const Graph& graph);

}  // namespace relprop
