// The naive reference of every op: plain loops in double precision, written from the ONNX / PyTorch
// definitions and independently of the backends. Used only by the tests, as the oracle that the
// oneDNN (and CUDA) kernels and the finite-difference gradient checks are compared with.
#pragma once

#include <random>
#include <vector>

#include "engine/backend.h"
#include "engine/graph.h"
#include "engine/op.h"
#include "relprop/tensor.hpp"

namespace relprop::ref {

// A dense row-major array of doubles with a shape (NCHW for images).
struct Dense {
    Shape shape;
    std::vector<double> v;

    Dense() = default;
    // Zero-filled.
    explicit Dense(Shape s);
    Dense(Shape s, std::vector<double> values);

    int64_t numel() const { return static_cast<int64_t>(v.size()); }
    double& operator[](int64_t i) { return v[static_cast<size_t>(i)]; }
    double operator[](int64_t i) const { return v[static_cast<size_t>(i)]; }

    // The values of a CPU tensor, widened to double.
    static Dense from(const Tensor& t);
    // A float32 CPU tensor holding these values (rounded).
    Tensor to_tensor() const;
    // The values rounded to float and back, i.e. exactly what a tensor made from this would hold.
    Dense rounded() const;
};

// Uniform in [lo, hi), seeded by the caller's generator, already rounded to float.
Dense random_dense(const Shape& shape, std::mt19937& rng, double lo = -1.0, double hi = 1.0);
// Distinct values: a random permutation of (k − n/2)·spacing, k < n (exact in float for spacing 2^-j).
Dense distinct_dense(const Shape& shape, std::mt19937& rng, double spacing = 1.0 / 64.0);

double max_abs(const Dense& a);
double max_abs_diff(const Dense& a, const Dense& b);  // throws relprop::Error on a shape mismatch
double dot(const Dense& a, const Dense& b);
double norm2(const Dense& a);

// ---- kernels -------------------------------------------------------------------------------------------------

// ONNX Conv: x [N,C,H,W], w [O,C/g,KH,KW], bias [O] or null.
Dense naive_conv2d(const Dense& x, const Dense& w, const Dense* bias, const ConvGeometry& g);
// The gradient w.r.t. the input of the convolution without bias: gx [x_shape] from gy [N,O,OH,OW].
Dense naive_conv2d_transpose(const Dense& gy, const Dense& w, const ConvGeometry& g, const Shape& x_shape);

// y = x·wᵀ + bias; x [N,K], w [M,K], bias [M] or null.
Dense naive_linear(const Dense& x, const Dense& w, const Dense* bias);
// gx [N,K] = gy [N,M]·w.
Dense naive_linear_transpose(const Dense& gy, const Dense& w);

// y = (x − mean)/√(var + ε)·scale + bias per channel (axis 1).
Dense naive_batchnorm(const Dense& x, const Dense& scale, const Dense& bias, const Dense& mean, const Dense& var,
                      double epsilon);
Dense naive_batchnorm_backward(const Dense& gy, const Dense& scale, const Dense& var, double epsilon);

// Pooling, ONNX/PyTorch semantics. pad_end is the declared end padding; ceil_mode as in ONNX/PyTorch (the
// last window must start inside the input or the begin padding).
struct NaivePool {
    std::array<int64_t, 2> kernel{1, 1};
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> pad_begin{0, 0};
    std::array<int64_t, 2> pad_end{0, 0};
    std::array<int64_t, 2> dilation{1, 1};
    bool ceil_mode = false;
};
Shape naive_pool_output_shape(const Shape& x, const NaivePool& p);
// Padding is −inf (it never wins).
Dense naive_maxpool(const Dense& x, const NaivePool& p);
// The gradient goes to the first maximum of each window in scan order (kernel row, then column).
Dense naive_maxpool_backward(const Dense& x, const Dense& gy, const NaivePool& p);
// count_include_pad: divisor = the window's positions inside the padded input [−pad_begin, in + pad_end)
// (= the kernel area unless ceil_mode lets the window run past the end padding; PyTorch rule); else the
// number of the window's positions inside the input.
Dense naive_avgpool(const Dense& x, const NaivePool& p, bool count_include_pad);
Dense naive_avgpool_backward(const Dense& gy, const Shape& x_shape, const NaivePool& p, bool count_include_pad);
Dense naive_global_avgpool(const Dense& x);
Dense naive_global_avgpool_backward(const Dense& gy, const Shape& x_shape);

Dense naive_add(const Dense& a, const Dense& b);
// max(0, slope[c]·x + shift[c]) per channel, and its backward.
Dense naive_channel_relu(const Dense& x, const Dense& slope, const Dense& shift);
Dense naive_channel_relu_backward(const Dense& x, const Dense& gy, const Dense& slope, const Dense& shift);
// Zero padding of axes `axis`, `axis` + 1 of a 4-D value (2: H, W of [N, C, H, W]; 1: of [N, H, W, C]), and its
// transpose (the slice).
Dense naive_pad(const Dense& x, std::array<int64_t, 2> begin, std::array<int64_t, 2> end, int axis = 2);
Dense naive_pad_backward(const Dense& gy, const Shape& x_shape, std::array<int64_t, 2> begin, int axis = 2);
// Negative axes count from the end.
Dense naive_concat(const std::vector<Dense>& xs, int64_t axis);
std::vector<Dense> naive_concat_backward(const std::vector<Shape>& shapes, const Dense& gy, int64_t axis);
Dense naive_relu(const Dense& x);
Dense naive_relu_backward(const Dense& x, const Dense& gy);
Dense naive_reshape(const Dense& x, const Shape& shape);

// ---- ops and graphs -------------------------------------------------------------------------------------------

// The pool attributes of a MaxPool / AvgPool op, as NaivePool.
NaivePool naive_pool_of(const Op& op);

// The op's forward, dispatching on op.type() to the kernels above with the op's own attributes and params.
Dense naive_forward(const Op& op, const std::vector<Dense>& inputs);
// The same with given parameters (linear-type ops; a missing "bias" means none), like LinearOp::forward_with.
Dense naive_forward_with(const Op& op, const std::vector<Dense>& inputs, const Params& params);
// The vector-Jacobian product: one gradient per input.
std::vector<Dense> naive_backward(const Op& op, const std::vector<Dense>& inputs, const Dense& grad_output);
// Like LinearOp::transpose_with: the transpose of x ↦ A(params)·x applied to grad_output.
std::vector<Dense> naive_transpose_with(const Op& op, const std::vector<Shape>& input_shapes, const Params& params,
                                        const Dense& grad_output);
// Every value of the graph by value id; inputs in the order of graph.inputs().
std::vector<Dense> naive_graph_forward(const Graph& graph, const std::vector<Dense>& inputs);

}  // namespace relprop::ref
