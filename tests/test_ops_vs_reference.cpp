// Every op on the CPU backend (oneDNN / OpenMP loops) against the naive double-precision reference
// (tests/reference/naive.*): forward and backward (vector-Jacobian product with a random grad_output) on odd
// shapes, strides, asymmetric padding, dilation, groups, ceil_mode, ... Each case prints one line
//   <case>: forward max abs err <e>, backward <e>
// and checks both errors against kRelTol · max|reference|.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "engine/backend.h"
#include "engine/cpu/cpu_backend.h"
#include "relprop/error.hpp"
#include "layers/add.h"
#include "layers/avgpool.h"
#include "layers/batchnorm.h"
#include "layers/concat.h"
#include "layers/conv.h"
#include "layers/identity.h"
#include "layers/linear.h"
#include "layers/maxpool.h"
#include "layers/channel_relu.h"
#include "layers/pad.h"
#include "layers/relu.h"
#include "layers/reshape.h"
#include "tests/reference/naive.h"
#include "tests/reference/op_setup.h"

using namespace relprop;
using namespace relprop::ref;

namespace {

// float32 kernels vs a double reference: errors are a few ulp of the accumulated magnitude.
constexpr double kRelTol = 1e-5;

std::vector<Tensor> to_tensors(const std::vector<Dense>& xs) {
    std::vector<Tensor> out;
    for (const Dense& x : xs) out.push_back(x.to_tensor());
    return out;
}

// Max over several tensors of max |engine − ref|, and of max |ref|.
struct ErrorFigure {
    double err = 0.0;
    double scale = 0.0;
    bool shapes_match = true;

    void add(const Tensor& engine, const Dense& ref) {
        if (engine.shape() != ref.shape) {
            shapes_match = false;
            err = INFINITY;
            return;
        }
        err = std::max(err, max_abs_diff(Dense::from(engine), ref));
        scale = std::max(scale, max_abs(ref));
    }
    bool ok(double rel = kRelTol) const { return shapes_match && err <= rel * std::max(scale, 1e-30); }
};

void report(const std::string& label, const ErrorFigure& fwd, const ErrorFigure& bwd) {
    std::printf("%s: forward max abs err %.1e, backward %.1e\n", label.c_str(), fwd.err, bwd.err);
    std::fflush(stdout);
}

// Runs op.forward and op.backward on the CPU backend and compares both with the naive reference.
void check_op(const std::string& label, const Op& op, const std::vector<Dense>& inputs, std::mt19937& rng,
              double rel = kRelTol) {
    INFO(label);
    const std::vector<Tensor> xs = to_tensors(inputs);
    const Tensor y = op.forward(cpu(), xs);
    const Dense y_ref = naive_forward(op, inputs);
    ErrorFigure fwd;
    fwd.add(y, y_ref);

    const Dense gy = random_dense(y_ref.shape, rng);
    const std::vector<Tensor> gx = op.backward(cpu(), xs, y, gy.to_tensor());
    const std::vector<Dense> gx_ref = naive_backward(op, inputs, gy);
    ErrorFigure bwd;
    REQUIRE(gx.size() == gx_ref.size());
    for (size_t i = 0; i < gx.size(); ++i) bwd.add(gx[i], gx_ref[i]);

    report(label, fwd, bwd);
    CHECK(fwd.shapes_match);
    CHECK(bwd.shapes_match);
    CHECK_MESSAGE(fwd.ok(rel), "forward err " << fwd.err << " > " << rel << " * max|ref| " << fwd.scale);
    CHECK_MESSAGE(bwd.ok(rel), "backward err " << bwd.err << " > " << rel << " * max|ref| " << bwd.scale);
}

std::shared_ptr<Conv> make_conv(std::mt19937& rng, int64_t c, int64_t o, int64_t kh, int64_t kw, ConvGeometry g,
                                bool bias) {
    std::optional<Tensor> b;
    if (bias) b = random_tensor({o}, rng);
    return std::make_shared<Conv>(random_tensor({o, c / g.groups, kh, kw}, rng, -0.5, 0.5), b, g);
}

Params clamp_weight_drop_bias(const Params& p) {
    Tensor w = p.at("weight").clone();
    for (int64_t i = 0; i < w.numel(); ++i) w[i] = std::max(w[i], 0.0f);
    return Params{{"weight", w}};
}

Params scale_bias(const Params& p, float factor) {
    Params out{{"weight", p.at("weight")}};
    Tensor b = p.at("bias").clone();
    for (int64_t i = 0; i < b.numel(); ++i) b[i] *= factor;
    out["bias"] = b;
    return out;
}

// forward_with / transpose_with with given params vs the naive reference with the same params.
void check_linear_with(const std::string& label, const LinearOp& op, const std::vector<Dense>& inputs,
                       const Params& params, std::mt19937& rng) {
    INFO(label);
    const std::vector<Tensor> xs = to_tensors(inputs);
    ErrorFigure fwd, bwd;
    const Tensor y = op.forward_with(cpu(), xs, params);
    const Dense y_ref = naive_forward_with(op, inputs, params);
    fwd.add(y, y_ref);
    std::vector<Shape> shapes;
    for (const Dense& x : inputs) shapes.push_back(x.shape);
    const Dense gy = random_dense(y_ref.shape, rng);
    const std::vector<Tensor> gx = op.transpose_with(cpu(), shapes, params, gy.to_tensor());
    const std::vector<Dense> gx_ref = naive_transpose_with(op, shapes, params, gy);
    REQUIRE(gx.size() == gx_ref.size());
    for (size_t i = 0; i < gx.size(); ++i) bwd.add(gx[i], gx_ref[i]);
    report(label, fwd, bwd);
    CHECK_MESSAGE(fwd.ok(), "forward_with err " << fwd.err << " vs max|ref| " << fwd.scale);
    CHECK_MESSAGE(bwd.ok(), "transpose_with err " << bwd.err << " vs max|ref| " << bwd.scale);
}

// transpose_with is the adjoint of x ↦ A(params)·x (forward_with without bias): <A x, y> == <x, Aᵀ y>, both
// sides summed in double from the engine's float results. With nonnegative x, y and A every term is nonnegative,
// so the check is relative to |<A x, y>|; with signed data it is relative to ‖A x‖·‖y‖.
void check_adjoint(const std::string& label, const LinearOp& op, const std::vector<Shape>& shapes,
                   const Params& params, bool nonnegative, std::mt19937& rng) {
    INFO(label);
    Params no_bias = params;
    no_bias.erase("bias");
    const double lo = nonnegative ? 0.0 : -1.0;
    std::vector<Dense> xs;
    for (const Shape& s : shapes) xs.push_back(random_dense(s, rng, lo, 1.0));
    const Dense ax = Dense::from(op.forward_with(cpu(), to_tensors(xs), no_bias));
    const Dense y = random_dense(ax.shape, rng, lo, 1.0);
    const std::vector<Tensor> aty = op.transpose_with(cpu(), shapes, no_bias, y.to_tensor());
    const double lhs = dot(ax, y);
    double rhs = 0.0;
    for (size_t i = 0; i < xs.size(); ++i) rhs += dot(xs[i], Dense::from(aty.at(i)));
    const double scale = nonnegative ? std::abs(lhs) : norm2(ax) * norm2(y);
    const double rel = std::abs(lhs - rhs) / scale;
    std::printf("%s: adjoint <Ax,y>=%.6g <x,ATy>=%.6g, relative difference %.1e\n", label.c_str(), lhs, rhs, rel);
    std::fflush(stdout);
    CHECK(rel <= 1e-5);
}

}  // namespace

TEST_CASE("Conv on the CPU backend matches the naive reference") {
    std::mt19937 rng(1001);
    struct Case {
        const char* label;
        Shape x;
        int64_t o, kh, kw;
        ConvGeometry g;
        bool bias;
    };
    const Case cases[] = {
        {"conv k3 s1 pad(1,1,1,1) 7x9", {2, 3, 7, 9}, 4, 3, 3, geom({1, 1}, {1, 1}, {1, 1}), true},
        {"conv k3 s2 pad(1,0,2,1) g2 13x11", {2, 4, 13, 11}, 6, 3, 3, geom({2, 2}, {1, 0}, {2, 1}, {1, 1}, 2), true},
        {"conv k3 d2 pad(2,2,2,2) 9x7", {1, 3, 9, 7}, 5, 3, 3, geom({1, 1}, {2, 2}, {2, 2}, {2, 2}), true},
        {"conv k3 s2 d2 pad(0,1,2,0) 13x11", {2, 3, 13, 11}, 4, 3, 3, geom({2, 2}, {0, 1}, {2, 0}, {2, 2}), true},
        {"conv k3 depthwise(6) pad(1,1,1,1) no-bias 7x9", {2, 6, 7, 9}, 6, 3, 3,
         geom({1, 1}, {1, 1}, {1, 1}, {1, 1}, 6), false},
        {"conv k3 depthwise x2 (4->8) s2 pad(1,1,0,0) 13x11", {1, 4, 13, 11}, 8, 3, 3,
         geom({2, 2}, {1, 1}, {0, 0}, {1, 1}, 4), true},
        {"conv k1 s1 no-bias 7x9", {2, 8, 7, 9}, 5, 1, 1, geom({1, 1}, {0, 0}, {0, 0}), false},
        {"conv k1 s2 13x11", {2, 5, 13, 11}, 3, 1, 1, geom({2, 2}, {0, 0}, {0, 0}), true},
        {"conv k5x3 s(2,1) d(1,2) pad(2,1,0,3) g3 13x11", {1, 6, 13, 11}, 9, 5, 3,
         geom({2, 1}, {2, 1}, {0, 3}, {1, 2}, 3), true},
        {"conv k2 s3 no-bias 13x11", {2, 3, 13, 11}, 4, 2, 2, geom({3, 3}, {0, 0}, {0, 0}), false},
        {"conv k1 pad(2,0,0,3) (pad > kernel) 7x9", {1, 3, 7, 9}, 2, 1, 1, geom({1, 1}, {2, 0}, {0, 3}), true},
    };
    for (const Case& c : cases) {
        auto op = make_conv(rng, c.x[1], c.o, c.kh, c.kw, c.g, c.bias);
        check_op(c.label, *op, {random_dense(c.x, rng)}, rng);
    }
}

TEST_CASE("Linear, Gemm and MatMul on the CPU backend match the naive reference") {
    std::mt19937 rng(1002);
    SUBCASE("Linear with and without bias") {
        auto with_bias = std::make_shared<Linear>(random_tensor({11, 17}, rng), random_tensor({11}, rng));
        check_op("linear 17->11 bias N=3", *with_bias, {random_dense({3, 17}, rng)}, rng);
        auto no_bias = std::make_shared<Linear>(random_tensor({7, 13}, rng), std::nullopt);
        check_op("linear 13->7 no-bias N=5", *no_bias, {random_dense({5, 13}, rng)}, rng);
        auto one = std::make_shared<Linear>(random_tensor({1, 9}, rng), random_tensor({1}, rng));
        check_op("linear 9->1 bias N=1", *one, {random_dense({1, 9}, rng)}, rng);
    }
    SUBCASE("Gemm folds transB, alpha, beta and C exactly") {
        // Y = alpha·A·B' + beta·C computed directly from the ONNX definition (not from the folded weight).
        struct Case {
            const char* label;
            int64_t n, k, m;
            bool trans_b;
            float alpha, beta;
            Shape c_shape;  // empty: no C
        };
        const Case cases[] = {
            {"gemm transB=1 alpha=0.7 beta=1.3 C[M]", 3, 10, 6, true, 0.7f, 1.3f, {6}},
            {"gemm transB=0 alpha=2.5 beta=0.5 C[1,M]", 4, 7, 5, false, 2.5f, 0.5f, {1, 5}},
            {"gemm transB=0 alpha=1 beta=-2 C[1] (scalar)", 2, 6, 3, false, 1.0f, -2.0f, {1}},
            {"gemm transB=1 alpha=-1.5 beta=0 C[M] (C ignored)", 3, 5, 4, true, -1.5f, 0.0f, {4}},
            {"gemm transB=0 alpha=1 no C", 2, 8, 3, false, 1.0f, 1.0f, {}},
        };
        for (const Case& c : cases) {
            INFO(c.label);
            const Dense b = random_dense(c.trans_b ? Shape{c.m, c.k} : Shape{c.k, c.m}, rng);
            std::optional<Dense> cd;
            if (!c.c_shape.empty()) cd = random_dense(c.c_shape, rng);
            auto op = make_gemm(b.to_tensor(), cd ? std::optional<Tensor>(cd->to_tensor()) : std::nullopt, c.trans_b,
                                c.alpha, c.beta);
            const Dense a = random_dense({c.n, c.k}, rng);
            auto bp = [&](int64_t kk, int64_t mm) { return c.trans_b ? b[mm * c.k + kk] : b[kk * c.m + mm]; };
            Dense y_ref({c.n, c.m});
            for (int64_t i = 0; i < c.n; ++i)
                for (int64_t j = 0; j < c.m; ++j) {
                    double s = 0.0;
                    for (int64_t kk = 0; kk < c.k; ++kk) s += a[i * c.k + kk] * bp(kk, j);
                    double cj = 0.0;
                    if (cd) cj = (*cd)[cd->numel() == 1 ? 0 : j];
                    y_ref[i * c.m + j] = double(c.alpha) * s + double(c.beta) * cj;
                }
            const Tensor y = op->forward(cpu(), {a.to_tensor()});
            ErrorFigure fwd, bwd;
            fwd.add(y, y_ref);
            const Dense gy = random_dense({c.n, c.m}, rng);
            Dense ga_ref({c.n, c.k});
            for (int64_t i = 0; i < c.n; ++i)
                for (int64_t kk = 0; kk < c.k; ++kk) {
                    double s = 0.0;
                    for (int64_t j = 0; j < c.m; ++j) s += gy[i * c.m + j] * bp(kk, j);
                    ga_ref[i * c.k + kk] = double(c.alpha) * s;
                }
            bwd.add(op->backward(cpu(), {a.to_tensor()}, y, gy.to_tensor()).at(0), ga_ref);
            report(c.label, fwd, bwd);
            CHECK(fwd.ok());
            CHECK(bwd.ok());
        }
    }
    SUBCASE("MatMul with a constant right-hand side") {
        const Dense b = random_dense({9, 4}, rng);
        auto op = make_matmul(b.to_tensor());
        const Dense a = random_dense({3, 9}, rng);
        Dense y_ref({3, 4}), ga_ref({3, 9});
        const Dense gy = random_dense({3, 4}, rng);
        for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 4; ++j)
                for (int64_t k = 0; k < 9; ++k) {
                    y_ref[i * 4 + j] += a[i * 9 + k] * b[k * 4 + j];
                    ga_ref[i * 9 + k] += gy[i * 4 + j] * b[k * 4 + j];
                }
        const Tensor y = op->forward(cpu(), {a.to_tensor()});
        ErrorFigure fwd, bwd;
        fwd.add(y, y_ref);
        bwd.add(op->backward(cpu(), {a.to_tensor()}, y, gy.to_tensor()).at(0), ga_ref);
        report("matmul [3,9]x[9,4]", fwd, bwd);
        CHECK(fwd.ok());
        CHECK(bwd.ok());
    }
}

TEST_CASE("BatchNorm on the CPU backend matches the naive reference") {
    std::mt19937 rng(1003);
    for (const Shape& x : {Shape{2, 5, 7, 9}, Shape{3, 5}}) {
        const int64_t c = x[1];
        auto op = std::make_shared<BatchNorm>(random_tensor({c}, rng, 0.5, 2.0), random_tensor({c}, rng),
                                              random_tensor({c}, rng), random_tensor({c}, rng, 0.1, 3.0), 1e-5f);
        check_op("batchnorm c=5 " + shape_str(x), *op, {random_dense(x, rng, -3.0, 3.0)}, rng);
    }
}

TEST_CASE("MaxPool on the CPU backend matches the naive reference") {
    std::mt19937 rng(1004);
    struct Case {
        const char* label;
        Shape x;
        PoolAttributes a;
    };
    const Case cases[] = {
        {"maxpool k3 s2 pad(1,1,1,1) 13x11", {2, 3, 13, 11}, pool({3, 3}, {2, 2}, {1, 1}, {1, 1})},
        {"maxpool k2 s2 7x9 (floor)", {2, 3, 7, 9}, pool({2, 2}, {2, 2}, {0, 0}, {0, 0})},
        {"maxpool k2 s2 ceil 7x9", {2, 3, 7, 9}, pool({2, 2}, {2, 2}, {0, 0}, {0, 0}, true)},
        {"maxpool k3 s2 ceil 8x10", {1, 2, 8, 10}, pool({3, 3}, {2, 2}, {0, 0}, {0, 0}, true)},
        {"maxpool k3 s2 ceil pad(1,1,1,1) 7x9", {2, 3, 7, 9}, pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, true)},
        {"maxpool k3 s3 ceil pad(1,0,0,1) 13x11", {1, 3, 13, 11}, pool({3, 3}, {3, 3}, {1, 0}, {0, 1}, true)},
        {"maxpool k2 s1 d2 pad(1,0,0,1) 9x7", {1, 2, 9, 7}, pool({2, 2}, {1, 1}, {1, 0}, {0, 1}, false, {2, 2})},
        {"maxpool k3 s2 d2 ceil pad(2,1,1,2) 13x11", {1, 2, 13, 11},
         pool({3, 3}, {2, 2}, {2, 1}, {1, 2}, true, {2, 2})},
        {"maxpool k2x3 s(2,1) pad(0,1,1,1) 7x9", {2, 2, 7, 9}, pool({2, 3}, {2, 1}, {0, 1}, {1, 1})},
        // ceil_mode would add a window that starts in the end padding: ONNX/PyTorch drop it (5x7 -> 3x4).
        {"maxpool k2 s2 ceil pad(1,1,1,1) 5x7 (drops window in end pad)", {2, 2, 5, 7},
         pool({2, 2}, {2, 2}, {1, 1}, {1, 1}, true)},
    };
    for (const Case& c : cases) {
        auto op = std::make_shared<MaxPool>(c.a);
        // Distinct values: the first maximum is unique, so the engine and the reference route the same way.
        check_op(c.label, *op, {distinct_dense(c.x, rng)}, rng);
    }
    // Many ties (values in {0, 1, 2} and relu-style zeros): the gradient must go to the first maximum in scan order.
    for (const Case& c : cases) {
        auto op = std::make_shared<MaxPool>(c.a);
        Dense x = random_dense(c.x, rng, 0.0, 3.0);
        for (double& v : x.v) v = std::floor(v);
        check_op(std::string(c.label) + " ties", *op, {x}, rng);
    }
}

TEST_CASE("AvgPool and GlobalAvgPool on the CPU backend match the naive reference") {
    std::mt19937 rng(1005);
    struct Case {
        const char* label;
        Shape x;
        PoolAttributes a;
        bool include_pad;
    };
    const Case cases[] = {
        {"avgpool k3 s2 pad(1,1,1,1) include-pad 13x11", {2, 3, 13, 11}, pool({3, 3}, {2, 2}, {1, 1}, {1, 1}), true},
        {"avgpool k3 s2 pad(1,1,1,1) exclude-pad 13x11", {2, 3, 13, 11}, pool({3, 3}, {2, 2}, {1, 1}, {1, 1}), false},
        {"avgpool k3 s1 pad(1,0,2,1) include-pad 7x9", {2, 3, 7, 9}, pool({3, 3}, {1, 1}, {1, 0}, {2, 1}), true},
        {"avgpool k3 s1 pad(1,0,2,1) exclude-pad 7x9", {2, 3, 7, 9}, pool({3, 3}, {1, 1}, {1, 0}, {2, 1}), false},
        {"avgpool k2 s2 7x9 (floor)", {1, 4, 7, 9}, pool({2, 2}, {2, 2}, {0, 0}, {0, 0}), false},
        {"avgpool k3 s2 ceil exclude-pad 8x10", {2, 3, 8, 10}, pool({3, 3}, {2, 2}, {0, 0}, {0, 0}, true), false},
        {"avgpool k3 s2 ceil pad(1,0,1,0) exclude-pad 8x10", {2, 3, 8, 10}, pool({3, 3}, {2, 2}, {1, 0}, {1, 0}, true),
         false},
        {"avgpool k2 s2 ceil exclude-pad 7x9", {1, 3, 7, 9}, pool({2, 2}, {2, 2}, {0, 0}, {0, 0}, true), false},
        {"avgpool k2 s2 ceil pad(1,1,1,1) exclude-pad 5x7 (drops window in end pad)", {2, 2, 5, 7},
         pool({2, 2}, {2, 2}, {1, 1}, {1, 1}, true), false},
        // ceil_mode that adds no window past the padding: the include-pad divisor stays the kernel area.
        {"avgpool k3 s2 ceil pad(1,1,1,1) include-pad 7x9", {2, 3, 7, 9}, pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, true),
         true},
        {"avgpool k3x2 s(1,2) pad(1,0,0,1) include-pad 7x9", {2, 2, 7, 9}, pool({3, 2}, {1, 2}, {1, 0}, {0, 1}), true},
        {"avgpool k3x2 s(1,2) pad(1,0,0,1) exclude-pad 7x9", {2, 2, 7, 9}, pool({3, 2}, {1, 2}, {1, 0}, {0, 1}),
         false},
    };
    CHECK(MaxPool(pool({2, 2}, {2, 2}, {1, 1}, {1, 1}, true)).infer_shape({{2, 2, 5, 7}}) == Shape{2, 2, 3, 4});
    for (const Case& c : cases) {
        auto op = std::make_shared<AvgPool>(c.a, c.include_pad);
        check_op(c.label, *op, {random_dense(c.x, rng)}, rng);
    }
    // With count_include_pad, a ceil_mode window that runs past the end padding has a divisor that ONNX and
    // PyTorch define differently; the engine rejects it (the reference implements PyTorch's clipped window).
    CHECK_THROWS_AS(AvgPool(pool({3, 3}, {2, 2}, {0, 0}, {0, 0}, true), true).infer_shape({{1, 1, 8, 8}}), Error);
    GlobalAvgPool gap;
    check_op("globalavgpool 7x9", gap, {random_dense({2, 5, 7, 9}, rng)}, rng);
    check_op("globalavgpool 13x11", gap, {random_dense({1, 3, 13, 11}, rng)}, rng);
    check_op("globalavgpool 1x1", gap, {random_dense({2, 4, 1, 1}, rng)}, rng);
}

TEST_CASE("Add, Concat, Relu, Reshape, Flatten and Identity on the CPU backend match the naive reference") {
    std::mt19937 rng(1006);
    Add add;
    check_op("add [2,3,7,9]", add, {random_dense({2, 3, 7, 9}, rng), random_dense({2, 3, 7, 9}, rng)}, rng);
    check_op("add [4,6]", add, {random_dense({4, 6}, rng), random_dense({4, 6}, rng)}, rng);

    check_op("concat axis=1 (3 inputs)", Concat(1),
             {random_dense({2, 3, 5, 7}, rng), random_dense({2, 1, 5, 7}, rng), random_dense({2, 4, 5, 7}, rng)}, rng);
    check_op("concat axis=2", Concat(2), {random_dense({2, 3, 4, 7}, rng), random_dense({2, 3, 6, 7}, rng)}, rng);
    check_op("concat axis=-1", Concat(-1), {random_dense({2, 3, 5, 2}, rng), random_dense({2, 3, 5, 7}, rng)}, rng);
    check_op("concat axis=0 2-D", Concat(0), {random_dense({2, 5}, rng), random_dense({3, 5}, rng)}, rng);
    check_op("concat axis=1 single input", Concat(1), {random_dense({2, 3, 5}, rng)}, rng);

    const Pad pad({1, 0}, {2, 3});
    check_op("pad (1,0,2,3) [2,3,5,7]", pad, {random_dense({2, 3, 5, 7}, rng)}, rng);
    check_adjoint("pad adjoint", pad, {{2, 3, 5, 7}}, {}, false, rng);
    const Pad pad_nhwc({0, 1}, {1, 1}, 1);  // Keras' ZeroPadding2D left in NHWC by tf2onnx (MobileNetV3)
    CHECK(pad_nhwc.infer_shape({{2, 5, 7, 3}}) == Shape{2, 6, 9, 3});
    check_op("pad (0,1,1,1) on axes 1, 2 [2,5,7,3]", pad_nhwc, {random_dense({2, 5, 7, 3}, rng)}, rng);
    check_adjoint("pad axes 1, 2 adjoint", pad_nhwc, {{2, 5, 7, 3}}, {}, false, rng);

    const ChannelRelu crelu(Tensor({3}, {1.0f, -1.0f, 0.0f}), Tensor({3}, {0.25f, -0.1f, 0.5f}));
    check_op("channel relu [2,3,5,7]", crelu, {random_dense({2, 3, 5, 7}, rng)}, rng);

    Relu relu;
    check_op("relu [2,3,7,9]", relu, {random_dense({2, 3, 7, 9}, rng)}, rng);
    check_op("relu [3,13]", relu, {random_dense({3, 13}, rng)}, rng);

    check_op("reshape [2,3,4,5] to [0,-1]", Reshape({0, -1}), {random_dense({2, 3, 4, 5}, rng)}, rng);
    check_op("reshape [2,3,4,5] to [0,0,-1]", Reshape({0, 0, -1}), {random_dense({2, 3, 4, 5}, rng)}, rng);
    check_op("reshape [2,3,4,5] to [-1,10]", Reshape({-1, 10}), {random_dense({2, 3, 4, 5}, rng)}, rng);
    check_op("flatten axis=1 [2,3,4,5]", Flatten(1), {random_dense({2, 3, 4, 5}, rng)}, rng);
    check_op("flatten axis=2 [2,3,4,5]", Flatten(2), {random_dense({2, 3, 4, 5}, rng)}, rng);
    check_op("flatten axis=-1 [2,3,4,5]", Flatten(-1), {random_dense({2, 3, 4, 5}, rng)}, rng);
    CHECK(Reshape({0, -1}).infer_shape({{2, 3, 4, 5}}) == Shape{2, 60});
    CHECK(Flatten(2).infer_shape({{2, 3, 4, 5}}) == Shape{6, 20});

    check_op("identity [2,3,7,9]", Identity(), {random_dense({2, 3, 7, 9}, rng)}, rng);
}

TEST_CASE("LinearOp forward_with / transpose_with with modified parameters match the reference and are adjoint") {
    std::mt19937 rng(1007);
    auto lin = std::make_shared<Linear>(random_tensor({11, 17}, rng), random_tensor({11}, rng));
    const Dense xl = random_dense({3, 17}, rng);
    check_linear_with("linear with_ weight>=0 no-bias", *lin, {xl}, clamp_weight_drop_bias(lin->params()), rng);
    check_linear_with("linear with_ bias x(-2)", *lin, {xl}, scale_bias(lin->params(), -2.0f), rng);

    auto conv = make_conv(rng, 4, 6, 3, 3, geom({2, 2}, {1, 0}, {2, 1}, {1, 1}, 2), true);
    const Dense xc = random_dense({2, 4, 13, 11}, rng);
    check_linear_with("conv k3 s2 pad(1,0,2,1) g2 with_ weight>=0 no-bias", *conv, {xc},
                      clamp_weight_drop_bias(conv->params()), rng);
    check_linear_with("conv k3 s2 pad(1,0,2,1) g2 with_ bias x3", *conv, {xc}, scale_bias(conv->params(), 3.0f), rng);
    auto dw = make_conv(rng, 6, 6, 3, 3, geom({1, 1}, {1, 1}, {1, 1}, {2, 2}, 6), true);
    check_linear_with("conv k3 d2 depthwise with_ weight>=0 no-bias", *dw, {random_dense({1, 6, 9, 7}, rng)},
                      clamp_weight_drop_bias(dw->params()), rng);

    // Adjoint: nonnegative (relative to |<Ax,y>|) with clamped weights, and signed with the original weights.
    check_adjoint("linear adjoint weight>=0", *lin, {{3, 17}}, clamp_weight_drop_bias(lin->params()), true, rng);
    check_adjoint("linear adjoint signed", *lin, {{3, 17}}, lin->params(), false, rng);
    check_adjoint("conv g2 adjoint weight>=0", *conv, {{2, 4, 13, 11}}, clamp_weight_drop_bias(conv->params()), true,
                  rng);
    check_adjoint("conv g2 adjoint signed", *conv, {{2, 4, 13, 11}}, conv->params(), false, rng);
    check_adjoint("conv depthwise d2 adjoint weight>=0", *dw, {{1, 6, 9, 7}}, clamp_weight_drop_bias(dw->params()),
                  true, rng);
    AvgPool avg_in(pool({3, 3}, {2, 2}, {1, 0}, {2, 1}), true), avg_ex(pool({3, 3}, {2, 2}, {1, 0}, {1, 0}, true), false);
    check_adjoint("avgpool include-pad adjoint", avg_in, {{2, 3, 13, 11}}, {}, true, rng);
    check_adjoint("avgpool ceil exclude-pad adjoint", avg_ex, {{2, 3, 8, 10}}, {}, true, rng);
    GlobalAvgPool gap;
    check_adjoint("globalavgpool adjoint", gap, {{2, 5, 7, 9}}, {}, true, rng);
    Add add;
    check_adjoint("add adjoint", add, {{2, 3, 7, 9}, {2, 3, 7, 9}}, {}, false, rng);
}

// The CPU backend's fast paths for large tensors (more than 2^15 elements): SiLU through oneDNN's swish,
// Clip, a squeeze-excitation broadcast computed by runs, and a spatial sum over contiguous elements.
TEST_CASE("large elementwise kernels on the CPU backend match plain formulas") {
    auto backend = make_cpu_backend();
    const Shape big{2, 64, 32, 32}, gate{2, 64, 1, 1};
    Tensor x(big), g(gate);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = 12.0f * std::sin(0.37f * static_cast<float>(i)) - 1.0f;
    for (int64_t i = 0; i < g.numel(); ++i) g[i] = std::cos(0.9f * static_cast<float>(i));
    x[5] = -100.0f;  // e^(−x) overflows: x·σ(x) = −0

    Tensor y(big);
    backend->unary(UnaryFn{UnaryKind::Silu, 0.0f, 0.0f}, x, y);
    double worst = 0.0;
    for (int64_t i = 0; i < x.numel(); ++i) {
        const double v = x[i], ref = v / (1.0 + std::exp(-v));
        worst = std::max(worst, std::abs(y[i] - ref) / std::max(std::abs(ref), 1e-30));
    }
    CHECK(worst < 2e-6);  // a few float32 ulps
    CHECK(y[5] == 0.0f);

    backend->unary(UnaryFn{UnaryKind::Clip, 0.0f, 6.0f}, x, y);
    for (int64_t i = 0; i < x.numel(); ++i) REQUIRE(y[i] == std::min(std::max(x[i], 0.0f), 6.0f));

    for (bool gate_first : {false, true}) {
        Tensor out(big);
        if (gate_first) backend->binary(BinaryKind::Sub, g, x, out);
        else backend->binary(BinaryKind::Mul, x, g, out);
        const int64_t hw = 32 * 32;
        for (int64_t i = 0; i < x.numel(); ++i)
            REQUIRE(out[i] == (gate_first ? g[i / hw] - x[i] : x[i] * g[i / hw]));
    }

    Tensor sum(gate);
    backend->reduce_sum(x, sum);
    for (int64_t c = 0; c < sum.numel(); ++c) {
        double acc = 0.0;
        for (int64_t i = 0; i < 32 * 32; ++i) acc += x[c * 32 * 32 + i];
        REQUIRE(sum[c] == static_cast<float>(acc));
    }
}
