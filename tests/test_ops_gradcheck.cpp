// Every op's backward on the CPU backend against central finite differences of the naive double-precision
// forward (tests/reference/naive.*): for a random grad_output g, d<g, f(x)>/dx_i ≈ (<g, f(x + h e_i)> −
// <g, f(x − h e_i)>) / 2h with h = 1e-6 in double. Bound: max |engine − fd| ≤ 1e-4·(1 + max |fd|).
// Max pool inputs are distinct values spaced 1/64 apart (no near-ties); relu inputs stay ≥ 1e-3 away from 0.
// A last case checks a whole graph (fan-out, residual add, concat) through the executor's reverse pass.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "engine/backend.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/executor.h"
#include "engine/graph.h"
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

constexpr double kStep = 1e-6;
constexpr double kRelTol = 1e-4;

// Central differences of x ↦ <g, f(x)> for every element of every input.
template <class F>
std::vector<Dense> finite_differences(const F& f, const std::vector<Dense>& inputs, const Dense& g) {
    std::vector<Dense> grads;
    std::vector<Dense> xs = inputs;
    for (size_t i = 0; i < xs.size(); ++i) {
        Dense gi(xs[i].shape);
        for (int64_t j = 0; j < xs[i].numel(); ++j) {
            const double x0 = xs[i][j];
            xs[i][j] = x0 + kStep;
            const double fp = dot(g, f(xs));
            xs[i][j] = x0 - kStep;
            const double fm = dot(g, f(xs));
            xs[i][j] = x0;
            gi[j] = (fp - fm) / (2.0 * kStep);
        }
        grads.push_back(std::move(gi));
    }
    return grads;
}

void check_against_fd(const std::string& label, const std::vector<Tensor>& engine, const std::vector<Dense>& fd) {
    INFO(label);
    REQUIRE(engine.size() == fd.size());
    double err = 0.0, scale = 0.0;
    for (size_t i = 0; i < fd.size(); ++i) {
        REQUIRE(engine[i].shape() == fd[i].shape);
        err = std::max(err, max_abs_diff(Dense::from(engine[i]), fd[i]));
        scale = std::max(scale, max_abs(fd[i]));
    }
    std::printf("%s: backward vs finite differences max abs err %.1e (max|fd| %.2g)\n", label.c_str(), err, scale);
    std::fflush(stdout);
    CHECK_MESSAGE(err <= kRelTol * (1.0 + scale), "max |engine - fd| " << err << " > 1e-4 * (1 + " << scale << ")");
}

// op.backward on the CPU backend vs finite differences of naive_forward(op).
void gradcheck(const std::string& label, const Op& op, const std::vector<Dense>& inputs, std::mt19937& rng) {
    std::vector<Tensor> xs;
    for (const Dense& x : inputs) xs.push_back(x.to_tensor());
    const Tensor y = op.forward(cpu(), xs);
    const Dense g = random_dense(y.shape(), rng);
    const std::vector<Tensor> engine = op.backward(cpu(), xs, y, g.to_tensor());
    const auto f = [&](const std::vector<Dense>& in) { return naive_forward(op, in); };
    check_against_fd(label, engine, finite_differences(f, inputs, g));
}

// Uniform in ±[1e-3, 1): no input within 1e-3 of relu's kink.
Dense away_from_zero(const Shape& shape, std::mt19937& rng) {
    Dense d = random_dense(shape, rng);
    for (double& v : d.v) v = static_cast<float>(v < 0 ? v - 1e-3 : v + 1e-3);
    return d;
}

}  // namespace

TEST_CASE("Conv backward matches finite differences") {
    std::mt19937 rng(2001);
    struct Case {
        const char* label;
        Shape x;
        int64_t o, kh, kw;
        ConvGeometry g;
        bool bias;
    };
    const Case cases[] = {
        {"gradcheck conv k3 s2 pad(1,0,2,1) g2 7x9", {1, 4, 7, 9}, 6, 3, 3, geom({2, 2}, {1, 0}, {2, 1}, {1, 1}, 2),
         true},
        {"gradcheck conv k3 d2 pad(2,1,1,2) 9x7", {1, 3, 9, 7}, 2, 3, 3, geom({1, 1}, {2, 1}, {1, 2}, {2, 2}), true},
        {"gradcheck conv k3 depthwise no-bias 7x9", {2, 3, 7, 9}, 3, 3, 3, geom({1, 1}, {1, 1}, {1, 1}, {1, 1}, 3),
         false},
        {"gradcheck conv k1 s2 no-bias 7x9", {1, 5, 7, 9}, 3, 1, 1, geom({2, 2}, {0, 0}, {0, 0}), false},
    };
    for (const Case& c : cases) {
        std::optional<Tensor> b;
        if (c.bias) b = random_tensor({c.o}, rng);
        Conv op(random_tensor({c.o, c.x[1] / c.g.groups, c.kh, c.kw}, rng), b, c.g);
        gradcheck(c.label, op, {random_dense(c.x, rng)}, rng);
    }
}

TEST_CASE("Linear and Gemm backward match finite differences") {
    std::mt19937 rng(2002);
    Linear with_bias(random_tensor({7, 13}, rng), random_tensor({7}, rng));
    gradcheck("gradcheck linear 13->7 bias", with_bias, {random_dense({3, 13}, rng)}, rng);
    Linear no_bias(random_tensor({5, 9}, rng), std::nullopt);
    gradcheck("gradcheck linear 9->5 no-bias", no_bias, {random_dense({2, 9}, rng)}, rng);
    auto gemm = make_gemm(random_tensor({6, 4}, rng), random_tensor({1, 4}, rng), false, 2.5f, 0.5f);
    gradcheck("gradcheck gemm transB=0 alpha=2.5 beta=0.5 C[1,M]", *gemm, {random_dense({3, 6}, rng)}, rng);
    auto matmul = make_matmul(random_tensor({8, 3}, rng));
    gradcheck("gradcheck matmul [2,8]x[8,3]", *matmul, {random_dense({2, 8}, rng)}, rng);
}

TEST_CASE("BatchNorm backward matches finite differences") {
    std::mt19937 rng(2003);
    BatchNorm op(random_tensor({4}, rng, 0.5, 2.0), random_tensor({4}, rng), random_tensor({4}, rng),
                 random_tensor({4}, rng, 0.1, 3.0), 1e-3f);
    gradcheck("gradcheck batchnorm [2,4,5,3]", op, {random_dense({2, 4, 5, 3}, rng)}, rng);
}

TEST_CASE("MaxPool backward matches finite differences on inputs without near-ties") {
    std::mt19937 rng(2004);
    struct Case {
        const char* label;
        Shape x;
        PoolAttributes a;
    };
    const Case cases[] = {
        {"gradcheck maxpool k3 s2 pad(1,1,1,1) 7x9", {2, 2, 7, 9}, pool({3, 3}, {2, 2}, {1, 1}, {1, 1})},
        {"gradcheck maxpool k3 s2 ceil pad(1,0,0,1) 8x10", {1, 3, 8, 10}, pool({3, 3}, {2, 2}, {1, 0}, {0, 1}, true)},
        {"gradcheck maxpool k2 s2 ceil 7x9", {1, 2, 7, 9}, pool({2, 2}, {2, 2}, {0, 0}, {0, 0}, true)},
        {"gradcheck maxpool k2 s2 ceil pad(1,1,1,1) 5x7", {1, 2, 5, 7}, pool({2, 2}, {2, 2}, {1, 1}, {1, 1}, true)},
        {"gradcheck maxpool k2 s1 d2 pad(1,0,0,1) 9x7", {1, 2, 9, 7}, pool({2, 2}, {1, 1}, {1, 0}, {0, 1}, false, {2, 2})},
    };
    for (const Case& c : cases) {
        MaxPool op(c.a);
        gradcheck(c.label, op, {distinct_dense(c.x, rng)}, rng);
    }
}

TEST_CASE("AvgPool and GlobalAvgPool backward match finite differences") {
    std::mt19937 rng(2005);
    struct Case {
        const char* label;
        Shape x;
        PoolAttributes a;
        bool include_pad;
    };
    const Case cases[] = {
        {"gradcheck avgpool k3 s2 pad(1,0,2,1) include-pad 7x9", {1, 3, 7, 9}, pool({3, 3}, {2, 2}, {1, 0}, {2, 1}),
         true},
        {"gradcheck avgpool k3 s2 pad(1,0,2,1) exclude-pad 7x9", {1, 3, 7, 9}, pool({3, 3}, {2, 2}, {1, 0}, {2, 1}),
         false},
        {"gradcheck avgpool k3 s2 ceil pad(1,0,1,0) exclude-pad 8x10", {1, 2, 8, 10},
         pool({3, 3}, {2, 2}, {1, 0}, {1, 0}, true), false},
        {"gradcheck avgpool k3 s2 ceil pad(1,1,1,1) include-pad 7x9", {1, 2, 7, 9},
         pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, true), true},
    };
    for (const Case& c : cases) {
        AvgPool op(c.a, c.include_pad);
        gradcheck(c.label, op, {random_dense(c.x, rng)}, rng);
    }
    gradcheck("gradcheck globalavgpool 7x9", GlobalAvgPool(), {random_dense({2, 3, 7, 9}, rng)}, rng);
}

TEST_CASE("Add, Concat, Relu, Reshape, Flatten and Identity backward match finite differences") {
    std::mt19937 rng(2006);
    gradcheck("gradcheck add", Add(), {random_dense({2, 3, 4, 5}, rng), random_dense({2, 3, 4, 5}, rng)}, rng);
    gradcheck("gradcheck concat axis=1", Concat(1),
              {random_dense({2, 3, 4, 5}, rng), random_dense({2, 1, 4, 5}, rng), random_dense({2, 2, 4, 5}, rng)},
              rng);
    gradcheck("gradcheck concat axis=2", Concat(2), {random_dense({2, 3, 2, 5}, rng), random_dense({2, 3, 4, 5}, rng)},
              rng);
    gradcheck("gradcheck relu", Relu(), {away_from_zero({2, 3, 5, 7}, rng)}, rng);
    gradcheck("gradcheck reshape [0,-1]", Reshape({0, -1}), {random_dense({2, 3, 4, 5}, rng)}, rng);
    gradcheck("gradcheck flatten axis=2", Flatten(2), {random_dense({2, 3, 4, 5}, rng)}, rng);
    gradcheck("gradcheck identity", Identity(), {random_dense({2, 3, 4, 5}, rng)}, rng);
    gradcheck("gradcheck channel relu", ChannelRelu(Tensor({3}, {2.0f, -0.5f, 0.0f}), Tensor({3}, {0.1f, 0.3f, 0.7f})),
              {away_from_zero({2, 3, 4, 5}, rng)}, rng);
    gradcheck("gradcheck pad (0,2,1,1)", Pad({0, 2}, {1, 1}), {random_dense({2, 3, 4, 5}, rng)}, rng);
    gradcheck("gradcheck pad (1,0,0,2) on axes 1, 2", Pad({1, 0}, {0, 2}, 1), {random_dense({2, 4, 5, 3}, rng)}, rng);
}

TEST_CASE("the executor's reverse pass through a whole graph matches finite differences of the naive graph") {
    std::mt19937 rng(2007);
    // x → conv → bn → relu → r;  a = maxpool(r), b = avgpool(r);  s = a + b;  c = concat(s, a);
    // gap → flatten → linear → logits. r and a fan out, so the reverse pass must sum contributions.
    auto conv = std::make_shared<Conv>(random_tensor({4, 3, 3, 3}, rng), random_tensor({4}, rng),
                                       geom({1, 1}, {1, 1}, {1, 1}));
    auto bn = std::make_shared<BatchNorm>(random_tensor({4}, rng, 0.5, 2.0), random_tensor({4}, rng),
                                          random_tensor({4}, rng), random_tensor({4}, rng, 0.1, 3.0), 1e-5f);
    auto maxpool = std::make_shared<MaxPool>(pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, true));
    auto avgpool = std::make_shared<AvgPool>(pool({3, 3}, {2, 2}, {1, 1}, {1, 1}, true), false);
    auto fc = std::make_shared<Linear>(random_tensor({3, 8}, rng), random_tensor({3}, rng));
    const Graph graph = GraphBuilder()
                            .input("x", {-1, 3, 9, 7})
                            .node("conv", conv, {"x"}, "c1")
                            .node("bn", bn, {"c1"}, "b1")
                            .node("relu", std::make_shared<Relu>(), {"b1"}, "r")
                            .node("maxpool", maxpool, {"r"}, "a")
                            .node("avgpool", avgpool, {"r"}, "b")
                            .node("add", std::make_shared<Add>(), {"a", "b"}, "s")
                            .node("concat", std::make_shared<Concat>(1), {"s", "a"}, "c")
                            .node("gap", std::make_shared<GlobalAvgPool>(), {"c"}, "g")
                            .node("flatten", std::make_shared<Flatten>(1), {"g"}, "f")
                            .node("fc", fc, {"f"}, "logits")
                            .output("logits")
                            .build();
    const Dense x = random_dense({2, 3, 9, 7}, rng);
    Executor ex(graph, cpu());
    const Activations acts = ex.forward({x.to_tensor()});
    const int out = graph.outputs().at(0);

    // The naive graph forward agrees with the engine on every value.
    const std::vector<Dense> ref = naive_graph_forward(graph, {x});
    double fwd_err = 0.0;
    for (size_t v = 0; v < ref.size(); ++v) {
        REQUIRE(acts.values[v].shape() == ref[v].shape);
        fwd_err = std::max(fwd_err, max_abs_diff(Dense::from(acts.values[v]), ref[v]) / (1.0 + max_abs(ref[v])));
    }
    std::printf("graph conv-bn-relu-{maxpool,avgpool}-add-concat-gap-linear: forward max rel err %.1e\n", fwd_err);
    CHECK(fwd_err <= 1e-5);

    const Dense seed = random_dense(ref[static_cast<size_t>(out)].shape, rng);
    const std::vector<Tensor> signal = ex.reverse(acts, {{out, seed.to_tensor()}});
    const auto f = [&](const std::vector<Dense>& in) { return naive_graph_forward(graph, in)[static_cast<size_t>(out)]; };
    check_against_fd("gradcheck graph conv-bn-relu-{maxpool,avgpool}-add-concat-gap-linear",
                     {signal.at(static_cast<size_t>(graph.inputs().at(0)))}, finite_differences(f, {x}, seed));
}
