// Hostile graph sizes: canonization and graph building are linear in the graph's size. Each case
// builds a graph of 200,000 nodes (20,000, untimed, in an unoptimized or sanitized build). The old
// per-node rewiring (GraphEditor::replace_uses scanning every node, producer()/consumers() scanning
// every node, a recursive walk in the DenseNet pass, repeated sweeps in GraphBuilder's sort) took
// ~600 s for the Identity chain and overflowed the stack on the pooling chain. The bound asserted is
// generous (60 s; the slowest case took ~13 s on 2 cores under a load average of ~10); measured
// figures are printed and quoted in README (Hardening).
#include <doctest/doctest.h>

#include <chrono>
#include <random>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "engine/executor.h"
#include "layers/batchnorm.h"
#include "layers/concat.h"
#include "layers/conv.h"
#include "layers/identity.h"
#include "layers/maxpool.h"
#include "layers/relu.h"
#include "tests/fixtures.h"
#include "tests/sanitizer.h"

using namespace relprop;

namespace {

#if defined(RELPROP_UNDER_ASAN) || !defined(__OPTIMIZE__)
// A sanitized or unoptimized build (tools/sanitize.sh) checks the same code paths for memory errors on
// smaller graphs; the time bound holds for optimized builds (tools/test.sh).
constexpr int kNodes = 20'000;
constexpr bool kTimed = false;
#else
constexpr int kNodes = 200'000;
constexpr bool kTimed = true;
#endif
constexpr double kBoundSeconds = 60.0;

// prefix + k, built by appending (GCC 12 warns, falsely, about a string literal + std::to_string(k)).
std::string numbered(const char* prefix, int k) {
    std::string s = prefix;
    s += std::to_string(k);
    return s;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// canonize(g, spec) and how long it took, in seconds.
std::pair<CanonizeResult, double> timed_canonize(const Graph& g, const std::string& spec) {
    const auto t0 = std::chrono::steady_clock::now();
    CanonizeResult c = canonize(g, spec);
    return {std::move(c), seconds_since(t0)};
}

int count(const Graph& g, OpType t) {
    int n = 0;
    for (const Node& node : g.nodes()) n += node.op->type() == t;
    return n;
}

std::shared_ptr<Conv> conv1x1(float w, float b) {
    return std::make_shared<Conv>(Tensor({1, 1, 1, 1}, {w}), Tensor({1}, {b}), ConvGeometry{});
}

std::shared_ptr<BatchNorm> batchnorm(float scale, float shift) {
    return std::make_shared<BatchNorm>(Tensor({1}, {scale}), Tensor({1}, {shift}), Tensor({1}, {0.1f}),
                                       Tensor({1}, {1.0f}), 0.0f);
}

std::shared_ptr<MaxPool> pool1x1() { return std::make_shared<MaxPool>(PoolAttributes{}); }

// `blocks` × [Conv, BatchNorm (merge-batchnorm), Relu, BatchNorm, Relu, MaxPool (densenet), Identity
// (remove-identity), BatchNorm (fold-batchnorm into the next Conv)], then a last Conv.
Graph every_pass_graph(int blocks) {
    GraphBuilder b;
    b.input("x", {1, 1, 2, 2});
    std::string v = "x";
    auto add = [&](const std::string& name, std::shared_ptr<const Op> op) {
        b.node(name, std::move(op), {v}, name + ".out");
        v = name + ".out";
    };
    for (int k = 0; k < blocks; ++k) {
        const std::string p = numbered("b", k) + ".";
        add(p + "conv", conv1x1(k % 2 ? 0.9f : 1.1f, 0.05f));
        add(p + "bn_a", batchnorm(1.2f, 0.1f));
        add(p + "relu_a", std::make_shared<Relu>());
        add(p + "bn_b", batchnorm(k % 3 ? 0.8f : -0.7f, 0.2f));
        add(p + "relu_b", std::make_shared<Relu>());
        add(p + "pool", pool1x1());
        add(p + "identity", std::make_shared<Identity>());
        add(p + "bn_c", batchnorm(1.1f, 0.0f));
    }
    add("last", conv1x1(1.0f, 0.0f));
    b.output(v);
    return b.build();
}

}  // namespace

TEST_CASE("canonize scale: a chain of 200,000 Identity nodes canonizes in linear time") {
    GraphBuilder b;
    b.input("x", {1, 3, 4, 4});
    for (int k = 0; k < kNodes; ++k)
        b.node(numbered("id", k), std::make_shared<Identity>(), {k ? numbered("v", k - 1) : "x"},
               numbered("v", k));
    b.output(numbered("v", kNodes - 1));
    const Graph g = b.build();
    REQUIRE(g.nodes().size() == static_cast<size_t>(kNodes));

    const auto [c, s] = timed_canonize(g, "auto");
    MESSAGE(kNodes << "-node Identity chain: canonize auto in " << s << " s");
    // The last Identity reads the graph input and is the graph output: it stays (a graph needs a node).
    REQUIRE(c.graph.nodes().size() == 1);
    CHECK(c.graph.nodes()[0].name == numbered("id", kNodes - 1));
    CHECK(c.graph.values()[c.graph.nodes()[0].inputs[0]].name == "x");
    CHECK(c.changes.size() == static_cast<size_t>(kNodes - 1));
    CHECK(c.changes.front() == "remove-identity: removed Identity 'id0'");
    CHECK((!kTimed || s < kBoundSeconds));
}

TEST_CASE("canonize scale: a Concat of 100,000 Identity outputs canonizes in linear time") {
    // Rewiring touches only the input that is rewired, not every input of the node that reads it.
    const int n = kNodes / 2;
    GraphBuilder b;
    b.input("x", {1, 1, 2, 2});
    std::vector<std::string> parts;
    for (int k = 0; k < n; ++k) {
        parts.push_back(numbered("v", k));
        b.node(numbered("id", k), std::make_shared<Identity>(), {"x"}, parts.back());
    }
    b.node("concat", std::make_shared<Concat>(1), parts, "y");
    b.output("y");
    const Graph g = b.build();
    const auto [c, s] = timed_canonize(g, "remove-identity");
    MESSAGE("Concat of " << n << " Identity outputs: canonize remove-identity in " << s << " s");
    REQUIRE(c.graph.nodes().size() == 1);
    CHECK(c.graph.values()[c.graph.nodes()[0].output].shape == Shape{1, n, 2, 2});
    CHECK(c.graph.values()[c.graph.value_id("x")].consumers.size() == static_cast<size_t>(n));
    CHECK(c.changes.size() == static_cast<size_t>(n));
    CHECK((!kTimed || s < kBoundSeconds));
}

TEST_CASE("canonize scale: every pass runs in linear time on a graph of 200,000 nodes") {
    // Small version first: the same structure keeps the forward function and each pass acts per block.
    const Graph small = every_pass_graph(5);
    const CanonizeResult cs = canonize(small, "auto,fold-batchnorm");
    Tensor x({1, 1, 2, 2}, {0.3f, -1.2f, 2.0f, 0.7f});
    auto backend = make_backend("cpu");
    const Tensor y0 = Executor(small, *backend).forward({x}).output().clone();
    const Tensor y1 = Executor(cs.graph, *backend).forward({x}).output().clone();
    for (int64_t i = 0; i < y0.numel(); ++i) CHECK(y1[i] == doctest::Approx(y0[i]).epsilon(1e-5));
    // Per block: the merged Conv, relu_a, and relu_b as ChannelRelu (its BatchNorm's scale moved through
    // the pool into the next Conv, which took bn_c too); the pool stays.
    CHECK(count(cs.graph, OpType::BatchNorm) == 0);
    CHECK(count(cs.graph, OpType::Identity) == 0);
    CHECK(count(cs.graph, OpType::ChannelRelu) == 5);
    CHECK(cs.graph.nodes().size() == 5 * 4 + 1);

    const int blocks = kNodes / 8;
    const Graph g = every_pass_graph(blocks);
    REQUIRE(g.nodes().size() == static_cast<size_t>(8 * blocks + 1));
    const auto [c, s] = timed_canonize(g, "auto,fold-batchnorm");
    MESSAGE(g.nodes().size() << "-node graph: canonize auto,fold-batchnorm in " << s << " s");
    CHECK(count(c.graph, OpType::BatchNorm) == 0);
    CHECK(count(c.graph, OpType::Identity) == 0);
    CHECK(count(c.graph, OpType::ChannelRelu) == blocks);
    CHECK(c.graph.nodes().size() == static_cast<size_t>(4 * blocks + 1));
    // one line per Identity, merged BatchNorm, folded BatchNorm and ChannelRelu
    CHECK(c.changes.size() == static_cast<size_t>(4 * blocks));
    CHECK((!kTimed || s < kBoundSeconds));
}

TEST_CASE("canonize scale: the DenseNet pass follows a 200,000-node pooling chain without recursion") {
    GraphBuilder b;
    b.input("x", {1, 1, 2, 2});
    b.node("bn", batchnorm(-0.5f, 0.3f), {"x"}, "bn.out");
    b.node("relu", std::make_shared<Relu>(), {"bn.out"}, "p-1");
    for (int k = 0; k < kNodes; ++k)
        b.node(numbered("pool", k), pool1x1(), {numbered("p", k - 1)}, numbered("p", k));
    b.node("conv", conv1x1(2.0f, 0.1f), {numbered("p", kNodes - 1)}, "y");
    b.output("y");
    const Graph g = b.build();
    const auto [c, s] = timed_canonize(g, "densenet");
    MESSAGE("BatchNorm, Relu, " << kNodes << " MaxPools, Conv: canonize densenet in " << s << " s");
    REQUIRE(c.changes.size() == 1);
    CHECK(c.changes[0] ==
          "densenet: BatchNorm 'bn' + Relu 'relu' became ChannelRelu 'relu'; the BatchNorm scale moved into 'conv'");
    CHECK(count(c.graph, OpType::ChannelRelu) == 1);
    CHECK(c.graph.nodes().size() == static_cast<size_t>(kNodes + 2));
    const auto& w = c.graph.nodes().back().op->params().at("weight");
    CHECK(w[0] == doctest::Approx(2.0f * 0.5f));  // |s| = 0.5/√(1 + 0) moved into the Conv
    CHECK((!kTimed || s < kBoundSeconds));
}

TEST_CASE("graph scale: 200,000 nodes given in reverse order are sorted in linear time, stably") {
    // Stable: the order sweeping the list again and again would give (B, C, then A, which reads B).
    const Graph small = GraphBuilder()
                            .input("x", {1, 2})
                            .node("A", std::make_shared<Relu>(), {"b"}, "a")
                            .node("B", std::make_shared<Relu>(), {"x"}, "b")
                            .node("C", std::make_shared<Relu>(), {"x"}, "c")
                            .node("D", std::make_shared<Identity>(), {"a"}, "d")
                            .output("d")
                            .output("c")
                            .build();
    std::vector<std::string> names;
    for (const Node& n : small.nodes()) names.push_back(n.name);
    CHECK(names == std::vector<std::string>{"B", "C", "A", "D"});

    GraphBuilder b;
    b.input("x", {1, 2});
    for (int k = kNodes; k-- > 0;)
        b.node(numbered("r", k), std::make_shared<Relu>(), {k ? numbered("v", k - 1) : "x"},
               numbered("v", k));
    b.output(numbered("v", kNodes - 1));
    const auto t0 = std::chrono::steady_clock::now();
    const Graph g = b.build();
    const double s = seconds_since(t0);
    MESSAGE(kNodes << " nodes in reverse order: GraphBuilder::build in " << s << " s");
    REQUIRE(g.nodes().size() == static_cast<size_t>(kNodes));
    CHECK(g.nodes().front().name == "r0");
    CHECK(g.nodes().back().name == numbered("r", kNodes - 1));
    CHECK(g.node_index("r1234") == 1234);
    CHECK((!kTimed || s < kBoundSeconds));
}
