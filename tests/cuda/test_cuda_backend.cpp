// The CUDA backend against the CPU backend (the reference) on random data. Needs a GPU; main.cpp
// skips every case without one.
#include <doctest/doctest.h>

#include <cuda_runtime.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "engine/backend.h"
#include "engine/cuda/cuda_backend.h"
#include "relprop/error.hpp"
#include "tests/cuda/cuda_test_util.h"

using namespace relprop;
using namespace relprop::cuda_test;

namespace {
// GEMM: different summation orders in FP32.
constexpr double kLinearTolerance = kTolerance;
}  // namespace

TEST_CASE("cuda backend: identity and support of every op") {
    Backends b;
    CHECK(b.gpu->device() == Device::CUDA);
    CHECK(b.gpu->name().rfind("cuda:0 (", 0) == 0);
#define RELPROP_OP(id) CHECK(b.gpu->supports(OpType::id));
#include "engine/ops.def"
#undef RELPROP_OP
    // make_backend("auto") picks the GPU when one is usable.
    CHECK(make_backend("auto")->device() == Device::CUDA);
}

TEST_CASE("cuda backend: invalid devices throw relprop::Error") {
    CHECK_THROWS_AS(make_backend("cuda:99"), Error);
    CHECK_THROWS_AS(make_cuda_backend(99), Error);
    CHECK_THROWS_AS(make_cuda_backend(-1), Error);
    CHECK(cuda_device_count() > 0);
}

TEST_CASE("cuda backend: upload/download round trip") {
    Backends b;
    for (const Shape& shape : std::vector<Shape>{{2, 3, 5, 7}, {1}, {1000003}, {0, 3}}) {
        Tensor host = random_tensor(shape, 11);
        Tensor dev = b.gpu->upload(host);
        CHECK(dev.device() == Device::CUDA);
        CHECK(dev.shape() == shape);
        Tensor back = b.gpu->download(dev);
        CHECK(back.device() == Device::CPU);
        CHECK(back.to_vector() == host.to_vector());
    }
    Tensor dev = b.gpu->upload(random_tensor({4}, 1));
    CHECK_THROWS_AS(b.gpu->upload(dev), Error);
    CHECK_THROWS_AS(b.gpu->download(random_tensor({4}, 1)), Error);
}

TEST_CASE("cuda backend: fill and copy") {
    Backends b;
    const Shape shape{3, 4, 5};
    Tensor expected = b.cpu->empty(shape);
    b.cpu->fill(expected, 2.5f);
    Tensor t = b.gpu->empty(shape);
    b.gpu->fill(t, 2.5f);
    check_equal(*b.gpu, expected, t);

    Tensor zeros = b.gpu->zeros(shape);
    check_equal(*b.gpu, Tensor(shape), zeros);

    Tensor src = random_tensor(shape, 2);
    Tensor dst = b.gpu->zeros(shape);
    b.gpu->copy(b.gpu->upload(src), dst);
    check_equal(*b.gpu, src, dst);
}

TEST_CASE("cuda backend: add and mul (also with the output aliasing an input)") {
    Backends b;
    const Shape shape{2, 3, 7, 9};
    Tensor a = random_tensor(shape, 3), c = random_tensor(shape, 4);
    Tensor da = b.gpu->upload(a), dc = b.gpu->upload(c);

    Tensor sum = b.cpu->empty(shape), product = b.cpu->empty(shape);
    b.cpu->add(a, c, sum);
    b.cpu->mul(a, c, product);

    Tensor out = b.gpu->empty(shape);
    b.gpu->add(da, dc, out);
    check_close(*b.gpu, sum, out, kElementwiseTolerance);
    b.gpu->mul(da, dc, out);
    check_close(*b.gpu, product, out, kElementwiseTolerance);

    Tensor alias = b.gpu->upload(a);
    b.gpu->add(alias, dc, alias);
    check_close(*b.gpu, sum, alias, kElementwiseTolerance);

    CHECK_THROWS_AS(b.gpu->add(a, dc, out), Error);  // a is a CPU tensor
    Tensor wrong = b.gpu->empty({5});
    CHECK_THROWS_AS(b.gpu->mul(da, dc, wrong), Error);
}

TEST_CASE("cuda backend: grid-stride loops cover more elements than one grid") {
    Backends b;
    const Shape shape{3 * 1024 * 1024 + 17};
    Tensor a = random_tensor(shape, 5), c = random_tensor(shape, 6);
    Tensor expected = b.cpu->empty(shape);
    b.cpu->add(a, c, expected);
    Tensor out = b.gpu->empty(shape);
    b.gpu->add(b.gpu->upload(a), b.gpu->upload(c), out);
    check_close(*b.gpu, expected, out, kElementwiseTolerance);
}

TEST_CASE("cuda backend: unary Relu forward and backward") {
    Backends b;
    const Shape shape{4, 5, 6};
    Tensor x = random_tensor(shape, 7), gy = random_tensor(shape, 8);
    Tensor y = b.cpu->empty(shape), gx = b.cpu->empty(shape);
    b.cpu->unary({UnaryKind::Relu}, x, y);
    b.cpu->unary_backward({UnaryKind::Relu}, x, gy, gx);

    Tensor dx = b.gpu->upload(x);
    Tensor dy = b.gpu->empty(shape), dgx = b.gpu->empty(shape);
    b.gpu->unary({UnaryKind::Relu}, dx, dy);
    b.gpu->unary_backward({UnaryKind::Relu}, dx, b.gpu->upload(gy), dgx);
    check_equal(*b.gpu, y, dy);
    check_equal(*b.gpu, gx, dgx);
}

TEST_CASE("cuda backend: channel_affine") {
    Backends b;
    for (const Shape& shape : std::vector<Shape>{{2, 3, 4, 5}, {4, 6}, {1, 7, 1, 1}}) {
        const int64_t channels = shape[1];
        Tensor x = random_tensor(shape, 9), scale = random_tensor({channels}, 10), shift = random_tensor({channels}, 11);
        Tensor dx = b.gpu->upload(x), dscale = b.gpu->upload(scale), dshift = b.gpu->upload(shift);

        Tensor expected = b.cpu->empty(shape);
        Tensor out = b.gpu->empty(shape);
        b.cpu->channel_affine(x, scale, &shift, expected);
        b.gpu->channel_affine(dx, dscale, &dshift, out);
        check_close(*b.gpu, expected, out, kElementwiseTolerance);

        b.cpu->channel_affine(x, scale, nullptr, expected);
        b.gpu->channel_affine(dx, dscale, nullptr, out);
        check_close(*b.gpu, expected, out, kElementwiseTolerance);
    }
}

TEST_CASE("cuda backend: copy_blocks") {
    Backends b;
    // Concatenate [2,3,4] and [2,5,4] along axis 1 into [2,8,4], as Concat does.
    Tensor first = random_tensor({2, 3, 4}, 12), second = random_tensor({2, 5, 4}, 13);
    Tensor expected = b.cpu->zeros({2, 8, 4});
    b.cpu->copy_blocks(first, 0, 12, expected, 0, 32, 2, 12);
    b.cpu->copy_blocks(second, 0, 20, expected, 12, 32, 2, 20);

    Tensor out = b.gpu->zeros({2, 8, 4});
    b.gpu->copy_blocks(b.gpu->upload(first), 0, 12, out, 0, 32, 2, 12);
    b.gpu->copy_blocks(b.gpu->upload(second), 0, 20, out, 12, 32, 2, 20);
    check_equal(*b.gpu, expected, out);

    // Strided gather with offsets on both sides.
    Tensor src = random_tensor({6, 10}, 14);
    Tensor gathered = b.cpu->zeros({40});
    b.cpu->copy_blocks(src, 2, 10, gathered, 1, 7, 5, 3);
    Tensor dgathered = b.gpu->zeros({40});
    b.gpu->copy_blocks(b.gpu->upload(src), 2, 10, dgathered, 1, 7, 5, 3);
    check_equal(*b.gpu, gathered, dgathered);

    // Out of range: 7 blocks read up to src[2 + 6·10 + 3) = src[65) of 60; 6 blocks of 7 write up to
    // dgathered[1 + 5·7 + 7) = [43) of 40. (6 blocks of 3 would still fit both: 55 ≤ 60, 39 ≤ 40.)
    CHECK_THROWS_AS(b.gpu->copy_blocks(b.gpu->upload(src), 2, 10, dgathered, 1, 7, 7, 3), Error);
    CHECK_THROWS_AS(b.gpu->copy_blocks(b.gpu->upload(src), 0, 10, dgathered, 1, 7, 6, 7), Error);
}

TEST_CASE("cuda backend: linear_forward and linear_backward_data agree with the CPU") {
    Backends b;
    struct Case {
        int64_t n, k, m;
    };
    uint32_t seed = 100;
    for (Case c : {Case{3, 37, 11}, Case{1, 1, 1}, Case{64, 300, 17}, Case{5, 1024, 130}}) {
        CAPTURE(c.n);
        CAPTURE(c.k);
        CAPTURE(c.m);
        Tensor x = random_tensor({c.n, c.k}, ++seed), w = random_tensor({c.m, c.k}, ++seed);
        Tensor bias = random_tensor({c.m}, ++seed), gy = random_tensor({c.n, c.m}, ++seed);
        Tensor dx = b.gpu->upload(x), dw = b.gpu->upload(w), dbias = b.gpu->upload(bias), dgy = b.gpu->upload(gy);

        Tensor y = b.cpu->empty({c.n, c.m}), dy = b.gpu->empty({c.n, c.m});
        b.cpu->linear_forward(x, w, &bias, y);
        b.gpu->linear_forward(dx, dw, &dbias, dy);
        check_close(*b.gpu, y, dy, kLinearTolerance);

        // Independent of the CPU backend: y[i,j] = Σ_k x[i,k]·w[j,k] + bias[j] in double.
        Tensor naive({c.n, c.m});
        for (int64_t i = 0; i < c.n; ++i)
            for (int64_t j = 0; j < c.m; ++j) {
                double s = bias[j];
                for (int64_t p = 0; p < c.k; ++p) s += static_cast<double>(x[i * c.k + p]) * w[j * c.k + p];
                naive[i * c.m + j] = static_cast<float>(s);
            }
        check_close(*b.gpu, naive, dy, kLinearTolerance);

        b.cpu->linear_forward(x, w, nullptr, y);
        b.gpu->linear_forward(dx, dw, nullptr, dy);
        check_close(*b.gpu, y, dy, kLinearTolerance);

        Tensor gx = b.cpu->empty({c.n, c.k}), dgx = b.gpu->empty({c.n, c.k});
        b.cpu->linear_backward_data(gy, w, gx);
        b.gpu->linear_backward_data(dgy, dw, dgx);
        check_close(*b.gpu, gx, dgx, kLinearTolerance);
    }
    Tensor dx = b.gpu->zeros({3, 4}), dw = b.gpu->zeros({5, 6}), dy = b.gpu->empty({3, 5});
    CHECK_THROWS_AS(b.gpu->linear_forward(dx, dw, nullptr, dy), Error);
}

TEST_CASE("cuda backend: allocations are freed") {
    Backends b;
    {
        Tensor warm = b.gpu->zeros({1024});
        b.gpu->download(warm);
    }
    {
        Tensor first = b.gpu->empty({16, 1024, 1024});  // the pool keeps this block once it is freed
        b.gpu->fill(first, 0.0f);
    }
    const double before = device_used_mib();
    for (int i = 0; i < 100; ++i) {
        Tensor t = b.gpu->empty({16, 1024, 1024});  // 64 MiB: reuses the pooled block
        b.gpu->fill(t, static_cast<float>(i));
    }
    const double grown_mib = device_used_mib() - before;
    INFO("device memory in use grew by " << grown_mib << " MiB over 100 allocate/free cycles");
    CHECK(grown_mib <= 4.0);
}

TEST_CASE("cuda backend: min_max equals the CPU's") {
    Backends b;
    for (const int64_t n : {int64_t{1}, int64_t{1000}, int64_t{3} << 20}) {
        const Tensor host = random_tensor({n}, 41, -2.0f, 3.0f);
        const auto want = b.cpu->min_max(host);
        const auto got = b.gpu->min_max(b.gpu->upload(host));
        CHECK(got.first == want.first);
        CHECK(got.second == want.second);
    }
    // NaN is skipped, as on the CPU (std::min/std::max from ±infinity); all NaN gives (inf, -inf).
    Tensor with_nan = random_tensor({5000}, 42, -2.0f, 3.0f);
    for (int64_t i = 0; i < with_nan.numel(); i += 7) with_nan[i] = NAN;
    for (const Tensor& host : {with_nan, Tensor({3}, {NAN, NAN, NAN})}) {
        const auto want = b.cpu->min_max(host);
        const auto got = b.gpu->min_max(b.gpu->upload(host));
        CHECK(got.first == want.first);
        CHECK(got.second == want.second);
    }
}

TEST_CASE("cuda backend: clamp keeps NaN and the sign of zero as the CPU does") {
    Backends b;
    const Tensor x({6}, {-0.0f, 0.0f, NAN, -1.5f, 2.5f, -INFINITY});
    for (const auto& [lo, hi] : {std::pair{0.0f, INFINITY}, std::pair{-INFINITY, 0.0f}, std::pair{-1.0f, 1.0f}}) {
        CAPTURE(lo);
        CAPTURE(hi);
        Tensor want = b.cpu->empty(x.shape()), got = b.gpu->empty(x.shape());
        b.cpu->clamp(x, lo, hi, want);
        b.gpu->clamp(b.gpu->upload(x), lo, hi, got);
        const Tensor host = b.gpu->download(got);
        for (int64_t i = 0; i < x.numel(); ++i) {
            CAPTURE(i);
            CHECK(std::isnan(host[i]) == std::isnan(want[i]));
            if (!std::isnan(want[i])) {
                CHECK(host[i] == want[i]);
                CHECK(std::signbit(host[i]) == std::signbit(want[i]));
            }
        }
    }
}
