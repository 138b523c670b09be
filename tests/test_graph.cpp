// Graph building (topological sort, validation) and the executor's reverse pass.
#include <doctest/doctest.h>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "engine/executor.h"
#include "engine/graph.h"
#include "layers/add.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/maxpool.h"
#include "layers/relu.h"
#include "layers/reshape.h"

using namespace relprop;

namespace {

std::shared_ptr<Linear> linear(int64_t out, int64_t in, float base) {
    Tensor w({out, in});
    for (int64_t i = 0; i < w.numel(); ++i) w[i] = base + 0.5f * static_cast<float>(i % 5) - 0.3f * static_cast<float>(i % 3);
    return std::make_shared<Linear>(w, std::nullopt);
}

std::shared_ptr<Conv> conv3x3(int64_t in, int64_t out) {
    ConvGeometry g;
    g.pad_begin = g.pad_end = {1, 1};
    return std::make_shared<Conv>(Tensor({out, in, 3, 3}), std::nullopt, g);
}

}  // namespace

TEST_CASE("graph: nodes given out of order are sorted topologically") {
    Graph g = GraphBuilder()
                  .input("x", {1, 4})
                  .node("second", std::make_shared<Relu>(), {"h"}, "y")
                  .node("first", linear(3, 4, 0.1f), {"x"}, "h")
                  .output("y")
                  .build();
    REQUIRE(g.nodes().size() == 2);
    CHECK(g.nodes()[0].name == "first");
    CHECK(g.nodes()[1].name == "second");
    CHECK(g.values()[g.value_id("y")].shape == Shape{1, 3});
    CHECK(g.values()[g.value_id("x")].consumers == std::vector<int>{0});
}

TEST_CASE("graph: a cycle is an error naming the nodes in it") {
    auto build = [] {
        return GraphBuilder()
            .input("x", {1, 4})
            .node("ok", std::make_shared<Relu>(), {"x"}, "a")
            .node("loop1", std::make_shared<Add>(), {"a", "c"}, "b")
            .node("loop2", std::make_shared<Relu>(), {"b"}, "c")
            .output("c")
            .build();
    };
    CHECK_THROWS_WITH_AS(build(), doctest::Contains("cycle through node 'loop1' (Add), node 'loop2' (Relu)"), Error);
}

TEST_CASE("graph: a missing input is an error naming the node and the value") {
    auto build = [] {
        return GraphBuilder()
            .input("x", {1, 4})
            .node("fc", linear(3, 4, 0.1f), {"nothing"}, "y")
            .output("y")
            .build();
    };
    CHECK_THROWS_WITH_AS(build(), doctest::Contains("node 'fc' (Linear) reads value 'nothing'"), Error);
}

TEST_CASE("graph: a shape mismatch is an error naming the node and the shapes") {
    auto build = [] {
        return GraphBuilder()
            .input("image", {1, 4, 8, 8})
            .node("conv1", conv3x3(3, 2), {"image"}, "y")
            .output("y")
            .build();
    };
    CHECK_THROWS_WITH_AS(build(), doctest::Contains("node 'conv1' (Conv): Conv expects 3 input channels"), Error);
    CHECK_THROWS_WITH_AS(build(), doctest::Contains("image [1, 4, 8, 8]"), Error);
    auto add = [] {
        return GraphBuilder()
            .input("a", {1, 4})
            .input("b", {1, 5})
            .node("sum", std::make_shared<Add>(), {"a", "b"}, "y")
            .output("y")
            .build();
    };
    CHECK_THROWS_WITH_AS(add(), doctest::Contains("node 'sum' (Add): Add: shapes [1, 4] and [1, 5] do not broadcast"), Error);
}

TEST_CASE("graph: duplicate names, wrong arity and unknown outputs are errors") {
    CHECK_THROWS_WITH_AS(GraphBuilder()
                             .input("x", {1, 4})
                             .node("r", std::make_shared<Relu>(), {"x"}, "a")
                             .node("r", std::make_shared<Relu>(), {"a"}, "b")
                             .output("b")
                             .build(),
                         doctest::Contains("two nodes are named 'r'"), Error);
    CHECK_THROWS_WITH_AS(GraphBuilder()
                             .input("x", {1, 4})
                             .node("sum", std::make_shared<Add>(), {"x"}, "a")
                             .output("a")
                             .build(),
                         doctest::Contains("node 'sum' (Add) takes 2 input(s), got 1"), Error);
    CHECK_THROWS_WITH_AS(GraphBuilder().input("x", {1, 4}).output("zzz").build(),
                         doctest::Contains("graph output 'zzz'"), Error);
    CHECK_THROWS_WITH_AS(GraphBuilder().input("x", {1, 0}).output("x").build(), doctest::Contains("invalid shape"),
                         Error);
}

TEST_CASE("executor: a symbolic batch is bound at run time; wrong input shapes are errors") {
    Graph g = GraphBuilder()
                  .input("x", {-1, 4})
                  .node("fc", linear(3, 4, 0.1f), {"x"}, "y")
                  .output("y")
                  .build();
    auto backend = make_backend("cpu");
    Executor ex(g, *backend);
    Activations acts = ex.forward({Tensor({5, 4})});
    CHECK(acts.output().shape() == Shape{5, 3});
    CHECK_THROWS_WITH_AS(ex.forward({Tensor({5, 3})}),
                         doctest::Contains("input 'x' has shape [5, 3] but the model expects [-1, 4]"), Error);
}

TEST_CASE("executor: reverse pass sums contributions where a value fans out") {
    // y = fc(x) + x: dy/dx = Wᵀ g + g.
    auto fc = linear(4, 4, 0.2f);
    Graph g = GraphBuilder()
                  .input("x", {1, 4})
                  .node("fc", fc, {"x"}, "h")
                  .node("skip", std::make_shared<Add>(), {"h", "x"}, "y")
                  .output("y")
                  .build();
    auto backend = make_backend("cpu");
    Executor ex(g, *backend);
    Activations acts = ex.forward({Tensor({1, 4}, {1, -2, 3, 0.5f})});
    Tensor seed({1, 4}, {1, 2, -1, 0.25f});
    std::vector<Tensor> grads = ex.reverse(acts, {{g.outputs()[0], seed}});
    const Tensor& w = fc->params().at("weight");
    const Tensor& gx = grads[g.inputs()[0]];
    for (int j = 0; j < 4; ++j) {
        float expected = seed[j];
        for (int i = 0; i < 4; ++i) expected += w[i * 4 + j] * seed[i];
        CHECK(gx[j] == doctest::Approx(expected).epsilon(1e-6));
    }

    // A node that reads the same value twice: y = x + x, dy/dx = 2g.
    Graph twice = GraphBuilder()
                      .input("x", {1, 3})
                      .node("double", std::make_shared<Add>(), {"x", "x"}, "y")
                      .output("y")
                      .build();
    Executor ex2(twice, *backend);
    Activations a2 = ex2.forward({Tensor({1, 3}, {1, 2, 3})});
    std::vector<Tensor> g2 = ex2.reverse(a2, {{twice.outputs()[0], Tensor({1, 3}, {1, -1, 0.5f})}});
    CHECK(g2[twice.inputs()[0]].to_vector() == std::vector<float>{2, -2, 1});
}

TEST_CASE("executor: a custom propagator replaces the gradient per node, and its errors name the node") {
    Graph g = GraphBuilder()
                  .input("x", {1, 3})
                  .node("act", std::make_shared<Relu>(), {"x"}, "y")
                  .output("y")
                  .build();
    auto backend = make_backend("cpu");
    Executor ex(g, *backend);
    Activations acts = ex.forward({Tensor({1, 3}, {-1, 2, -3})});
    // Pass-through instead of the relu gradient.
    auto pass = [](int, const std::vector<Tensor>&, const Tensor&, const Tensor& s) { return std::vector<Tensor>{s}; };
    std::vector<Tensor> r = ex.reverse(acts, {{g.outputs()[0], Tensor({1, 3}, {1, 1, 1})}}, pass);
    CHECK(r[g.inputs()[0]].to_vector() == std::vector<float>{1, 1, 1});
    std::vector<Tensor> grad = ex.reverse(acts, {{g.outputs()[0], Tensor({1, 3}, {1, 1, 1})}});
    CHECK(grad[g.inputs()[0]].to_vector() == std::vector<float>{0, 1, 0});
    auto wrong = [](int, const std::vector<Tensor>&, const Tensor&, const Tensor&) {
        return std::vector<Tensor>{Tensor({2, 2})};
    };
    CHECK_THROWS_WITH_AS(ex.reverse(acts, {{g.outputs()[0], Tensor({1, 3})}}, wrong),
                         doctest::Contains("signal of shape [2, 2] reaches value 'x' of shape [1, 3]"), Error);
}

TEST_CASE("pooling windows that lie entirely in the padding are refused") {
    PoolAttributes a;
    a.kernel = {2, 2};
    a.dilation = {3, 3};
    a.pad_begin = {4, 0};  // taps at -4 and -1: no input under the first window
    CHECK_THROWS_WITH_AS(MaxPool{a}, doctest::Contains("MaxPool: padding 4 makes windows that lie entirely"), Error);
    a.pad_begin = {3, 0};  // taps at -3 and 0
    CHECK_NOTHROW(MaxPool{a});
}
