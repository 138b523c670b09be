/// @file
/// Backend: the only place that knows oneDNN (CPU) or CUDA. Ops call these kernels; rules call ops.
/// Tensors passed to a backend live on its device and are contiguous and row-major (NCHW, OIHW).
/// Output tensors are allocated by the caller with the right shape.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <utility>

#include "engine/elementwise.h"
#include "engine/op.h"
#include "relprop/tensor.hpp"

namespace relprop {

/// 2-D convolution geometry (ONNX Conv semantics; pads are explicit begin/end per spatial axis).
struct ConvGeometry {
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> pad_begin{0, 0};
    std::array<int64_t, 2> pad_end{0, 0};
    std::array<int64_t, 2> dilation{1, 1};
    int64_t groups = 1;
};

/// Kernel families; an op type lists those it needs (op_info(type).kernels), a backend those it has.
namespace Kernel {
enum : unsigned {
    Conv = 1u << 0,         ///< conv2d_forward, conv2d_backward_data
    Linear = 1u << 1,       ///< linear_forward, linear_backward_data
    Pool = 1u << 2,         ///< pool2d_forward, pool2d_backward
    Elementwise = 1u << 3,  ///< fill, copy, add, mul, channel_affine, clamp, scale, copy_blocks, ...
    Unary = 1u << 4,        ///< unary, unary_backward
    Binary = 1u << 5,       ///< binary (broadcasting)
    Reduce = 1u << 6,       ///< reduce_sum
    Gather = 1u << 7,       ///< gather, scatter
    All = (1u << 8) - 1,
};
}  // namespace Kernel

enum class PoolKind { Max, AvgIncludePad, AvgExcludePad };

/// 2-D pooling geometry. pad_end is the effective end padding (ceil_mode resolved), so that
/// out = floor((in + pad_begin + pad_end - dilation*(kernel-1) - 1) / stride) + 1.
struct PoolGeometry {
    std::array<int64_t, 2> kernel{1, 1};
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> pad_begin{0, 0};
    std::array<int64_t, 2> pad_end{0, 0};
    std::array<int64_t, 2> dilation{1, 1};
};

class Backend {
public:
    virtual ~Backend() = default;

    virtual Device device() const = 0;
    /// "cpu (oneDNN 2.6.3)", "cuda:0 (NVIDIA H100)", ...
    virtual std::string name() const = 0;
    /// The kernel families this backend implements (a bitmask of Kernel).
    virtual unsigned kernels() const = 0;
    /// Whether this backend runs every kernel family op type `type` needs (op_info(type).kernels).
    bool supports(OpType type) const;

    /// Memory. empty() is uninitialized; upload/download copy between host and this device.
    virtual Tensor empty(const Shape& shape) = 0;
    Tensor zeros(const Shape& shape);
    virtual Tensor upload(const Tensor& host) = 0;
    virtual Tensor download(const Tensor& tensor) = 0;

    /// Dense kernels.
    /// x [N,C,H,W], w [O,C/groups,KH,KW], bias [O] or null, y [N,O,OH,OW].
    virtual void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* bias, const ConvGeometry& g,
                                Tensor& y) = 0;
    /// gx = transpose of the convolution (no bias) applied to gy.
    virtual void conv2d_backward_data(const Tensor& gy, const Tensor& w, const ConvGeometry& g, Tensor& gx) = 0;
    /// x [N,K], w [M,K], bias [M] or null, y [N,M]: y = x·wᵀ + bias.
    virtual void linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) = 0;
    /// gx [N,K] = gy [N,M] · w [M,K].
    virtual void linear_backward_data(const Tensor& gy, const Tensor& w, Tensor& gx) = 0;
    virtual void pool2d_forward(PoolKind kind, const Tensor& x, const PoolGeometry& g, Tensor& y) = 0;
    /// For Max, x is the pooling input (the gradient goes to the first maximum of each window); for the
    /// Avg kinds only x's shape is read (x may be gx itself).
    virtual void pool2d_backward(PoolKind kind, const Tensor& x, const Tensor& gy, const PoolGeometry& g,
                                 Tensor& gx) = 0;

    /// Elementwise kernels (out may alias an input).
    virtual void fill(Tensor& t, float value) = 0;
    virtual void copy(const Tensor& src, Tensor& dst) = 0;
    virtual void add(const Tensor& a, const Tensor& b, Tensor& out) = 0;
    virtual void mul(const Tensor& a, const Tensor& b, Tensor& out) = 0;
    /// y = f(x) elementwise (Kernel::Unary).
    virtual void unary(const UnaryFn& f, const Tensor& x, Tensor& y) = 0;
    /// gx = gy·f'(x) elementwise.
    virtual void unary_backward(const UnaryFn& f, const Tensor& x, const Tensor& gy, Tensor& gx) = 0;
    /// out = a ∘ b with numpy broadcasting (Kernel::Binary): a, b and out have the same rank, and each
    /// axis of a and b has out's size or 1.
    virtual void binary(BinaryKind kind, const Tensor& a, const Tensor& b, Tensor& out) = 0;
    /// out = x summed over the axes where out has size 1 and x not (Kernel::Reduce): the transpose of
    /// broadcasting out's shape to x's (same rank), accumulated in double.
    virtual void reduce_sum(const Tensor& x, Tensor& out) = 0;
    /// dst[i] = src[map.at(i)] for every element i of dst (Kernel::Gather): transposes, slices.
    virtual void gather(const Tensor& src, const StridedMap& map, Tensor& dst) = 0;
    /// dst[map.at(i)] = src[i] for every element i of src; dst's other elements are left as they are.
    virtual void scatter(const Tensor& src, const StridedMap& map, Tensor& dst) = 0;
    /// y[n,c,...] = x[n,c,...]·scale[c] + shift[c] (shift may be null); x is [N,C,...].
    virtual void channel_affine(const Tensor& x, const Tensor& scale, const Tensor* shift, Tensor& y) = 0;
    /// y = min(max(x, lo), hi).
    virtual void clamp(const Tensor& x, float lo, float hi, Tensor& y) = 0;
    /// y = a·x.
    virtual void scale(const Tensor& x, float a, Tensor& y) = 0;
    /// y = z + eps·σ(z), σ(z) = +1 where z ≥ 0 (zero and −0 included), −1 where z < 0.
    virtual void stabilize(const Tensor& z, float eps, Tensor& y) = 0;
    /// out = num / (den + eps·σ(den)) (the stabilized divide; never divides by zero for eps > 0).
    virtual void stabilized_divide(const Tensor& num, const Tensor& den, float eps, Tensor& out) = 0;
    /// acc += c·a·b (b may be null: acc += c·a).
    virtual void multiply_accumulate(const Tensor& a, const Tensor* b, float c, Tensor& acc) = 0;
    /// The smallest and largest value of t (lets rules skip branches whose input is exactly zero).
    virtual std::pair<float, float> min_max(const Tensor& t) = 0;
    /// y = x where z > 0 (sign > 0) or z < 0 (sign < 0), else 0.
    virtual void sign_mask(const Tensor& z, int sign, const Tensor& x, Tensor& y) = 0;
    /// For i in [0, count): dst[dst_offset + i·dst_stride + j] = src[src_offset + i·src_stride + j], j < block.
    virtual void copy_blocks(const Tensor& src, int64_t src_offset, int64_t src_stride, Tensor& dst,
                             int64_t dst_offset, int64_t dst_stride, int64_t count, int64_t block) = 0;
};

/// "cpu", "cuda", "cuda:N" or "auto" (CUDA when a GPU is usable, else CPU).
std::unique_ptr<Backend> make_backend(const std::string& spec = "cpu");
/// Whether relprop was built with CUDA and a GPU is usable now.
bool cuda_available();

}  // namespace relprop
