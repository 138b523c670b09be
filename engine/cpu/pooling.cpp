#include "engine/cpu/pooling.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace relprop {

namespace {

// The valid taps of output position o along one axis: input index = o·stride − pad + k·dilation.
struct Taps {
    int64_t first, last;  // kernel indices k with the input index inside [0, size)
};

Taps taps(int64_t o, int64_t stride, int64_t pad, int64_t dilation, int64_t kernel, int64_t size) {
    const int64_t start = o * stride - pad;
    int64_t first = 0, last = kernel - 1;
    while (first <= last && start + first * dilation < 0) ++first;
    while (last >= first && start + last * dilation >= size) --last;
    return {first, last};
}

struct Plane {
    int64_t h, w, oh, ow;
};

template <class F>
void for_each_window(const Plane& p, const PoolGeometry& g, F&& f) {
    for (int64_t i = 0; i < p.oh; ++i) {
        const Taps ty = taps(i, g.stride[0], g.pad_begin[0], g.dilation[0], g.kernel[0], p.h);
        for (int64_t j = 0; j < p.ow; ++j) {
            const Taps tx = taps(j, g.stride[1], g.pad_begin[1], g.dilation[1], g.kernel[1], p.w);
            f(i * p.ow + j, i * g.stride[0] - g.pad_begin[0], j * g.stride[1] - g.pad_begin[1], ty, tx);
        }
    }
}

int64_t divisor(PoolKind kind, const PoolGeometry& g, const Taps& ty, const Taps& tx) {
    if (kind == PoolKind::AvgIncludePad) return g.kernel[0] * g.kernel[1];
    return std::max<int64_t>(1, (ty.last - ty.first + 1) * (tx.last - tx.first + 1));
}

}  // namespace

void cpu_pool_forward(PoolKind kind, const Tensor& x, const PoolGeometry& g, Tensor& y) {
    const Plane p{x.dim(2), x.dim(3), y.dim(2), y.dim(3)};
    const int64_t planes = x.dim(0) * x.dim(1);
    const float* xs = x.data();
    float* ys = y.data();
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < planes; ++c) {
        const float* in = xs + c * p.h * p.w;
        float* out = ys + c * p.oh * p.ow;
        for_each_window(p, g, [&](int64_t o, int64_t y0, int64_t x0, const Taps& ty, const Taps& tx) {
            if (kind == PoolKind::Max) {
                float m = -std::numeric_limits<float>::infinity();
                for (int64_t a = ty.first; a <= ty.last; ++a)
                    for (int64_t b = tx.first; b <= tx.last; ++b)
                        m = std::max(m, in[(y0 + a * g.dilation[0]) * p.w + x0 + b * g.dilation[1]]);
                out[o] = m;
            } else {
                float s = 0.0f;
                for (int64_t a = ty.first; a <= ty.last; ++a)
                    for (int64_t b = tx.first; b <= tx.last; ++b) s += in[(y0 + a) * p.w + x0 + b];
                out[o] = s / static_cast<float>(divisor(kind, g, ty, tx));
            }
        });
    }
}

void cpu_pool_backward(PoolKind kind, const Tensor& x, const Tensor& gy, const PoolGeometry& g, Tensor& gx) {
    const Plane p{gx.dim(2), gx.dim(3), gy.dim(2), gy.dim(3)};
    const int64_t planes = gx.dim(0) * gx.dim(1);
    const float* xs = kind == PoolKind::Max ? x.data() : nullptr;
    const float* gys = gy.data();
    float* gxs = gx.data();
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < planes; ++c) {
        float* out = gxs + c * p.h * p.w;
        std::memset(out, 0, sizeof(float) * static_cast<size_t>(p.h * p.w));
        const float* grad = gys + c * p.oh * p.ow;
        const float* in = xs ? xs + c * p.h * p.w : nullptr;
        for_each_window(p, g, [&](int64_t o, int64_t y0, int64_t x0, const Taps& ty, const Taps& tx) {
            if (ty.first > ty.last || tx.first > tx.last) return;
            if (kind == PoolKind::Max) {
                int64_t best = -1;
                float m = -std::numeric_limits<float>::infinity();
                for (int64_t a = ty.first; a <= ty.last; ++a)
                    for (int64_t b = tx.first; b <= tx.last; ++b) {
                        const int64_t k = (y0 + a * g.dilation[0]) * p.w + x0 + b * g.dilation[1];
                        if (best < 0 || in[k] > m) {
                            m = in[k];
                            best = k;
                        }
                    }
                out[best] += grad[o];
            } else {
                const float share = grad[o] / static_cast<float>(divisor(kind, g, ty, tx));
                for (int64_t a = ty.first; a <= ty.last; ++a)
                    for (int64_t b = tx.first; b <= tx.last; ++b) out[(y0 + a) * p.w + x0 + b] += share;
            }
        });
    }
}

}  // namespace relprop
