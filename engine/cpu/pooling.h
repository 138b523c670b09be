// Max and average pooling on NCHW float tensors with plain loops, parallel over the N·C planes.
// (oneDNN 2.6 runs plain-NCHW pooling only with its reference implementation on AVX2 machines —
// 12 ms of a 37 ms resnet18 forward+backward measured — so the CPU backend uses these instead.)
#pragma once

#include "engine/backend.h"

namespace relprop {

void cpu_pool_forward(PoolKind kind, const Tensor& x, const PoolGeometry& g, Tensor& y);
// For Max, the gradient goes to the first maximum of each window (scan order: kernel row, column).
void cpu_pool_backward(PoolKind kind, const Tensor& x, const Tensor& gy, const PoolGeometry& g, Tensor& gx);

}  // namespace relprop
