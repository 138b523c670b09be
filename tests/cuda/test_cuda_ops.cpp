// Every op, forward and backward (and, for linear-type ops, forward_with/transpose_with with device
// parameters, as the rules call them): GPU against CPU on random inputs and shapes. Bound: relative
// error (max-norm) ≤ 1e-4 for conv and linear; pooling, elementwise and data-movement ops mirror the
// CPU's summation order and are checked to 1e-6 (max pooling's first-maximum rule bit for bit).
#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "relprop/error.hpp"
#include "layers/add.h"
#include "layers/avgpool.h"
#include "layers/batchnorm.h"
#include "layers/channel_relu.h"
#include "layers/concat.h"
#include "layers/conv.h"
#include "layers/identity.h"
#include "layers/linear.h"
#include "layers/maxpool.h"
#include "layers/op_registry.h"
#include "layers/pad.h"
#include "layers/relu.h"
#include "layers/reshape.h"
#include "tests/cuda/cuda_test_util.h"

using namespace relprop;
using namespace relprop::cuda_test;

namespace {

struct OpErrors {
    double forward = 0.0, backward = 0.0;
};

// Runs op forward and backward on both backends with the same random inputs and output gradient and
// checks the GPU against the CPU. Returns the errors (for the printed figures).
OpErrors compare_op(Backends& b, const Op& op, const std::vector<Shape>& input_shapes, uint32_t seed,
                    double tolerance, float lo = -1.0f, float hi = 1.0f) {
    std::vector<Tensor> xs, dxs;
    for (const Shape& s : input_shapes) {
        xs.push_back(random_tensor(s, ++seed, lo, hi));
        dxs.push_back(b.gpu->upload(xs.back()));
    }
    const Tensor y = op.forward(*b.cpu, xs);
    const Tensor dy = op.forward(*b.gpu, dxs);
    OpErrors e;
    e.forward = check_close(*b.gpu, y, dy, tolerance);
    const Tensor gy = random_tensor(y.shape(), ++seed);
    const std::vector<Tensor> gx = op.backward(*b.cpu, xs, y, gy);
    const std::vector<Tensor> dgx = op.backward(*b.gpu, dxs, dy, b.gpu->upload(gy));
    REQUIRE(gx.size() == dgx.size());
    for (size_t i = 0; i < gx.size(); ++i) e.backward = std::max(e.backward, check_close(*b.gpu, gx[i], dgx[i], tolerance));

    if (const LinearOp* lin = op.as_linear()) {
        // As a rule calls it: parameters already on the device, modified (here: scaled by −0.5).
        Params host_params, device_params;
        for (const auto& [name, value] : op.params()) {
            Tensor m = value.clone();
            for (int64_t i = 0; i < m.numel(); ++i) m[i] *= -0.5f;
            host_params[name] = m;
            device_params[name] = b.gpu->upload(m);
        }
        const Tensor z = lin->forward_with(*b.cpu, xs, host_params);
        const Tensor dz = lin->forward_with(*b.gpu, dxs, device_params);
        e.forward = std::max(e.forward, check_close(*b.gpu, z, dz, tolerance));
        const std::vector<Tensor> t = lin->transpose_with(*b.cpu, input_shapes, host_params, gy);
        const std::vector<Tensor> dt = lin->transpose_with(*b.gpu, input_shapes, device_params, b.gpu->upload(gy));
        for (size_t i = 0; i < t.size(); ++i) e.backward = std::max(e.backward, check_close(*b.gpu, t[i], dt[i], tolerance));
    }
    return e;
}

struct ConvCase {
    int64_t n, c, h, w, o, kh, kw;
    ConvGeometry g;
    bool bias;
};

std::string describe(const ConvCase& k) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "x[%ld,%ld,%ld,%ld] w[%ld,%ld,%ld,%ld] s%ldx%ld p%ld,%ld,%ld,%ld d%ldx%ld g%ld%s",
                  long(k.n), long(k.c), long(k.h), long(k.w), long(k.o), long(k.c / k.g.groups), long(k.kh),
                  long(k.kw), long(k.g.stride[0]), long(k.g.stride[1]), long(k.g.pad_begin[0]), long(k.g.pad_begin[1]),
                  long(k.g.pad_end[0]), long(k.g.pad_end[1]), long(k.g.dilation[0]), long(k.g.dilation[1]),
                  long(k.g.groups), k.bias ? " bias" : "");
    return buf;
}

ConvGeometry geometry(std::array<int64_t, 2> stride, std::array<int64_t, 4> pads, std::array<int64_t, 2> dilation,
                      int64_t groups) {
    ConvGeometry g;
    g.stride = stride;
    g.pad_begin = {pads[0], pads[1]};
    g.pad_end = {pads[2], pads[3]};
    g.dilation = dilation;
    g.groups = groups;
    return g;
}

// Fixed corner cases plus random ones.
std::vector<ConvCase> conv_cases() {
    std::vector<ConvCase> cases{
        {2, 3, 9, 11, 4, 3, 3, geometry({2, 1}, {1, 0, 2, 1}, {1, 2}, 1), true},   // op_conv_asym_pads
        {2, 6, 8, 8, 6, 3, 3, geometry({1, 1}, {1, 1, 1, 1}, {1, 1}, 3), false},   // groups 3
        {1, 8, 10, 10, 8, 3, 3, geometry({2, 2}, {1, 1, 1, 1}, {1, 1}, 8), true},  // depthwise
        {2, 3, 8, 9, 4, 3, 3, geometry({2, 2}, {0, 1, 1, 1}, {1, 1}, 1), true},    // SAME_UPPER-like
        {2, 3, 8, 9, 4, 3, 3, geometry({2, 2}, {1, 1, 0, 1}, {1, 1}, 1), true},    // SAME_LOWER-like
        {1, 3, 32, 32, 16, 7, 7, geometry({2, 2}, {3, 3, 3, 3}, {1, 1}, 1), false},  // ResNet stem
        {4, 16, 7, 7, 32, 1, 1, geometry({2, 2}, {0, 0, 0, 0}, {1, 1}, 1), true},  // 1x1 stride 2
        {1, 4, 6, 5, 5, 3, 2, geometry({1, 1}, {0, 0, 0, 0}, {1, 1}, 1), true},    // VALID, non-square
        {2, 4, 12, 12, 4, 3, 3, geometry({1, 1}, {2, 2, 2, 2}, {2, 2}, 2), true},  // dilated + groups
        {1, 2, 5, 5, 3, 3, 3, geometry({3, 3}, {0, 0, 0, 0}, {1, 1}, 1), false},   // rows left unused
    };
    std::mt19937 rng(1234);
    auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
    for (int i = 0; i < 24; ++i) {
        ConvCase k;
        k.g.groups = pick(1, 3);
        k.c = k.g.groups * pick(1, 4);
        k.o = k.g.groups * pick(1, 4);
        k.n = pick(1, 3);
        k.kh = pick(1, 4);
        k.kw = pick(1, 4);
        for (int a = 0; a < 2; ++a) {
            k.g.stride[a] = pick(1, 3);
            k.g.dilation[a] = pick(1, 2);
            k.g.pad_begin[a] = pick(0, 2);
            k.g.pad_end[a] = pick(0, 2);
        }
        k.h = pick(k.g.dilation[0] * (k.kh - 1) + 1, 14);
        k.w = pick(k.g.dilation[1] * (k.kw - 1) + 1, 14);
        k.bias = pick(0, 1) == 1;
        cases.push_back(k);
    }
    return cases;
}

PoolAttributes pool(std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride, std::array<int64_t, 4> pads,
                    std::array<int64_t, 2> dilation = {1, 1}, bool ceil_mode = false) {
    PoolAttributes a;
    a.kernel = kernel;
    a.stride = stride;
    a.pad_begin = {pads[0], pads[1]};
    a.pad_end = {pads[2], pads[3]};
    a.dilation = dilation;
    a.ceil_mode = ceil_mode;
    return a;
}

}  // namespace

TEST_CASE("cuda ops: Conv forward, backward and transpose_with (groups, dilation, stride, asymmetric pads)") {
    Backends b;
    uint32_t seed = 500;
    double worst_forward = 0.0, worst_backward = 0.0;
    for (const ConvCase& k : conv_cases()) {
        CAPTURE(describe(k));
        std::optional<Tensor> bias;
        if (k.bias) bias = random_tensor({k.o}, ++seed);
        const Conv op(random_tensor({k.o, k.c / k.g.groups, k.kh, k.kw}, ++seed), bias, k.g);
        const OpErrors e = compare_op(b, op, {{k.n, k.c, k.h, k.w}}, seed += 10, kTolerance);
        worst_forward = std::max(worst_forward, e.forward);
        worst_backward = std::max(worst_backward, e.backward);
    }
    std::printf("cuda Conv: worst relative error forward %.2e, backward-data %.2e\n", worst_forward, worst_backward);
}

TEST_CASE("cuda ops: Linear forward, backward and transpose_with") {
    Backends b;
    uint32_t seed = 700;
    for (const auto& [n, k, m] : std::vector<std::array<int64_t, 3>>{{1, 10, 3}, {16, 512, 100}, {3, 4096, 10}}) {
        seed += 2;
        const Linear op(random_tensor({m, k}, seed), random_tensor({m}, seed + 1));
        compare_op(b, op, {{n, k}}, seed += 10, kTolerance);
        const Linear no_bias(random_tensor({m, k}, ++seed), std::nullopt);
        compare_op(b, no_bias, {{n, k}}, seed += 10, kTolerance);
    }
}

TEST_CASE("cuda ops: MaxPool, AvgPool, GlobalAvgPool (ceil_mode, dilation, padding, count_include_pad)") {
    Backends b;
    uint32_t seed = 900;
    struct Case {
        PoolAttributes a;
        Shape x;
    };
    const std::vector<Case> max_cases{
        {pool({3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, true), {2, 3, 8, 9}},  // op_maxpool_ceil
        {pool({3, 3}, {1, 1}, {1, 1, 1, 1}, {2, 2}), {2, 2, 9, 9}},        // op_maxpool_dilated
        {pool({2, 2}, {2, 2}, {0, 0, 0, 0}), {4, 8, 16, 16}},              // VGG
        {pool({3, 3}, {2, 2}, {1, 1, 1, 1}), {2, 4, 15, 15}},              // ResNet stem
        {pool({3, 2}, {2, 3}, {1, 0, 0, 1}, {1, 1}, true), {1, 3, 7, 10}}, // asymmetric, ceil
    };
    for (const Case& c : max_cases) {
        CAPTURE(c.a.describe());
        compare_op(b, MaxPool(c.a), {c.x}, seed += 10, kElementwiseTolerance);
    }
    const std::vector<std::pair<Case, bool>> avg_cases{
        {{pool({3, 3}, {2, 2}, {1, 1, 1, 1}), {2, 3, 9, 9}}, true},            // op_avgpool_include_pad
        {{pool({3, 3}, {2, 2}, {1, 0, 1, 2}), {2, 3, 9, 8}}, false},           // op_avgpool_exclude_pad
        {{pool({2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, true), {2, 3, 7, 9}}, false},  // op_avgpool_ceil
        {{pool({2, 2}, {2, 2}, {0, 0, 0, 0}), {2, 16, 14, 14}}, false},        // DenseNet transition
        {{pool({3, 3}, {1, 1}, {1, 1, 1, 1}), {1, 2, 6, 6}}, true},
    };
    for (const auto& [c, include_pad] : avg_cases) {
        CAPTURE(c.a.describe());
        CAPTURE(include_pad);
        compare_op(b, AvgPool(c.a, include_pad), {c.x}, seed += 10, kElementwiseTolerance);
    }
    for (const Shape& x : std::vector<Shape>{{2, 5, 7, 7}, {1, 3, 1, 1}, {3, 64, 4, 6}})
        compare_op(b, GlobalAvgPool(), {x}, seed += 10, kElementwiseTolerance);
}

TEST_CASE("cuda ops: MaxPool gradient goes to the first maximum, as on the CPU (ties)") {
    Backends b;
    // Values in {0, 1, 2}: many ties in every window; exact sums of gradients in integers.
    Tensor x({2, 3, 9, 10});
    std::mt19937 rng(5);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng() % 3);
    for (const PoolAttributes& a : {pool({3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, true), pool({3, 3}, {1, 1}, {1, 1, 1, 1}),
                                    pool({2, 3}, {1, 2}, {0, 1, 1, 0}, {2, 1})}) {
        CAPTURE(a.describe());
        const MaxPool op(a);
        const Tensor y = op.forward(*b.cpu, {x});
        Tensor gy(y.shape());
        for (int64_t i = 0; i < gy.numel(); ++i) gy[i] = static_cast<float>(1 + i % 7);
        const Tensor dx = b.gpu->upload(x);
        const Tensor dy = op.forward(*b.gpu, {dx});
        check_equal(*b.gpu, y, dy);
        check_equal(*b.gpu, op.backward(*b.cpu, {x}, y, gy)[0], op.backward(*b.gpu, {dx}, dy, b.gpu->upload(gy))[0]);
    }
}

TEST_CASE("cuda ops: BatchNorm, ChannelRelu, Relu, Add, Concat, Pad, Reshape, Flatten, Identity") {
    Backends b;
    uint32_t seed = 1100;
    const int64_t c = 6;
    Tensor var = random_tensor({c}, ++seed, 0.1f, 2.0f);
    const BatchNorm bn(random_tensor({c}, seed + 1), random_tensor({c}, seed + 2), random_tensor({c}, seed + 3), var,
                       1e-5f);
    compare_op(b, bn, {{3, c, 5, 7}}, seed += 10, kElementwiseTolerance);
    compare_op(b, bn, {{4, c}}, seed += 10, kElementwiseTolerance);
    const ChannelRelu crelu(random_tensor({c}, seed + 1, -1.0f, 2.0f), random_tensor({c}, seed + 2));
    compare_op(b, crelu, {{2, c, 4, 4}}, seed += 10, kElementwiseTolerance);
    compare_op(b, Relu(), {{2, 3, 5, 5}}, seed += 10, kElementwiseTolerance);
    compare_op(b, Add(), {{2, 3, 5, 5}, {2, 3, 5, 5}}, seed += 10, kElementwiseTolerance);
    compare_op(b, Concat(1), {{2, 3, 4, 4}, {2, 5, 4, 4}, {2, 1, 4, 4}}, seed += 10, 0.0);
    compare_op(b, Concat(0), {{1, 3, 4}, {2, 3, 4}}, seed += 10, 0.0);
    compare_op(b, Concat(-1), {{2, 3, 4}, {2, 3, 2}}, seed += 10, 0.0);
    compare_op(b, Pad({1, 0}, {2, 1}), {{2, 3, 5, 6}}, seed += 10, 0.0);
    compare_op(b, Reshape({0, -1}), {{2, 3, 4, 5}}, seed += 10, 0.0);
    compare_op(b, Flatten(1), {{2, 3, 4, 5}}, seed += 10, 0.0);
    compare_op(b, Flatten(2), {{2, 3, 4, 5}}, seed += 10, 0.0);
    compare_op(b, Identity(), {{2, 3}}, seed += 10, 0.0);
}

TEST_CASE("cuda ops: conv errors are relprop::Error naming the kernel") {
    Backends b;
    Tensor x = b.gpu->zeros({1, 4, 6, 6}), w = b.gpu->zeros({2, 3, 3, 3}), y = b.gpu->empty({1, 2, 4, 4});
    ConvGeometry g;
    g.groups = 1;  // 4 input channels, weights for 3
    const std::string message = [&] {
        try {
            b.gpu->conv2d_forward(x, w, nullptr, g, y);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("<no error>");
    }();
    CHECK(message.find("conv2d") != std::string::npos);
    Tensor host_x = b.cpu->zeros({1, 3, 6, 6});
    CHECK_THROWS_AS(b.gpu->conv2d_forward(host_x, w, nullptr, g, y), Error);  // input on the host
}

TEST_CASE("cuda ops: every registered op's harness samples (layers/op_registry.h), GPU against CPU") {
    // The samples tests/test_op_harness.cpp checks against the naive reference on the CPU. Unary functions use
    // the same float expressions (engine/elementwise.h) but CUDA's expf/tanhf/erff may differ by an ulp or two;
    // reductions sum in double on both: 1e-5 relative.
    Backends b;
    uint32_t seed = 9000;
    int samples = 0;
    for (const OpInfo& info : op_registry()) {
        if (!info.samples) continue;
        for (const OpSample& s : info.samples()) {
            CAPTURE(s.label);
            const OpErrors e = compare_op(b, *s.op, s.inputs, seed += 10, 1e-5, static_cast<float>(s.lo),
                                          static_cast<float>(s.hi));
            std::printf("cuda harness %-45s forward %.2e backward %.2e\n", s.label.c_str(), e.forward, e.backward);
            ++samples;
        }
    }
    CHECK(samples >= 40);
}
