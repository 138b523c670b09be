#include "engine/cuda/cuda_pooling.h"

#include <cmath>
#include <string>

#include "engine/cuda/cuda_args.h"
#include "engine/cuda/cuda_check.h"

namespace relprop::cuda_detail {

namespace {

// Geometry passed by value to the kernels.
struct Geo {
    int64_t h, w, oh, ow;  // input and output plane
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
    int kind;  // PoolKind as int
};

Geo make_geo(PoolKind kind, const Shape& in, const Shape& out, const PoolGeometry& g) {
    return {in[2],         in[3],         out[2],        out[3],          g.kernel[0],      g.kernel[1],
            g.stride[0],   g.stride[1],   g.pad_begin[0], g.pad_begin[1], g.dilation[0],    g.dilation[1],
            static_cast<int>(kind)};
}

constexpr int kMax = static_cast<int>(PoolKind::Max);
constexpr int kIncludePad = static_cast<int>(PoolKind::AvgIncludePad);

// The valid kernel taps of output position o along one axis (as engine/cpu/pooling.cpp's taps()).
struct Taps {
    int64_t first, last;
};

__device__ Taps taps(int64_t o, int64_t stride, int64_t pad, int64_t dilation, int64_t kernel, int64_t size) {
    const int64_t start = o * stride - pad;
    int64_t first = 0, last = kernel - 1;
    while (first <= last && start + first * dilation < 0) ++first;
    while (last >= first && start + last * dilation >= size) --last;
    return {first, last};
}

__device__ int64_t divisor(const Geo& g, const Taps& ty, const Taps& tx) {
    if (g.kind == kIncludePad) return g.kh * g.kw;
    const int64_t count = (ty.last - ty.first + 1) * (tx.last - tx.first + 1);
    return count > 1 ? count : 1;
}

// One thread per output element. For Max, also the plane index of the first maximum (or -1 when the
// window has no valid tap), if argmax is non-null.
__global__ void pool_forward_kernel(const float* x, float* y, int* argmax, Geo g, int64_t n) {
    for (int64_t k = first_index(); k < n; k += grid_stride()) {
        const int64_t j = k % g.ow, i = (k / g.ow) % g.oh, plane = k / (g.ow * g.oh);
        const float* in = x + plane * g.h * g.w;
        const Taps ty = taps(i, g.sh, g.ph, g.dh, g.kh, g.h), tx = taps(j, g.sw, g.pw, g.dw, g.kw, g.w);
        const int64_t y0 = i * g.sh - g.ph, x0 = j * g.sw - g.pw;
        if (g.kind == kMax) {
            // Forward: std::max(m, v) keeps m unless m < v. Backward's argmax: the first tap, then any
            // strictly greater one (engine/cpu/pooling.cpp's rules, NaN included).
            float m = -INFINITY, best_value = -INFINITY;
            int64_t best = -1;
            for (int64_t a = ty.first; a <= ty.last; ++a)
                for (int64_t b = tx.first; b <= tx.last; ++b) {
                    const int64_t idx = (y0 + a * g.dh) * g.w + x0 + b * g.dw;
                    const float v = in[idx];
                    m = m < v ? v : m;
                    if (best < 0 || v > best_value) {
                        best_value = v;
                        best = idx;
                    }
                }
            y[k] = m;
            if (argmax) argmax[k] = static_cast<int>(best);
        } else {
            float s = 0.0f;
            for (int64_t a = ty.first; a <= ty.last; ++a)
                for (int64_t b = tx.first; b <= tx.last; ++b) s = __fadd_rn(s, in[(y0 + a) * g.w + x0 + b]);
            y[k] = __fdiv_rn(s, static_cast<float>(divisor(g, ty, tx)));
        }
    }
}

// Output windows along one axis whose span can contain input index `pos`: [lo, hi].
__device__ void covering(int64_t pos, int64_t stride, int64_t pad, int64_t extent, int64_t out, int64_t& lo,
                         int64_t& hi) {
    const int64_t lo_num = pos + pad - (extent - 1);
    lo = lo_num <= 0 ? 0 : (lo_num + stride - 1) / stride;
    hi = (pos + pad) / stride;
    if (hi > out - 1) hi = out - 1;
}

// One thread per input element: the sum, in output-window order, of what each window sends to it.
__global__ void pool_backward_kernel(const float* gy, const int* argmax, float* gx, Geo g, int64_t n) {
    for (int64_t k = first_index(); k < n; k += grid_stride()) {
        const int64_t c = k % g.w, r = (k / g.w) % g.h, plane = k / (g.w * g.h);
        const float* grad = gy + plane * g.oh * g.ow;
        int64_t i_lo, i_hi, j_lo, j_hi;
        const bool max = g.kind == kMax;
        // Max windows tap with dilation; average windows index without it (AvgPool has dilation 1).
        covering(r, g.sh, g.ph, max ? g.dh * (g.kh - 1) + 1 : g.kh, g.oh, i_lo, i_hi);
        covering(c, g.sw, g.pw, max ? g.dw * (g.kw - 1) + 1 : g.kw, g.ow, j_lo, j_hi);
        float sum = 0.0f;
        for (int64_t i = i_lo; i <= i_hi; ++i) {
            for (int64_t j = j_lo; j <= j_hi; ++j) {
                const int64_t o = i * g.ow + j;
                if (max) {
                    if (argmax[plane * g.oh * g.ow + o] == r * g.w + c) sum = __fadd_rn(sum, grad[o]);
                    continue;
                }
                const Taps ty = taps(i, g.sh, g.ph, g.dh, g.kh, g.h), tx = taps(j, g.sw, g.pw, g.dw, g.kw, g.w);
                if (ty.first > ty.last || tx.first > tx.last) continue;
                const int64_t a = r - (i * g.sh - g.ph), b = c - (j * g.sw - g.pw);
                if (a < ty.first || a > ty.last || b < tx.first || b > tx.last) continue;
                sum = __fadd_rn(sum, __fdiv_rn(grad[o], static_cast<float>(divisor(g, ty, tx))));
            }
        }
        gx[k] = sum;
    }
}

void check_shapes(const char* kernel, const Tensor& in, const Tensor& out) {
    require_rank(in, 4, kernel, "input");
    require_rank(out, 4, kernel, "output");
    if (in.dim(0) != out.dim(0) || in.dim(1) != out.dim(1))
        fail(kernel, "input " + shape_str(in.shape()) + " and output " + shape_str(out.shape()) +
                         " differ in batch or channels");
    if (in.dim(2) * in.dim(3) > INT_MAX) fail(kernel, "input planes over 2^31 elements are not supported");
}

}  // namespace

void cuda_pool_forward(PoolKind kind, const Tensor& x, const PoolGeometry& g, Tensor& y, cudaStream_t stream) {
    const char* kernel = "pool2d_forward";
    require_cuda(x, kernel, "x");
    require_cuda(y, kernel, "y");
    check_shapes(kernel, x, y);
    const int64_t n = y.numel();
    if (n == 0) return;
    pool_forward_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x.data(), y.data(), nullptr,
                                                                 make_geo(kind, x.shape(), y.shape(), g), n);
    RELPROP_CUDA_CHECK_LAUNCH("pool_forward_kernel");
}

void cuda_pool_backward(PoolKind kind, const Tensor& x, const Tensor& gy, const PoolGeometry& g, Tensor& gx,
                        DevicePool& pool, cudaStream_t stream) {
    const char* kernel = "pool2d_backward";
    require_cuda(gy, kernel, "gy");
    require_cuda(gx, kernel, "gx");
    check_shapes(kernel, gx, gy);
    const int64_t n = gx.numel();
    if (n == 0) return;
    const Geo geo = make_geo(kind, gx.shape(), gy.shape(), g);
    Tensor argmax;  // int32 per output element, in a float-sized block
    if (kind == PoolKind::Max) {
        require_cuda(x, kernel, "x");
        if (x.shape() != gx.shape())
            fail(kernel, "x " + shape_str(x.shape()) + " and gx " + shape_str(gx.shape()) + " differ");
        if (gy.numel() > 0) {
            argmax = pool.allocate(gy.shape());
            static_assert(sizeof(int) == sizeof(float));
            Tensor scratch = pool.allocate(gy.shape());  // the forward values, not needed
            pool_forward_kernel<<<blocks_for(gy.numel()), kThreads, 0, stream>>>(
                x.data(), scratch.data(), reinterpret_cast<int*>(argmax.data()), geo, gy.numel());
            RELPROP_CUDA_CHECK_LAUNCH("pool_forward_kernel (argmax)");
        }
    }
    if (gy.numel() == 0) {
        RELPROP_CUDA_CHECK(cudaMemsetAsync(gx.data(), 0, static_cast<size_t>(n) * sizeof(float), stream));
        return;
    }
    pool_backward_kernel<<<blocks_for(n), kThreads, 0, stream>>>(
        gy.data(), argmax.defined() ? reinterpret_cast<const int*>(argmax.data()) : nullptr, gx.data(), geo, n);
    RELPROP_CUDA_CHECK_LAUNCH("pool_backward_kernel");
}

}  // namespace relprop::cuda_detail
