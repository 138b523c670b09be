// LRP rules on the CPU backend against an independent double-precision oracle.
//
// Every linear-type layer (Linear, Conv incl. stride / asymmetric padding / dilation / groups, AvgPool,
// GlobalAvgPool) is written here as a dense matrix W (outputs × inputs, per sample) and a bias vector b
// (per output position), built with our own loops (no engine code). Each rule's formula from DESIGN.md
// ("The rule model", the table that matches zennit's BasicHook rules) is then evaluated in double:
//
//   stab(z) = z + ε·σ(z), σ(z) = +1 for z ≥ 0 (incl. −0), −1 for z < 0;  b' = 0 with zero_bias, else b
//   Epsilon   z = Wx + b'                              R_in = x ⊙ Wᵀ(R/stab z)
//   ZPlus     z = W⁺x⁺ + b'⁺ + W⁻x⁻                    R_in = x⁺ ⊙ W⁺ᵀs + x⁻ ⊙ W⁻ᵀs
//   AlphaBeta zp = W⁺x⁺ + b'⁺ + W⁻x⁻, zn = W⁻x⁺ + b'⁻ + W⁺x⁻
//             R_in = α(x⁺⊙W⁺ᵀsp + x⁻⊙W⁻ᵀsp) − β(x⁺⊙W⁻ᵀsn + x⁻⊙W⁺ᵀsn)
//   Gamma     G± = W + γW±, c± = b' + γb'±; mask from the plain output z = Wx + b (bias kept, zennit's NoMod());
//             zp = G⁺x⁺ + c⁺ + G⁻x⁻, zn = G⁻x⁺ + c⁻ + G⁺x⁻, sp = [z>0]R/stab zp, sn = [z<0]R/stab zn
//             R_in = x⁺⊙G⁺ᵀsp + x⁻⊙G⁻ᵀsp + x⁺⊙G⁻ᵀsn + x⁻⊙G⁺ᵀsn
//   ZBox      l, h expanded per input element (padding is not an input element, so it stays zero)
//             z = Wx + b' − (W⁺l + b'⁺) − (W⁻h + b'⁻)  R_in = x⊙Wᵀs − l⊙W⁺ᵀs − h⊙W⁻ᵀs
//   Flat      S = structural ones (1 where the layer connects i and j), no bias: z = S·1, R_in = Sᵀs
//   WSquare   W² elementwise, b'²: z = W²·1 + b'², R_in = W²ᵀs
//   Norm      as Epsilon with the layer's own parameters (zennit's Norm has no zero_params)
//   Add+Norm  R_in_k = x_k ⊙ R / stab(x₁ + x₂)
//
// Tolerance of the matrix-form test (float32 engine vs double oracle, same float inputs):
//   max |R_in − R_in_ref| ≤ 1e-4 · max(1, max |R_in_ref|).
// Each case prints one line: max abs error, and max relative error over the elements with
// |ref| ≥ 1e-3·max|ref| (smaller elements are pure cancellation and only meaningful in absolute terms).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/cpu/cpu_backend.h"
#include "relprop/error.hpp"
#include "engine/graph.h"
#include "layers/add.h"
#include "layers/avgpool.h"
#include "layers/concat.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/maxpool.h"
#include "layers/relu.h"
#include "layers/reshape.h"
#include "rules/composite.h"
#include "rules/explainer.h"
#include "rules/plan.h"
#include "rules/rules.h"

using namespace relprop;

namespace {

Backend& cpu() {
    static std::unique_ptr<Backend> backend = make_cpu_backend();
    return *backend;
}

using Vec = std::vector<double>;

// One sample of a linear-type layer as a dense matrix.
struct DenseLayer {
    int64_t n_in = 0, n_out = 0;
    Vec W;                         // n_out × n_in, row-major
    Vec S;                         // structural ones: 1 where the layer connects output i and input j
    Vec b;                         // n_out (zeros when the layer has no bias)
    std::vector<int64_t> channel;  // channel (axis 1) of each input element, for ZBox bounds
};

// --- the dense matrices, written independently of the engine ---------------------------------------

DenseLayer linear_dense(const Tensor& w, const Tensor* bias) {
    DenseLayer L;
    L.n_out = w.dim(0);
    L.n_in = w.dim(1);
    L.W.assign(L.n_out * L.n_in, 0.0);
    L.S.assign(L.n_out * L.n_in, 1.0);
    L.b.assign(L.n_out, 0.0);
    for (int64_t i = 0; i < w.numel(); ++i) L.W[i] = w[i];
    if (bias)
        for (int64_t o = 0; o < L.n_out; ++o) L.b[o] = (*bias)[o];
    for (int64_t j = 0; j < L.n_in; ++j) L.channel.push_back(j);  // a [N, K] input: "channel" = feature
    return L;
}

// Convolution with zero padding: W[(o,oh,ow), (c,h,w)] = Σ over taps landing on (c,h,w).
DenseLayer conv_dense(const Tensor& w, const Tensor* bias, const ConvGeometry& g, int64_t C, int64_t H, int64_t Wd) {
    const int64_t O = w.dim(0), Cg = w.dim(1), KH = w.dim(2), KW = w.dim(3), Og = O / g.groups;
    const int64_t OH = (H + g.pad_begin[0] + g.pad_end[0] - g.dilation[0] * (KH - 1) - 1) / g.stride[0] + 1;
    const int64_t OW = (Wd + g.pad_begin[1] + g.pad_end[1] - g.dilation[1] * (KW - 1) - 1) / g.stride[1] + 1;
    DenseLayer L;
    L.n_in = C * H * Wd;
    L.n_out = O * OH * OW;
    L.W.assign(L.n_out * L.n_in, 0.0);
    L.S.assign(L.n_out * L.n_in, 0.0);
    L.b.assign(L.n_out, 0.0);
    for (int64_t o = 0; o < O; ++o) {
        const int64_t group = o / Og;
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t row = (o * OH + oh) * OW + ow;
                if (bias) L.b[row] = (*bias)[o];
                for (int64_t cg = 0; cg < Cg; ++cg)
                    for (int64_t kh = 0; kh < KH; ++kh)
                        for (int64_t kw = 0; kw < KW; ++kw) {
                            const int64_t c = group * Cg + cg;
                            const int64_t h = oh * g.stride[0] - g.pad_begin[0] + kh * g.dilation[0];
                            const int64_t x = ow * g.stride[1] - g.pad_begin[1] + kw * g.dilation[1];
                            if (h < 0 || h >= H || x < 0 || x >= Wd) continue;  // zero padding
                            const int64_t col = (c * H + h) * Wd + x;
                            L.W[row * L.n_in + col] += w[((o * Cg + cg) * KH + kh) * KW + kw];
                            L.S[row * L.n_in + col] = 1.0;
                        }
            }
    }
    for (int64_t j = 0; j < L.n_in; ++j) L.channel.push_back(j / (H * Wd));
    return L;
}

// Average pooling (ceil_mode off): divisor = kernel area (count_include_pad) or the in-bounds count.
DenseLayer avgpool_dense(const PoolAttributes& a, bool include_pad, int64_t C, int64_t H, int64_t Wd) {
    const int64_t KH = a.kernel[0], KW = a.kernel[1];
    const int64_t OH = (H + a.pad_begin[0] + a.pad_end[0] - KH) / a.stride[0] + 1;
    const int64_t OW = (Wd + a.pad_begin[1] + a.pad_end[1] - KW) / a.stride[1] + 1;
    DenseLayer L;
    L.n_in = C * H * Wd;
    L.n_out = C * OH * OW;
    L.W.assign(L.n_out * L.n_in, 0.0);
    L.S.assign(L.n_out * L.n_in, 0.0);
    L.b.assign(L.n_out, 0.0);
    for (int64_t c = 0; c < C; ++c)
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t row = (c * OH + oh) * OW + ow;
                std::vector<int64_t> cols;
                for (int64_t kh = 0; kh < KH; ++kh)
                    for (int64_t kw = 0; kw < KW; ++kw) {
                        const int64_t h = oh * a.stride[0] - a.pad_begin[0] + kh;
                        const int64_t x = ow * a.stride[1] - a.pad_begin[1] + kw;
                        if (h >= 0 && h < H && x >= 0 && x < Wd) cols.push_back((c * H + h) * Wd + x);
                    }
                const double div = include_pad ? double(KH * KW) : double(cols.size());
                for (int64_t col : cols) {
                    L.W[row * L.n_in + col] = 1.0 / div;
                    L.S[row * L.n_in + col] = 1.0;
                }
            }
    for (int64_t j = 0; j < L.n_in; ++j) L.channel.push_back(j / (H * Wd));
    return L;
}

DenseLayer global_avgpool_dense(int64_t C, int64_t H, int64_t Wd) {
    DenseLayer L;
    L.n_in = C * H * Wd;
    L.n_out = C;
    L.W.assign(L.n_out * L.n_in, 0.0);
    L.S.assign(L.n_out * L.n_in, 0.0);
    L.b.assign(L.n_out, 0.0);
    for (int64_t c = 0; c < C; ++c)
        for (int64_t k = 0; k < H * Wd; ++k) {
            L.W[c * L.n_in + c * H * Wd + k] = 1.0 / double(H * Wd);
            L.S[c * L.n_in + c * H * Wd + k] = 1.0;
        }
    for (int64_t j = 0; j < L.n_in; ++j) L.channel.push_back(j / (H * Wd));
    return L;
}

// --- the oracle --------------------------------------------------------------------------------------

double pos(double v) { return v > 0.0 ? v : 0.0; }
double neg(double v) { return v < 0.0 ? v : 0.0; }
double stab(double z, double eps) { return z + eps * (z >= 0.0 ? 1.0 : -1.0); }

Vec map(const Vec& v, const std::function<double(double)>& f) {
    Vec out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = f(v[i]);
    return out;
}
Vec mv(const DenseLayer& L, const Vec& M, const Vec& x) {
    Vec y(L.n_out, 0.0);
    for (int64_t i = 0; i < L.n_out; ++i)
        for (int64_t j = 0; j < L.n_in; ++j) y[i] += M[i * L.n_in + j] * x[j];
    return y;
}
Vec mtv(const DenseLayer& L, const Vec& M, const Vec& s) {
    Vec g(L.n_in, 0.0);
    for (int64_t i = 0; i < L.n_out; ++i)
        for (int64_t j = 0; j < L.n_in; ++j) g[j] += M[i * L.n_in + j] * s[i];
    return g;
}
Vec add(const Vec& a, const Vec& b) {
    Vec c(a.size());
    for (size_t i = 0; i < a.size(); ++i) c[i] = a[i] + b[i];
    return c;
}
Vec sub(const Vec& a, const Vec& b) { return add(a, map(b, [](double v) { return -v; })); }
Vec hadamard(const Vec& a, const Vec& b) {
    Vec c(a.size());
    for (size_t i = 0; i < a.size(); ++i) c[i] = a[i] * b[i];
    return c;
}
Vec scaled(const Vec& a, double k) { return map(a, [k](double v) { return k * v; }); }
Vec divide(const Vec& R, const Vec& z, double eps) {
    Vec s(R.size());
    for (size_t i = 0; i < R.size(); ++i) s[i] = R[i] / stab(z[i], eps);
    return s;
}

enum class Kind { Epsilon, ZPlus, AlphaBeta, Gamma, ZBox, Flat, WSquare, Norm };

struct RuleCase {
    RuleCase(std::string name_, Kind kind_, std::shared_ptr<const Rule> rule_, double eps_, bool zero_bias_)
        : name(std::move(name_)), kind(kind_), rule(std::move(rule_)), eps(eps_), zero_bias(zero_bias_) {}
    std::string name;
    Kind kind;
    std::shared_ptr<const Rule> rule;
    double eps = 1e-6;
    bool zero_bias = false;
    double alpha = 0, beta = 0, gamma = 0;
    std::vector<float> low, high;
};

Vec oracle(const RuleCase& rc, const DenseLayer& L, const Vec& x, const Vec& R) {
    const double eps = rc.eps;
    const Vec bu = rc.zero_bias ? Vec(L.n_out, 0.0) : L.b;
    const Vec xp = map(x, pos), xn = map(x, neg);
    const Vec Wp = map(L.W, pos), Wn = map(L.W, neg);
    const Vec ones(L.n_in, 1.0);
    switch (rc.kind) {
        case Kind::Epsilon:
        case Kind::Norm: {
            const Vec z = add(mv(L, L.W, x), rc.kind == Kind::Norm ? L.b : bu);
            return hadamard(x, mtv(L, L.W, divide(R, z, eps)));
        }
        case Kind::ZPlus: {
            const Vec z = add(add(mv(L, Wp, xp), map(bu, pos)), mv(L, Wn, xn));
            const Vec s = divide(R, z, eps);
            return add(hadamard(xp, mtv(L, Wp, s)), hadamard(xn, mtv(L, Wn, s)));
        }
        case Kind::AlphaBeta: {
            const Vec zp = add(add(mv(L, Wp, xp), map(bu, pos)), mv(L, Wn, xn));
            const Vec zn = add(add(mv(L, Wn, xp), map(bu, neg)), mv(L, Wp, xn));
            const Vec sp = divide(R, zp, eps), sn = divide(R, zn, eps);
            const Vec a = add(hadamard(xp, mtv(L, Wp, sp)), hadamard(xn, mtv(L, Wn, sp)));
            const Vec b = add(hadamard(xp, mtv(L, Wn, sn)), hadamard(xn, mtv(L, Wp, sn)));
            return sub(scaled(a, rc.alpha), scaled(b, rc.beta));
        }
        case Kind::Gamma: {
            const double g = rc.gamma;
            const Vec z = add(mv(L, L.W, x), L.b);  // the plain output, bias included
            const Vec Gp = add(L.W, scaled(Wp, g)), Gn = add(L.W, scaled(Wn, g));
            const Vec cp = add(bu, scaled(map(bu, pos), g)), cn = add(bu, scaled(map(bu, neg), g));
            const Vec zp = add(add(mv(L, Gp, xp), cp), mv(L, Gn, xn));
            const Vec zn = add(add(mv(L, Gn, xp), cn), mv(L, Gp, xn));
            Vec sp = divide(R, zp, eps), sn = divide(R, zn, eps);
            for (int64_t i = 0; i < L.n_out; ++i) {
                if (!(z[i] > 0.0)) sp[i] = 0.0;
                if (!(z[i] < 0.0)) sn[i] = 0.0;
            }
            Vec r = add(hadamard(xp, mtv(L, Gp, sp)), hadamard(xn, mtv(L, Gn, sp)));
            r = add(r, hadamard(xp, mtv(L, Gn, sn)));
            return add(r, hadamard(xn, mtv(L, Gp, sn)));
        }
        case Kind::ZBox: {
            Vec l(L.n_in), h(L.n_in);
            for (int64_t j = 0; j < L.n_in; ++j) {
                l[j] = rc.low.size() == 1 ? rc.low[0] : rc.low[L.channel[j]];
                h[j] = rc.high.size() == 1 ? rc.high[0] : rc.high[L.channel[j]];
            }
            const Vec z1 = add(mv(L, L.W, x), bu);
            const Vec z2 = add(mv(L, Wp, l), map(bu, pos));
            const Vec z3 = add(mv(L, Wn, h), map(bu, neg));
            const Vec s = divide(R, sub(sub(z1, z2), z3), eps);
            return sub(sub(hadamard(x, mtv(L, L.W, s)), hadamard(l, mtv(L, Wp, s))), hadamard(h, mtv(L, Wn, s)));
        }
        case Kind::Flat: {
            const Vec z = mv(L, L.S, ones);
            return mtv(L, L.S, divide(R, z, eps));
        }
        case Kind::WSquare: {
            const Vec W2 = map(L.W, [](double v) { return v * v; });
            const Vec z = add(mv(L, W2, ones), map(bu, [](double v) { return v * v; }));
            return mtv(L, W2, divide(R, z, eps));
        }
    }
    return {};
}

// --- helpers -----------------------------------------------------------------------------------------

Tensor random_tensor(Shape shape, std::mt19937& rng, double lo, double hi) {
    std::uniform_real_distribution<double> d(lo, hi);
    Tensor t(std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(d(rng));
    return t;
}

Vec slice(const Tensor& t, int64_t n, int64_t per) {
    Vec v(per);
    for (int64_t j = 0; j < per; ++j) v[j] = t[n * per + j];
    return v;
}

struct Figure {
    double abs_err = 0, ref_max = 0, rel_err = 0;
};

// Engine vs oracle over the whole batch.
Figure compare(const Tensor& engine, const Vec& ref) {
    Figure f;
    for (double r : ref) f.ref_max = std::max(f.ref_max, std::abs(r));
    for (size_t i = 0; i < ref.size(); ++i) {
        const double e = std::abs(double(engine[int64_t(i)]) - ref[i]);
        f.abs_err = std::max(f.abs_err, std::isnan(e) ? INFINITY : e);
        if (std::abs(ref[i]) >= 1e-3 * f.ref_max && f.ref_max > 0) f.rel_err = std::max(f.rel_err, e / std::abs(ref[i]));
    }
    return f;
}

void report(const std::string& label, const Figure& f) {
    std::printf("rules oracle: %-40s max abs err %.2e  max rel err %.2e  (max|ref| %.2e)\n", label.c_str(), f.abs_err,
                f.rel_err, f.ref_max);
    std::fflush(stdout);
}

// A layer under test: the engine op, its per-sample matrix, the input shape.
struct LayerCase {
    std::string name;
    std::shared_ptr<const Op> op;
    DenseLayer dense;
    Shape input_shape;
    int64_t channels = 1;
};

void check_rule_on_layer(const RuleCase& rc, const LayerCase& lc, std::mt19937& rng) {
    const std::string label = rc.name + " / " + lc.name;
    INFO(label);
    const Tensor x = random_tensor(lc.input_shape, rng, -1.0, 1.0);
    const Tensor y = lc.op->forward(cpu(), {x});
    const Tensor R = random_tensor(y.shape(), rng, -1.0, 1.0);
    auto prop = rc.rule->prepare(*lc.op, cpu());
    const std::vector<Tensor> r_in = prop->propagate(cpu(), {x}, y, R);
    REQUIRE(r_in.size() == 1);
    REQUIRE(r_in[0].shape() == x.shape());

    const int64_t N = x.dim(0);
    REQUIRE(y.numel() == N * lc.dense.n_out);
    Vec ref;
    for (int64_t n = 0; n < N; ++n) {
        const Vec r = oracle(rc, lc.dense, slice(x, n, lc.dense.n_in), slice(R, n, lc.dense.n_out));
        ref.insert(ref.end(), r.begin(), r.end());
    }
    const Figure f = compare(r_in[0], ref);
    report(label, f);
    CHECK(f.abs_err <= 1e-4 * std::max(1.0, f.ref_max));
}

std::vector<RuleCase> all_rule_cases(const std::vector<float>& low, const std::vector<float>& high) {
    std::vector<RuleCase> cases;
    for (bool zb : {false, true}) {
        const std::string tag = zb ? " zb" : "";
        const RuleOptions o{1e-6f, zb};
        cases.push_back({"Epsilon(1e-6)" + tag, Kind::Epsilon, make_epsilon(1e-6f, zb), double(1e-6f), zb});
        cases.push_back({"Epsilon(0.25)" + tag, Kind::Epsilon, make_epsilon(0.25f, zb), 0.25, zb});
        cases.push_back({"ZPlus" + tag, Kind::ZPlus, make_zplus(o), double(1e-6f), zb});
        RuleCase ab21{"AlphaBeta(2,1)" + tag, Kind::AlphaBeta, make_alpha_beta(2, 1, o), double(1e-6f), zb};
        ab21.alpha = 2, ab21.beta = 1;
        cases.push_back(ab21);
        RuleCase ab10{"AlphaBeta(1,0)" + tag, Kind::AlphaBeta, make_alpha_beta(1, 0, o), double(1e-6f), zb};
        ab10.alpha = 1, ab10.beta = 0;
        cases.push_back(ab10);
        RuleCase gamma{"Gamma(0.25)" + tag, Kind::Gamma, make_gamma(0.25f, o), double(1e-6f), zb};
        gamma.gamma = 0.25;
        cases.push_back(gamma);
        RuleCase zbox{"ZBox" + tag, Kind::ZBox, make_zbox(low, high, o), double(1e-6f), zb};
        zbox.low = low, zbox.high = high;
        cases.push_back(zbox);
        cases.push_back({"WSquare" + tag, Kind::WSquare, make_wsquare(o), double(1e-6f), zb});
    }
    // Flat drops the bias anyway; Norm keeps the layer's parameters (zennit's Norm has no zero_params).
    cases.push_back({"Flat", Kind::Flat, make_flat({}), double(1e-6f), false});
    cases.push_back({"Norm", Kind::Norm, make_norm({}), double(1e-6f), false});
    return cases;
}

std::vector<float> per_channel_bounds(int64_t channels, double lo, double hi, std::mt19937& rng) {
    std::uniform_real_distribution<double> d(lo, hi);
    std::vector<float> v;
    for (int64_t c = 0; c < channels; ++c) v.push_back(static_cast<float>(d(rng)));
    return v;
}

LayerCase make_linear_case(std::mt19937& rng, bool with_bias, int64_t in = 7, int64_t out = 5) {
    const Tensor w = random_tensor({out, in}, rng, -1.0, 1.0);
    const Tensor b = random_tensor({out}, rng, -1.0, 1.0);
    LayerCase lc;
    lc.name = "Linear " + std::to_string(in) + "->" + std::to_string(out) + (with_bias ? " +b" : "");
    lc.op = std::make_shared<Linear>(w, with_bias ? std::optional<Tensor>(b) : std::nullopt);
    lc.dense = linear_dense(w, with_bias ? &b : nullptr);
    lc.input_shape = {2, in};
    lc.channels = in;
    return lc;
}

LayerCase make_conv_case(std::mt19937& rng, bool with_bias, bool grouped, double wlo = -1.0, double whi = 1.0) {
    ConvGeometry g;
    int64_t C, O, H, W;
    if (!grouped) {
        // 3→4, 3x3, stride 2, pads (top 1, left 0, bottom 2, right 1), 9x7 input.
        C = 3, O = 4, H = 9, W = 7;
        g.stride = {2, 2};
        g.pad_begin = {1, 0};
        g.pad_end = {2, 1};
    } else {
        // 4→6, groups 2, 3x3, stride (1, 2), dilation (2, 1), pads (0, 2, 1, 1), 8x9 input.
        C = 4, O = 6, H = 8, W = 9;
        g.groups = 2;
        g.stride = {1, 2};
        g.dilation = {2, 1};
        g.pad_begin = {0, 2};
        g.pad_end = {1, 1};
    }
    const Tensor w = random_tensor({O, C / g.groups, 3, 3}, rng, wlo, whi);
    const Tensor b = random_tensor({O}, rng, -1.0, 1.0);
    LayerCase lc;
    lc.name = std::string(grouped ? "Conv 4->6 g2 s(1,2) d(2,1)" : "Conv 3->4 s2 p(1,0,2,1)") + (with_bias ? " +b" : "");
    lc.op = std::make_shared<Conv>(w, with_bias ? std::optional<Tensor>(b) : std::nullopt, g);
    lc.dense = conv_dense(w, with_bias ? &b : nullptr, g, C, H, W);
    lc.input_shape = {2, C, H, W};
    lc.channels = C;
    return lc;
}

double sum(const Tensor& t) {
    double s = 0;
    for (int64_t i = 0; i < t.numel(); ++i) s += t[i];
    return s;
}

bool all_finite(const Tensor& t) {
    for (int64_t i = 0; i < t.numel(); ++i)
        if (!std::isfinite(t[i])) return false;
    return true;
}

}  // namespace

// -------------------------------------------------------------------------------------------------------

TEST_CASE("rules oracle: matrix form") {
    std::mt19937 rng(20240611);
    std::vector<LayerCase> layers = {make_linear_case(rng, true), make_conv_case(rng, true, false),
                                     make_conv_case(rng, true, true)};
    // One layer without bias as well (the zero_bias variants must equal it).
    layers.push_back(make_linear_case(rng, false));
    for (const LayerCase& lc : layers) {
        // ZBox bounds per input channel, below / above every input (inputs lie in (−1, 1)).
        const std::vector<float> low = per_channel_bounds(lc.channels, -2.0, -1.0, rng);
        const std::vector<float> high = per_channel_bounds(lc.channels, 1.0, 2.0, rng);
        for (const RuleCase& rc : all_rule_cases(low, high)) check_rule_on_layer(rc, lc, rng);
    }

    // Norm on pooling layers.
    {
        PoolAttributes a;
        a.kernel = {3, 3};
        a.stride = {2, 2};
        a.pad_begin = {1, 0};
        a.pad_end = {1, 1};
        const RuleCase norm{"Norm", Kind::Norm, make_norm({}), double(1e-6f), false};
        for (bool include_pad : {false, true}) {
            LayerCase lc;
            lc.name = std::string("AvgPool 3x3 s2 p(1,0,1,1)") + (include_pad ? " incl-pad" : " excl-pad");
            lc.op = std::make_shared<AvgPool>(a, include_pad);
            lc.dense = avgpool_dense(a, include_pad, 3, 9, 8);
            lc.input_shape = {2, 3, 9, 8};
            check_rule_on_layer(norm, lc, rng);
        }
        LayerCase gap;
        gap.name = "GlobalAvgPool";
        gap.op = std::make_shared<GlobalAvgPool>();
        gap.dense = global_avgpool_dense(3, 5, 6);
        gap.input_shape = {2, 3, 5, 6};
        check_rule_on_layer(norm, gap, rng);
    }

    // Norm on Add: R_in_k = x_k · R / stab(x₁ + x₂).
    {
        INFO("Norm / Add");
        const Add add_op;
        const Tensor x1 = random_tensor({2, 3, 4, 5}, rng, -1.0, 1.0);
        const Tensor x2 = random_tensor({2, 3, 4, 5}, rng, -1.0, 1.0);
        const Tensor y = add_op.forward(cpu(), {x1, x2});
        const Tensor R = random_tensor(y.shape(), rng, -1.0, 1.0);
        const std::vector<Tensor> r_in = make_norm({})->prepare(add_op, cpu())->propagate(cpu(), {x1, x2}, y, R);
        REQUIRE(r_in.size() == 2);
        const double eps = 1e-6f;
        for (int k = 0; k < 2; ++k) {
            Vec ref(x1.numel());
            for (int64_t i = 0; i < x1.numel(); ++i)
                ref[i] = double(k == 0 ? x1[i] : x2[i]) * double(R[i]) / stab(double(x1[i]) + double(x2[i]), eps);
            const Figure f = compare(r_in[k], ref);
            report("Norm / Add input " + std::to_string(k + 1), f);
            CHECK(f.abs_err <= 1e-4 * std::max(1.0, f.ref_max));
        }
    }

    // The DESIGN.md hand check: W=(1,−1), b=−1, x=(1,1), R=f(x)=−1.
    {
        const auto op = std::make_shared<Linear>(Tensor({1, 2}, {1.0f, -1.0f}), Tensor({1}, {-1.0f}));
        const Tensor x({1, 2}, {1.0f, 1.0f});
        const Tensor y = op->forward(cpu(), {x});
        REQUIRE(y[0] == doctest::Approx(-1.0));
        const Tensor R({1, 1}, {-1.0f});
        const Tensor r10 = make_alpha_beta(1, 0)->prepare(*op, cpu())->propagate(cpu(), {x}, y, R)[0];
        const Tensor r21 = make_alpha_beta(2, 1)->prepare(*op, cpu())->propagate(cpu(), {x}, y, R)[0];
        CHECK(r10[0] == doctest::Approx(-1.0).epsilon(1e-5));
        CHECK(r10[1] == doctest::Approx(0.0));
        CHECK(r21[0] == doctest::Approx(-2.0).epsilon(1e-5));
        CHECK(r21[1] == doctest::Approx(0.5).epsilon(1e-5));
    }
}

TEST_CASE("rules oracle: conservation") {
    std::mt19937 rng(777);
    const float tiny = 1e-9f;
    const RuleOptions o{tiny, true};

    // Layers with a bias (dropped by zero_bias) and positive inputs in [0.1, 1]; weights in [−0.5, 1] so every
    // plain output Wx is well away from 0 (checked: |Wx| > 1e-2). With x > 0 everywhere and ε = 1e-9:
    //   Epsilon, Flat, WSquare:  Σ R_in = Σ_i R_i z_i / stab(z_i) = Σ R_out   (z_i = Wx, fan-in, Σ W² ≠ 0);
    //   ZPlus:          Σ R_in = Σ_i R_i [P_i],  P_i: output i has a positive weight on an in-bounds input
    //                   (then z⁺_i = (W⁺x)_i > 0, else z⁺_i = 0 and R_i is absorbed by the stabilizer);
    //   AlphaBeta(2,1): Σ R_in = Σ_i R_i (α[P_i] − β[N_i]),  N_i: ... a negative weight (z⁻_i = (W⁻x)_i < 0),
    // so both equal Σ R_out exactly where every output has both signs of weights, which holds for the Linear
    // and the 3→4 conv; the grouped, dilated conv has border outputs with 4 taps of one sign only, so there the
    // exact expected value (from the dense matrix) is checked, and the number of such outputs printed.
    std::vector<LayerCase> layers = {make_linear_case(rng, true, 9, 6), make_conv_case(rng, true, false, -0.5, 1.0),
                                     make_conv_case(rng, true, true, -0.5, 1.0)};
    enum class Expect { All, Positive, AlphaBeta21 };
    struct Cons {
        std::string name;
        std::shared_ptr<const Rule> rule;
        Expect expect;
    };
    const std::vector<Cons> rules = {{"Epsilon(1e-9) zb", make_epsilon(tiny, true), Expect::All},
                                     {"ZPlus zb", make_zplus(o), Expect::Positive},
                                     {"AlphaBeta(2,1) zb", make_alpha_beta(2, 1, o), Expect::AlphaBeta21},
                                     {"Flat", make_flat(o), Expect::All},
                                     {"WSquare zb", make_wsquare(o), Expect::All}};
    for (const LayerCase& lc : layers) {
        const DenseLayer& L = lc.dense;
        std::vector<bool> has_pos(L.n_out, false), has_neg(L.n_out, false);
        int64_t no_pos = 0, no_neg = 0;
        for (int64_t i = 0; i < L.n_out; ++i) {
            for (int64_t j = 0; j < L.n_in; ++j) {
                if (L.W[i * L.n_in + j] > 0) has_pos[i] = true;
                if (L.W[i * L.n_in + j] < 0) has_neg[i] = true;
            }
            no_pos += !has_pos[i];
            no_neg += !has_neg[i];
        }
        const bool every_output_has_both = no_pos == 0 && no_neg == 0;
        if (lc.name.rfind("Linear", 0) == 0 || lc.name.rfind("Conv 3->4", 0) == 0) CHECK(every_output_has_both);
        const Tensor x = random_tensor(lc.input_shape, rng, 0.1, 1.0);
        // The plain outputs without bias must be nonzero and well away from cancellation.
        Tensor y_nobias;
        {
            Params p = lc.op->params();
            p.erase("bias");
            y_nobias = lc.op->as_linear()->forward_with(cpu(), {x}, p);
        }
        for (int64_t i = 0; i < y_nobias.numel(); ++i) REQUIRE(std::abs(y_nobias[i]) > 1e-2);
        const Tensor y = lc.op->forward(cpu(), {x});
        const Tensor R = random_tensor(y.shape(), rng, 0.1, 1.0);
        const double total = sum(R);
        for (const Cons& rc : rules) {
            INFO(rc.name << " / " << lc.name);
            double expected = 0;
            for (int64_t k = 0; k < R.numel(); ++k) {
                const int64_t i = k % L.n_out;
                switch (rc.expect) {
                    case Expect::All: expected += R[k]; break;
                    case Expect::Positive: expected += has_pos[i] ? R[k] : 0.0; break;
                    case Expect::AlphaBeta21: expected += R[k] * (2.0 * has_pos[i] - 1.0 * has_neg[i]); break;
                }
            }
            const Tensor r_in = rc.rule->prepare(*lc.op, cpu())->propagate(cpu(), {x}, y, R)[0];
            const double s = sum(r_in), rel = std::abs(s - expected) / std::abs(expected);
            std::printf("rules oracle: conservation %-18s / %-34s sum R_in %.7f, expected %.7f (sum R_out %.7f; "
                        "outputs without w+ %lld, without w- %lld), rel %.1e\n",
                        rc.name.c_str(), lc.name.c_str(), s, expected, total, static_cast<long long>(no_pos),
                        static_cast<long long>(no_neg), rel);
            CHECK(rel <= 1e-5);
            if (every_output_has_both) CHECK(std::abs(s - total) <= 1e-5 * std::abs(total));
        }
    }
    // Norm (no parameters): AvgPool, GlobalAvgPool and Add on positive inputs.
    {
        PoolAttributes a;
        a.kernel = {3, 3};
        a.stride = {2, 2};
        a.pad_begin = {1, 0};
        a.pad_end = {1, 1};
        const auto norm = make_norm(o);
        std::vector<std::pair<std::string, std::shared_ptr<const Op>>> ops = {
            {"AvgPool excl-pad", std::make_shared<AvgPool>(a, false)},
            {"AvgPool incl-pad", std::make_shared<AvgPool>(a, true)},
            {"GlobalAvgPool", std::make_shared<GlobalAvgPool>()}};
        for (const auto& [name, op] : ops) {
            INFO("Norm / " << name);
            const Tensor x = random_tensor({2, 3, 9, 8}, rng, 0.1, 1.0);
            const Tensor y = op->forward(cpu(), {x});
            const Tensor R = random_tensor(y.shape(), rng, 0.1, 1.0);
            const Tensor r_in = norm->prepare(*op, cpu())->propagate(cpu(), {x}, y, R)[0];
            const double rel = std::abs(sum(r_in) - sum(R)) / sum(R);
            std::printf("rules oracle: conservation %-18s / %-34s rel %.1e\n", "Norm", name.c_str(), rel);
            CHECK(rel <= 1e-5);
        }
        const Add add_op;
        const Tensor x1 = random_tensor({2, 3, 4, 5}, rng, 0.0, 1.0), x2 = random_tensor({2, 3, 4, 5}, rng, 0.1, 1.0);
        const Tensor y = add_op.forward(cpu(), {x1, x2});
        const Tensor R = random_tensor(y.shape(), rng, -1.0, 1.0);
        const auto r_in = norm->prepare(add_op, cpu())->propagate(cpu(), {x1, x2}, y, R);
        const double rel = std::abs(sum(r_in[0]) + sum(r_in[1]) - sum(R)) / std::abs(sum(R));
        std::printf("rules oracle: conservation %-18s / %-34s rel %.1e\n", "Norm", "Add", rel);
        CHECK(rel <= 1e-5);
    }

    // A whole ReLU network, epsilon-plus (ZPlus on convs, Epsilon on the dense layer, Norm on add / pool,
    // Pass on relu, exact slice on concat), no biases, positive input:
    //   x → conv1 → relu1 (a) → conv2 → relu2 → add(·, a) → relu3 (r3) → concat(r3, relu4(conv1x1(r3)))
    //     → global avg pool → flatten → linear → logits
    // Where the relevance at a relu output is nonzero the activation is > 0, so z⁺ ≥ z > 0 for every ZPlus
    // denominator that carries relevance; the only loss is the stabilizer ε = 1e-6 against O(0.1..1) values.
    {
        auto conv = [&](int64_t in, int64_t out, int64_t k) {
            ConvGeometry g;
            g.pad_begin = g.pad_end = {k / 2, k / 2};
            const double scale = 1.0 / std::sqrt(double(in * k * k));
            return std::make_shared<Conv>(random_tensor({out, in, k, k}, rng, -2.0 * scale, 2.0 * scale), std::nullopt,
                                          g);
        };
        auto graph = std::make_shared<const Graph>(
            GraphBuilder()
                .input("x", {1, 3, 8, 8})
                .node("conv1", conv(3, 4, 3), {"x"}, "c1")
                .node("relu1", std::make_shared<Relu>(), {"c1"}, "a")
                .node("conv2", conv(4, 4, 3), {"a"}, "c2")
                .node("relu2", std::make_shared<Relu>(), {"c2"}, "r2")
                .node("add", std::make_shared<Add>(), {"r2", "a"}, "s")
                .node("relu3", std::make_shared<Relu>(), {"s"}, "r3")
                .node("conv1x1", conv(4, 3, 1), {"r3"}, "c4")
                .node("relu4", std::make_shared<Relu>(), {"c4"}, "r4")
                .node("concat", std::make_shared<Concat>(1), {"r3", "r4"}, "cat")
                .node("gap", std::make_shared<GlobalAvgPool>(), {"cat"}, "g")
                .node("flatten", std::make_shared<Flatten>(1), {"g"}, "f")
                .node("fc", std::make_shared<Linear>(random_tensor({5, 7}, rng, -1.0, 1.0), std::nullopt), {"f"},
                      "logits")
                .output("logits")
                .build());
        const Tensor x = random_tensor({1, 3, 8, 8}, rng, 0.0, 1.0);
        Explainer explainer(graph, cpu());
        Plan plan(graph, assign_rules(*graph, "epsilon-plus"), cpu());
        const Recording rec = explainer.forward(x);
        const Explanation e = explainer.explain(rec, plan, {}, RelevanceInit::OneHot, true);
        const int64_t t = e.targets.at(0);
        const double zt = rec.output[t];
        REQUIRE(std::abs(zt) > 1e-2);  // the dense Epsilon loses ε/|z_t| at most
        // The relus must actually cut something (else ZPlus on a positive input would be the plain z-rule).
        for (const char* v : {"a", "r2", "r4"}) {
            const Tensor act = cpu().download(rec.activations[graph->value_id(v)]);
            int64_t zeros = 0;
            for (int64_t i = 0; i < act.numel(); ++i) zeros += act[i] == 0.0f;
            std::printf("rules oracle: conservation network: relu output %s has %lld of %lld zeros\n", v,
                        static_cast<long long>(zeros), static_cast<long long>(act.numel()));
            CHECK(zeros > 0);
            CHECK(zeros < act.numel());
        }
        // The relu4 branch must carry relevance (so the fan-out of r3 and the conv1x1 are exercised).
        const Tensor& at_r4 = e.at_value.at(graph->value_id("r4"));
        REQUIRE(at_r4.defined());
        CHECK(std::abs(sum(at_r4)) > 1e-3);
        for (const char* cut : {"logits", "f", "g", "cat", "r3", "s", "a", "c1", "x"}) {
            INFO("cut at " << cut);
            const Tensor& r = e.at_value.at(graph->value_id(cut));
            REQUIRE(r.defined());
            const double s = sum(r);
            std::printf("rules oracle: conservation network (epsilon-plus), target %lld (logit %.4f): sum R at %-6s = "
                        "%.7f\n",
                        static_cast<long long>(t), zt, cut, s);
            CHECK(std::abs(s - 1.0) <= 1e-4);
        }
        CHECK(std::abs(sum(e.relevance) - 1.0) <= 1e-4);
    }
}

TEST_CASE("rules oracle: no NaN or Inf") {
    std::mt19937 rng(31337);
    const std::vector<std::pair<std::string, std::shared_ptr<const Rule>>> lrp_rules = {
        {"Epsilon(1e-6)", make_epsilon()},
        {"Epsilon(0.25)", make_epsilon(0.25f)},
        {"Epsilon zb", make_epsilon(1e-6f, true)},
        {"ZPlus", make_zplus()},
        {"ZPlus zb", make_zplus({1e-6f, true})},
        {"AlphaBeta(2,1)", make_alpha_beta(2, 1)},
        {"AlphaBeta(1,0)", make_alpha_beta(1, 0)},
        {"AlphaBeta(2,1) zb", make_alpha_beta(2, 1, {1e-6f, true})},
        {"Gamma(0.25)", make_gamma()},
        {"Gamma(0.25) zb", make_gamma(0.25f, {1e-6f, true})},
        {"ZBox(-1,1)", make_zbox({-1.0f}, {1.0f})},
        {"ZBox(0,0)", make_zbox({0.0f}, {0.0f})},
        {"Flat", make_flat()},
        {"WSquare", make_wsquare()},
        {"Norm", make_norm()},
        {"Gradient", make_gradient()},
    };

    // Inputs: zeros with −0.0 mixed in.
    auto zeros_with_negzero = [](Shape shape) {
        Tensor t(std::move(shape));
        for (int64_t i = 0; i < t.numel(); ++i) t[i] = (i % 3 == 1) ? -0.0f : 0.0f;
        return t;
    };

    struct Case {
        std::string name;
        std::shared_ptr<const Op> op;
        std::vector<Tensor> inputs;
    };
    std::vector<Case> cases;
    // Zero weights, zero bias, zero input.
    cases.push_back({"Linear W=0 b=0 x=0", std::make_shared<Linear>(Tensor({3, 4}), Tensor({3})),
                     {zeros_with_negzero({2, 4})}});
    {
        ConvGeometry g;
        g.pad_begin = {1, 0};
        g.pad_end = {0, 1};
        cases.push_back({"Conv W=0 b=0 x=0", std::make_shared<Conv>(Tensor({2, 3, 3, 3}), Tensor({2}), g),
                         {zeros_with_negzero({1, 3, 5, 4})}});
        // Nonzero weights, zero bias, zero input: every plain output is exactly 0.
        cases.push_back({"Conv W random b=0 x=0",
                         std::make_shared<Conv>(random_tensor({2, 3, 3, 3}, rng, -1, 1), Tensor({2}), g),
                         {zeros_with_negzero({1, 3, 5, 4})}});
    }
    // Nonzero weights and input, outputs exactly 0: rows (w, −w, v, −v) on x = (c, c, d, d), b = 0; the second
    // sample has ±0 inputs.
    {
        Tensor w({3, 4}, {0.5f, -0.5f, 1.25f, -1.25f, -2.0f, 2.0f, 0.75f, -0.75f, 1.0f, -1.0f, -3.0f, 3.0f});
        Tensor x({2, 4}, {1.5f, 1.5f, -2.0f, -2.0f, -0.0f, 0.0f, 0.0f, -0.0f});
        cases.push_back({"Linear z=0 exactly", std::make_shared<Linear>(w, Tensor({3})), {x}});
        // Same with the bias cancelling a nonzero Wx exactly: (1, 1)·(1, 1) − 2 = 0.
        cases.push_back({"Linear Wx+b=0 exactly",
                         std::make_shared<Linear>(Tensor({1, 2}, {1.0f, 1.0f}), Tensor({1}, {-2.0f})),
                         {Tensor({1, 2}, {1.0f, 1.0f})}});
    }
    {
        PoolAttributes a;
        a.kernel = {2, 2};
        a.stride = {2, 2};
        cases.push_back({"AvgPool x=0", std::make_shared<AvgPool>(a, false), {zeros_with_negzero({1, 2, 4, 4})}});
        cases.push_back({"GlobalAvgPool x=0", std::make_shared<GlobalAvgPool>(), {zeros_with_negzero({1, 2, 3, 3})}});
        Tensor x1 = random_tensor({1, 2, 3, 3}, rng, -1, 1), x2 = x1.clone();
        for (int64_t i = 0; i < x2.numel(); ++i) x2[i] = -x2[i];
        cases.push_back({"Add x1=-x2", std::make_shared<Add>(), {x1, x2}});
        cases.push_back({"Add x=0", std::make_shared<Add>(), {zeros_with_negzero({1, 2, 3, 3}), zeros_with_negzero({1, 2, 3, 3})}});
    }

    int checked = 0;
    for (const Case& c : cases) {
        const Tensor y = c.op->forward(cpu(), c.inputs);
        const Tensor R = random_tensor(y.shape(), rng, -1.0, 1.0);
        for (const auto& [name, rule] : lrp_rules) {
            // ZBox needs the input's channel count to match its bounds (one value here: always fine), and
            // the LRP rules apply to linear-type ops only.
            INFO(name << " / " << c.name);
            std::unique_ptr<NodePropagator> prop;
            try {
                prop = rule->prepare(*c.op, cpu());
            } catch (const Error&) {
                continue;  // the rule does not apply to this op
            }
            const std::vector<Tensor> r_in = prop->propagate(cpu(), c.inputs, y, R);
            REQUIRE(r_in.size() == c.inputs.size());
            for (const Tensor& r : r_in) CHECK(all_finite(r));
            ++checked;
        }
    }
    CHECK(checked >= int(cases.size()) * 10);

    // Pass and Gradient on the non-linear ops, with zero / −0 inputs.
    {
        const Relu relu;
        PoolAttributes a;
        a.kernel = {2, 2};
        a.stride = {1, 1};
        const MaxPool maxpool(a);
        const Tensor x = zeros_with_negzero({1, 2, 3, 3});
        for (const Op* op : std::initializer_list<const Op*>{&relu, &maxpool}) {
            const Tensor y = op->forward(cpu(), {x});
            const Tensor R = random_tensor(y.shape(), rng, -1.0, 1.0);
            for (const auto& rule : {make_pass(), make_gradient()}) {
                if (op == &maxpool && rule->describe() == "Pass()") continue;  // Pass needs an elementwise op
                INFO(rule->describe() << " / " << op_name(op->type()));
                const auto r_in = rule->prepare(*op, cpu())->propagate(cpu(), {x}, y, R);
                for (const Tensor& r : r_in) CHECK(all_finite(r));
            }
        }
    }
}
