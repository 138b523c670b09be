#include "tests/reference/naive.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "relprop/error.hpp"
#include "layers/add.h"
#include "layers/avgpool.h"
#include "layers/batchnorm.h"
#include "layers/concat.h"
#include "layers/conv.h"
#include "layers/identity.h"
#include "layers/linear.h"
#include "layers/maxpool.h"
#include "layers/op_registry.h"
#include "layers/pad.h"
#include "layers/relu.h"
#include "layers/reshape.h"

namespace relprop::ref {

namespace {

int64_t numel_of(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) {
        if (d < 0) throw Error("naive: negative dimension in " + shape_str(s));
        n *= d;
    }
    return n;
}

void require_rank(const Dense& x, size_t rank, const char* what) {
    if (x.shape.size() != rank)
        throw Error(std::string("naive ") + what + ": expected rank " + std::to_string(rank) + ", got " +
                    shape_str(x.shape));
}

size_t resolve_axis(int64_t axis, size_t rank) {
    const int64_t r = static_cast<int64_t>(rank);
    if (axis < -r || axis >= r) throw Error("naive concat: axis out of range");
    return static_cast<size_t>(axis < 0 ? axis + r : axis);
}

const Dense* optional_param(const Params& params, const char* name, Dense& storage) {
    auto it = params.find(name);
    if (it == params.end()) return nullptr;
    storage = Dense::from(it->second);
    return &storage;
}

}  // namespace

// ---- Dense ----------------------------------------------------------------------------------------------------

Dense::Dense(Shape s) : shape(std::move(s)), v(static_cast<size_t>(numel_of(shape)), 0.0) {}

Dense::Dense(Shape s, std::vector<double> values) : shape(std::move(s)), v(std::move(values)) {
    if (static_cast<int64_t>(v.size()) != numel_of(shape)) throw Error("naive Dense: size does not match shape");
}

Dense Dense::from(const Tensor& t) {
    if (t.device() != Device::CPU) throw Error("naive Dense::from: CPU tensors only");
    Dense d(t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) d.v[static_cast<size_t>(i)] = t[i];
    return d;
}

Tensor Dense::to_tensor() const {
    std::vector<float> f(v.size());
    for (size_t i = 0; i < v.size(); ++i) f[i] = static_cast<float>(v[i]);
    return Tensor(shape, f);
}

Dense Dense::rounded() const {
    Dense d = *this;
    for (double& x : d.v) x = static_cast<float>(x);
    return d;
}

Dense random_dense(const Shape& shape, std::mt19937& rng, double lo, double hi) {
    std::uniform_real_distribution<double> u(lo, hi);
    Dense d(shape);
    for (double& x : d.v) x = static_cast<float>(u(rng));
    return d;
}

Dense distinct_dense(const Shape& shape, std::mt19937& rng, double spacing) {
    Dense d(shape);
    std::vector<int64_t> perm(d.v.size());
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    const double half = static_cast<double>(perm.size()) / 2.0;
    for (size_t i = 0; i < perm.size(); ++i)
        d.v[i] = static_cast<float>((static_cast<double>(perm[i]) - std::floor(half)) * spacing);
    return d;
}

double max_abs(const Dense& a) {
    double m = 0.0;
    for (double x : a.v) m = std::max(m, std::abs(x));
    return m;
}

double max_abs_diff(const Dense& a, const Dense& b) {
    if (a.shape != b.shape)
        throw Error("naive max_abs_diff: shapes " + shape_str(a.shape) + " and " + shape_str(b.shape) + " differ");
    double m = 0.0;
    for (size_t i = 0; i < a.v.size(); ++i) {
        const double d = std::abs(a.v[i] - b.v[i]);
        if (std::isnan(d)) return std::numeric_limits<double>::infinity();
        m = std::max(m, d);
    }
    return m;
}

double dot(const Dense& a, const Dense& b) {
    if (a.v.size() != b.v.size()) throw Error("naive dot: sizes differ");
    double s = 0.0;
    for (size_t i = 0; i < a.v.size(); ++i) s += a.v[i] * b.v[i];
    return s;
}

double norm2(const Dense& a) {
    return std::sqrt(dot(a, a));
}

// ---- convolution ----------------------------------------------------------------------------------------------

namespace {

int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe, int64_t d) {
    const int64_t span = in + pb + pe - d * (k - 1) - 1;
    if (span < 0) throw Error("naive conv: kernel larger than the padded input");
    return span / s + 1;  // floor: span >= 0
}

// Calls f(x index, w index, y index) for every product term of the convolution whose input position lies
// inside the input (zero padding contributes nothing).
template <class F>
void conv_terms(const Shape& xs, const Shape& ws, const ConvGeometry& g, const Shape& ys, F&& f) {
    const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
    const int64_t O = ws[0], Cg = ws[1], KH = ws[2], KW = ws[3];
    const int64_t G = g.groups;
    if (C != Cg * G || O % G != 0) throw Error("naive conv: channels do not match groups");
    const int64_t Og = O / G;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < O; ++o) {
            const int64_t grp = o / Og;
            for (int64_t oy = 0; oy < ys[2]; ++oy)
                for (int64_t ox = 0; ox < ys[3]; ++ox)
                    for (int64_t c = 0; c < Cg; ++c)
                        for (int64_t ky = 0; ky < KH; ++ky) {
                            const int64_t iy = oy * g.stride[0] - g.pad_begin[0] + ky * g.dilation[0];
                            if (iy < 0 || iy >= H) continue;
                            for (int64_t kx = 0; kx < KW; ++kx) {
                                const int64_t ix = ox * g.stride[1] - g.pad_begin[1] + kx * g.dilation[1];
                                if (ix < 0 || ix >= W) continue;
                                const int64_t xi = ((n * C + grp * Cg + c) * H + iy) * W + ix;
                                const int64_t wi = ((o * Cg + c) * KH + ky) * KW + kx;
                                const int64_t yi = ((n * O + o) * ys[2] + oy) * ys[3] + ox;
                                f(xi, wi, yi);
                            }
                        }
        }
}

Shape conv_out_shape(const Shape& xs, const Shape& ws, const ConvGeometry& g) {
    return {xs[0], ws[0], conv_out(xs[2], ws[2], g.stride[0], g.pad_begin[0], g.pad_end[0], g.dilation[0]),
            conv_out(xs[3], ws[3], g.stride[1], g.pad_begin[1], g.pad_end[1], g.dilation[1])};
}

}  // namespace

Dense naive_conv2d(const Dense& x, const Dense& w, const Dense* bias, const ConvGeometry& g) {
    require_rank(x, 4, "conv input");
    require_rank(w, 4, "conv weight");
    Dense y(conv_out_shape(x.shape, w.shape, g));
    if (bias) {
        const int64_t O = y.shape[1], plane = y.shape[2] * y.shape[3];
        for (int64_t n = 0; n < y.shape[0]; ++n)
            for (int64_t o = 0; o < O; ++o)
                for (int64_t p = 0; p < plane; ++p) y[(n * O + o) * plane + p] = (*bias)[o];
    }
    conv_terms(x.shape, w.shape, g, y.shape, [&](int64_t xi, int64_t wi, int64_t yi) { y[yi] += x[xi] * w[wi]; });
    return y;
}

Dense naive_conv2d_transpose(const Dense& gy, const Dense& w, const ConvGeometry& g, const Shape& x_shape) {
    require_rank(gy, 4, "conv grad_output");
    const Shape ys = conv_out_shape(x_shape, w.shape, g);
    if (ys != gy.shape)
        throw Error("naive conv transpose: grad_output " + shape_str(gy.shape) + " does not match " + shape_str(ys));
    Dense gx(x_shape);
    conv_terms(x_shape, w.shape, g, ys, [&](int64_t xi, int64_t wi, int64_t yi) { gx[xi] += gy[yi] * w[wi]; });
    return gx;
}

// ---- linear ---------------------------------------------------------------------------------------------------

// x [N, ..., K]: the rows [N·…, K] through the layer (an N-D MatMul over the last axis).
Dense naive_linear(const Dense& x, const Dense& w, const Dense* bias) {
    if (x.shape.size() < 2) throw Error("naive linear: the input needs rank >= 2");
    require_rank(w, 2, "linear weight");
    const int64_t K = x.shape.back(), N = x.numel() / K, M = w.shape[0];
    if (w.shape[1] != K) throw Error("naive linear: K mismatch");
    Shape ys = x.shape;
    ys.back() = M;
    Dense y(ys);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t m = 0; m < M; ++m) {
            double s = bias ? (*bias)[m] : 0.0;
            for (int64_t k = 0; k < K; ++k) s += x[n * K + k] * w[m * K + k];
            y[n * M + m] = s;
        }
    return y;
}

Dense naive_linear_transpose(const Dense& gy, const Dense& w) {
    if (gy.shape.size() < 2) throw Error("naive linear transpose: grad_output needs rank >= 2");
    const int64_t M = w.shape[0], K = w.shape[1], N = gy.numel() / M;
    if (gy.shape.back() != M) throw Error("naive linear transpose: M mismatch");
    Shape xs = gy.shape;
    xs.back() = K;
    Dense gx(xs);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
            double s = 0.0;
            for (int64_t m = 0; m < M; ++m) s += gy[n * M + m] * w[m * K + k];
            gx[n * K + k] = s;
        }
    return gx;
}

// ---- batch norm -----------------------------------------------------------------------------------------------

Dense naive_batchnorm(const Dense& x, const Dense& scale, const Dense& bias, const Dense& mean, const Dense& var,
                      double epsilon) {
    if (x.shape.size() < 2) throw Error("naive batchnorm: rank < 2");
    const int64_t N = x.shape[0], C = x.shape[1], inner = x.numel() / std::max<int64_t>(N * C, 1);
    Dense y(x.shape);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < inner; ++i) {
                const int64_t at = (n * C + c) * inner + i;
                y[at] = (x[at] - mean[c]) / std::sqrt(var[c] + epsilon) * scale[c] + bias[c];
            }
    return y;
}

Dense naive_batchnorm_backward(const Dense& gy, const Dense& scale, const Dense& var, double epsilon) {
    const int64_t N = gy.shape[0], C = gy.shape[1], inner = gy.numel() / std::max<int64_t>(N * C, 1);
    Dense gx(gy.shape);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < inner; ++i) {
                const int64_t at = (n * C + c) * inner + i;
                gx[at] = gy[at] * scale[c] / std::sqrt(var[c] + epsilon);
            }
    return gx;
}

// ---- pooling --------------------------------------------------------------------------------------------------

Shape naive_pool_output_shape(const Shape& x, const NaivePool& p) {
    if (x.size() != 4) throw Error("naive pool: expects [N,C,H,W]");
    Shape out{x[0], x[1], 0, 0};
    for (int i = 0; i < 2; ++i) {
        const int64_t in = x[2 + i];
        const int64_t eff_k = p.dilation[i] * (p.kernel[i] - 1) + 1;
        const int64_t num = in + p.pad_begin[i] + p.pad_end[i] - eff_k;
        if (num < 0) throw Error("naive pool: kernel larger than the padded input");
        // PyTorch pooling_output_shape: floor or ceil division, then drop a last window starting in the end padding.
        int64_t o = (p.ceil_mode ? (num + p.stride[i] - 1) / p.stride[i] : num / p.stride[i]) + 1;
        if (p.ceil_mode && (o - 1) * p.stride[i] >= in + p.pad_begin[i]) o -= 1;
        out[2 + i] = o;
    }
    return out;
}

namespace {

// Calls f(output index, input indices of the window's taps inside the input in scan order, number of the
// window's taps inside the padded input) for every window.
template <class F>
void pool_windows(const Shape& xs, const NaivePool& p, const Shape& ys, F&& f) {
    const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
    std::vector<int64_t> taps;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t oy = 0; oy < ys[2]; ++oy)
                for (int64_t ox = 0; ox < ys[3]; ++ox) {
                    taps.clear();
                    int64_t padded = 0;
                    for (int64_t ky = 0; ky < p.kernel[0]; ++ky) {
                        const int64_t iy = oy * p.stride[0] - p.pad_begin[0] + ky * p.dilation[0];
                        for (int64_t kx = 0; kx < p.kernel[1]; ++kx) {
                            const int64_t ix = ox * p.stride[1] - p.pad_begin[1] + kx * p.dilation[1];
                            if (iy >= -p.pad_begin[0] && iy < H + p.pad_end[0] && ix >= -p.pad_begin[1] &&
                                ix < W + p.pad_end[1])
                                ++padded;
                            if (iy >= 0 && iy < H && ix >= 0 && ix < W) taps.push_back(((n * C + c) * H + iy) * W + ix);
                        }
                    }
                    f(((n * C + c) * ys[2] + oy) * ys[3] + ox, taps, padded);
                }
}

}  // namespace

Dense naive_maxpool(const Dense& x, const NaivePool& p) {
    Dense y(naive_pool_output_shape(x.shape, p));
    pool_windows(x.shape, p, y.shape, [&](int64_t yi, const std::vector<int64_t>& taps, int64_t) {
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t t : taps) m = std::max(m, x[t]);
        y[yi] = m;
    });
    return y;
}

Dense naive_maxpool_backward(const Dense& x, const Dense& gy, const NaivePool& p) {
    Dense gx(x.shape);
    pool_windows(x.shape, p, gy.shape, [&](int64_t yi, const std::vector<int64_t>& taps, int64_t) {
        if (taps.empty()) return;
        int64_t best = taps[0];
        for (int64_t t : taps)
            if (x[t] > x[best]) best = t;  // strict: the first maximum wins
        gx[best] += gy[yi];
    });
    return gx;
}

Dense naive_avgpool(const Dense& x, const NaivePool& p, bool count_include_pad) {
    Dense y(naive_pool_output_shape(x.shape, p));
    pool_windows(x.shape, p, y.shape, [&](int64_t yi, const std::vector<int64_t>& taps, int64_t padded) {
        const int64_t divisor = count_include_pad ? padded : static_cast<int64_t>(taps.size());
        double s = 0.0;
        for (int64_t t : taps) s += x[t];
        y[yi] = divisor > 0 ? s / static_cast<double>(divisor) : 0.0;
    });
    return y;
}

Dense naive_avgpool_backward(const Dense& gy, const Shape& x_shape, const NaivePool& p, bool count_include_pad) {
    Dense gx(x_shape);
    pool_windows(x_shape, p, gy.shape, [&](int64_t yi, const std::vector<int64_t>& taps, int64_t padded) {
        const int64_t divisor = count_include_pad ? padded : static_cast<int64_t>(taps.size());
        if (divisor == 0) return;
        for (int64_t t : taps) gx[t] += gy[yi] / static_cast<double>(divisor);
    });
    return gx;
}

Dense naive_global_avgpool(const Dense& x) {
    require_rank(x, 4, "global avg pool");
    const int64_t NC = x.shape[0] * x.shape[1], plane = x.shape[2] * x.shape[3];
    Dense y({x.shape[0], x.shape[1], 1, 1});
    for (int64_t i = 0; i < NC; ++i) {
        double s = 0.0;
        for (int64_t j = 0; j < plane; ++j) s += x[i * plane + j];
        y[i] = s / static_cast<double>(plane);
    }
    return y;
}

Dense naive_global_avgpool_backward(const Dense& gy, const Shape& x_shape) {
    const int64_t NC = x_shape[0] * x_shape[1], plane = x_shape[2] * x_shape[3];
    Dense gx(x_shape);
    for (int64_t i = 0; i < NC; ++i)
        for (int64_t j = 0; j < plane; ++j) gx[i * plane + j] = gy[i] / static_cast<double>(plane);
    return gx;
}

// ---- elementwise and shape ------------------------------------------------------------------------------------

Dense naive_add(const Dense& a, const Dense& b) {
    if (a.shape != b.shape) throw Error("naive add: shapes differ");
    Dense y(a.shape);
    for (int64_t i = 0; i < y.numel(); ++i) y[i] = a[i] + b[i];
    return y;
}

Dense naive_concat(const std::vector<Dense>& xs, int64_t axis_in) {
    if (xs.empty()) throw Error("naive concat: no inputs");
    const size_t axis = resolve_axis(axis_in, xs[0].shape.size());
    Shape out = xs[0].shape;
    out[axis] = 0;
    for (const Dense& x : xs) out[axis] += x.shape[axis];
    Dense y(out);
    // Multi-index walk over the output: find which input and where.
    const size_t rank = out.size();
    std::vector<int64_t> idx(rank, 0);
    for (int64_t i = 0; i < y.numel(); ++i) {
        int64_t along = idx[axis];
        size_t which = 0;
        while (along >= xs[which].shape[axis]) along -= xs[which++].shape[axis];
        const Dense& x = xs[which];
        int64_t xi = 0;
        for (size_t d = 0; d < rank; ++d) xi = xi * x.shape[d] + (d == axis ? along : idx[d]);
        y[i] = x[xi];
        for (size_t d = rank; d-- > 0;) {
            if (++idx[d] < out[d]) break;
            idx[d] = 0;
        }
    }
    return y;
}

std::vector<Dense> naive_concat_backward(const std::vector<Shape>& shapes, const Dense& gy, int64_t axis_in) {
    const size_t axis = resolve_axis(axis_in, gy.shape.size());
    std::vector<Dense> out;
    int64_t start = 0;
    for (const Shape& s : shapes) {
        Dense gx(s);
        std::vector<int64_t> idx(s.size(), 0);
        for (int64_t i = 0; i < gx.numel(); ++i) {
            int64_t yi = 0;
            for (size_t d = 0; d < s.size(); ++d) yi = yi * gy.shape[d] + (d == axis ? idx[d] + start : idx[d]);
            gx[i] = gy[yi];
            for (size_t d = s.size(); d-- > 0;) {
                if (++idx[d] < s[d]) break;
                idx[d] = 0;
            }
        }
        start += s[axis];
        out.push_back(std::move(gx));
    }
    return out;
}

Dense naive_relu(const Dense& x) {
    Dense y(x.shape);
    for (int64_t i = 0; i < y.numel(); ++i) y[i] = x[i] > 0.0 ? x[i] : 0.0;
    return y;
}

Dense naive_relu_backward(const Dense& x, const Dense& gy) {
    Dense gx(x.shape);
    for (int64_t i = 0; i < gx.numel(); ++i) gx[i] = x[i] > 0.0 ? gy[i] : 0.0;
    return gx;
}

Dense naive_reshape(const Dense& x, const Shape& shape) {
    if (numel_of(shape) != x.numel()) throw Error("naive reshape: element count differs");
    return Dense(shape, x.v);
}

// Zero padding of axes `axis` and `axis` + 1 of a 4-D value (2: NCHW, 1: NHWC).
Dense naive_pad(const Dense& x, std::array<int64_t, 2> begin, std::array<int64_t, 2> end, int axis) {
    const Shape& s = x.shape;
    Shape ys = s;
    ys[axis] += begin[0] + end[0];
    ys[axis + 1] += begin[1] + end[1];
    Dense y(ys);
    for (int64_t n = 0; n < s[0]; ++n)
        for (int64_t a = 0; a < s[1]; ++a)
            for (int64_t b = 0; b < s[2]; ++b)
                for (int64_t c = 0; c < s[3]; ++c) {
                    int64_t i[4] = {n, a, b, c};
                    i[axis] += begin[0];
                    i[axis + 1] += begin[1];
                    y.v[static_cast<size_t>(((i[0] * ys[1] + i[1]) * ys[2] + i[2]) * ys[3] + i[3])] =
                        x.v[static_cast<size_t>(((n * s[1] + a) * s[2] + b) * s[3] + c)];
                }
    return y;
}

Dense naive_pad_backward(const Dense& gy, const Shape& x_shape, std::array<int64_t, 2> begin, int axis) {
    Dense gx(x_shape);
    const Shape& ys = gy.shape;
    for (int64_t n = 0; n < x_shape[0]; ++n)
        for (int64_t a = 0; a < x_shape[1]; ++a)
            for (int64_t b = 0; b < x_shape[2]; ++b)
                for (int64_t c = 0; c < x_shape[3]; ++c) {
                    int64_t i[4] = {n, a, b, c};
                    i[axis] += begin[0];
                    i[axis + 1] += begin[1];
                    gx.v[static_cast<size_t>(((n * x_shape[1] + a) * x_shape[2] + b) * x_shape[3] + c)] =
                        gy.v[static_cast<size_t>(((i[0] * ys[1] + i[1]) * ys[2] + i[2]) * ys[3] + i[3])];
                }
    return gx;
}

Dense naive_channel_relu(const Dense& x, const Dense& slope, const Dense& shift) {
    Dense y = x;
    const int64_t c = x.shape[1], inner = x.numel() / (x.shape[0] * c);
    for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t ch = (i / inner) % c;
        y.v[static_cast<size_t>(i)] = std::max(0.0, slope.v[ch] * x.v[i] + shift.v[ch]);
    }
    return y;
}

Dense naive_channel_relu_backward(const Dense& x, const Dense& gy, const Dense& slope, const Dense& shift) {
    Dense gx = gy;
    const int64_t c = x.shape[1], inner = x.numel() / (x.shape[0] * c);
    for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t ch = (i / inner) % c;
        gx.v[static_cast<size_t>(i)] = slope.v[ch] * x.v[i] + shift.v[ch] > 0 ? slope.v[ch] * gy.v[i] : 0.0;
    }
    return gx;
}

// ---- ops --------------------------------------------------------------------------------------------------------

NaivePool naive_pool_of(const Op& op) {
    const PoolAttributes* a = nullptr;
    if (auto* m = dynamic_cast<const MaxPool*>(&op)) a = &m->attributes();
    if (auto* m = dynamic_cast<const AvgPool*>(&op)) a = &m->attributes();
    if (!a) throw Error(std::string("naive: ") + op_name(op.type()) + " is not a MaxPool/AvgPool");
    return NaivePool{a->kernel, a->stride, a->pad_begin, a->pad_end, a->dilation, a->ceil_mode};
}

Dense naive_forward_with(const Op& op, const std::vector<Dense>& inputs, const Params& params) {
    Dense bias_storage;
    switch (op.type()) {
        case OpType::Conv: {
            const auto& conv = dynamic_cast<const Conv&>(op);
            return naive_conv2d(inputs.at(0), Dense::from(params.at("weight")),
                                optional_param(params, "bias", bias_storage), conv.geometry());
        }
        case OpType::Linear:
            return naive_linear(inputs.at(0), Dense::from(params.at("weight")),
                                optional_param(params, "bias", bias_storage));
        case OpType::BatchNorm: {
            const auto& bn = dynamic_cast<const BatchNorm&>(op);
            return naive_batchnorm(inputs.at(0), Dense::from(params.at("scale")), Dense::from(params.at("bias")),
                                   Dense::from(params.at("mean")), Dense::from(params.at("var")), bn.epsilon());
        }
        case OpType::MaxPool: return naive_maxpool(inputs.at(0), naive_pool_of(op));
        case OpType::AvgPool:
            return naive_avgpool(inputs.at(0), naive_pool_of(op), dynamic_cast<const AvgPool&>(op).count_include_pad());
        case OpType::GlobalAvgPool: return naive_global_avgpool(inputs.at(0));
        case OpType::Add: return naive_add(inputs.at(0), inputs.at(1));
        case OpType::Concat: return naive_concat(inputs, dynamic_cast<const Concat&>(op).axis());
        case OpType::Relu: return naive_relu(inputs.at(0));
        case OpType::Flatten:
        case OpType::Reshape: return naive_reshape(inputs.at(0), op.infer_shape({inputs.at(0).shape}));
        case OpType::Identity: return inputs.at(0);
        case OpType::Pad: {
            const auto& pad = dynamic_cast<const Pad&>(op);
            return naive_pad(inputs.at(0), pad.pad_begin(), pad.pad_end(), pad.axis());
        }
        case OpType::ChannelRelu:
            return naive_channel_relu(inputs.at(0), Dense::from(params.at("slope")), Dense::from(params.at("shift")));
        default: break;
    }
    // Ops whose unit carries its own double-precision reference (layers/op_registry.h).
    if (const auto reference = op_info(op.type()).reference) {
        std::vector<RefArray> in;
        for (const Dense& x : inputs) in.push_back({x.shape, x.v});
        RefArray y = reference(op, in);
        return Dense(y.shape, std::move(y.v));
    }
    throw Error(std::string("naive forward: unknown op ") + op_name(op.type()));
}

Dense naive_forward(const Op& op, const std::vector<Dense>& inputs) {
    return naive_forward_with(op, inputs, op.params());
}

std::vector<Dense> naive_transpose_with(const Op& op, const std::vector<Shape>& input_shapes, const Params& params,
                                        const Dense& gy) {
    switch (op.type()) {
        case OpType::Conv:
            return {naive_conv2d_transpose(gy, Dense::from(params.at("weight")),
                                           dynamic_cast<const Conv&>(op).geometry(), input_shapes.at(0))};
        case OpType::Linear: return {naive_linear_transpose(gy, Dense::from(params.at("weight")))};
        case OpType::AvgPool:
            return {naive_avgpool_backward(gy, input_shapes.at(0), naive_pool_of(op),
                                           dynamic_cast<const AvgPool&>(op).count_include_pad())};
        case OpType::GlobalAvgPool: return {naive_global_avgpool_backward(gy, input_shapes.at(0))};
        case OpType::Add: return {gy, gy};
        case OpType::Pad: {
            const auto& pad = dynamic_cast<const Pad&>(op);
            return {naive_pad_backward(gy, input_shapes.at(0), pad.pad_begin(), pad.axis())};
        }
        default: break;
    }
    throw Error(std::string("naive transpose: ") + op_name(op.type()) + " is not linear-type");
}

std::vector<Dense> naive_backward(const Op& op, const std::vector<Dense>& inputs, const Dense& gy) {
    std::vector<Shape> shapes;
    for (const Dense& x : inputs) shapes.push_back(x.shape);
    switch (op.type()) {
        case OpType::Conv:
        case OpType::Linear:
        case OpType::AvgPool:
        case OpType::GlobalAvgPool:
        case OpType::Pad:
        case OpType::Add: return naive_transpose_with(op, shapes, op.params(), gy);
        case OpType::BatchNorm: {
            const auto& bn = dynamic_cast<const BatchNorm&>(op);
            return {naive_batchnorm_backward(gy, Dense::from(op.params().at("scale")),
                                             Dense::from(op.params().at("var")), bn.epsilon())};
        }
        case OpType::MaxPool: return {naive_maxpool_backward(inputs.at(0), gy, naive_pool_of(op))};
        case OpType::Concat: return naive_concat_backward(shapes, gy, dynamic_cast<const Concat&>(op).axis());
        case OpType::Relu: return {naive_relu_backward(inputs.at(0), gy)};
        case OpType::Flatten:
        case OpType::Reshape: return {naive_reshape(gy, shapes.at(0))};
        case OpType::Identity: return {gy};
        case OpType::ChannelRelu:
            return {naive_channel_relu_backward(inputs.at(0), gy, Dense::from(op.params().at("slope")),
                                                Dense::from(op.params().at("shift")))};
        default: break;
    }
    throw Error(std::string("naive backward: unknown op ") + op_name(op.type()));
}

std::vector<Dense> naive_graph_forward(const Graph& graph, const std::vector<Dense>& inputs) {
    if (inputs.size() != graph.inputs().size())
        throw Error("naive graph forward: expected " + std::to_string(graph.inputs().size()) + " inputs");
    std::vector<Dense> values(graph.values().size());
    for (size_t i = 0; i < inputs.size(); ++i) values[static_cast<size_t>(graph.inputs()[i])] = inputs[i];
    for (const Node& node : graph.nodes()) {
        std::vector<Dense> in;
        for (int v : node.inputs) in.push_back(values[static_cast<size_t>(v)]);
        values[static_cast<size_t>(node.output)] = naive_forward(*node.op, in);
    }
    return values;
}

}  // namespace relprop::ref
