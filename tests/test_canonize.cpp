// Canonization passes leave the forward function unchanged (≤ 1e-5 relative on every fixture), do what
// they say on the fixtures that need them, and the conservation report sees relevance conserved.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "relprop/error.hpp"
#include "engine/executor.h"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/relu.h"
#include "layers/reshape.h"
#include "rules/composite.h"
#include "rules/conservation.h"
#include "rules/rules.h"
#include "tests/fixtures.h"

using namespace relprop;
using relprop::test::fixture_path;
using relprop::test::max_rel_error;
using relprop::test::onnx_fixture_names;

namespace {

Tensor run(const Graph& g, const Tensor& x) {
    auto backend = make_backend("cpu");
    return Executor(g, *backend).forward({x}).output().clone();
}

int count(const Graph& g, OpType t) {
    int n = 0;
    for (const Node& node : g.nodes()) n += node.op->type() == t;
    return n;
}

Tensor random_tensor(Shape shape, std::mt19937& rng, float lo, float hi) {
    Tensor t(std::move(shape));
    std::uniform_real_distribution<float> d(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = d(rng);
    return t;
}

std::shared_ptr<BatchNorm> batchnorm(std::vector<float> scale, std::vector<float> bias, std::mt19937& rng) {
    const int64_t c = static_cast<int64_t>(scale.size());
    return std::make_shared<BatchNorm>(Tensor({c}, scale), Tensor({c}, bias), random_tensor({c}, rng, -0.5f, 0.5f),
                                       random_tensor({c}, rng, 0.5f, 2.0f), 1e-5f);
}

std::shared_ptr<Conv> conv(int64_t in, int64_t out, int64_t pad, std::mt19937& rng, int64_t groups = 1) {
    ConvGeometry g;
    g.pad_begin = g.pad_end = {pad, pad};
    g.groups = groups;
    return std::make_shared<Conv>(random_tensor({out, in / groups, 3, 3}, rng, -0.5f, 0.5f),
                                  random_tensor({out}, rng, -0.1f, 0.1f), g);
}

}  // namespace

TEST_CASE("canonize: every pass keeps every fixture's forward function") {
    const std::vector<std::string> specs = {"auto", "remove-identity", "fuse-activations", "fuse-layernorm",
                                            "merge-batchnorm", "fold-batchnorm", "densenet", "auto,-densenet",
                                            "auto,fold-batchnorm", "cancel-transposes", "affine-to-batchnorm",
                                            "input-affine", "cancel-transposes,affine-to-batchnorm,merge-batchnorm"};
    double worst = 0.0;
    for (const std::string& name : onnx_fixture_names()) {
        const OnnxModel model = load_onnx(fixture_path("onnx/" + name + ".onnx"));
        const Tensor x = read_npy(fixture_path("onnx/" + name + ".input.npy"));
        const Tensor want = run(model.graph, x);
        for (const std::string& spec : specs) {
            INFO(name << " under " << spec);
            const CanonizeResult c = canonize(model.graph, spec);
            const double err = max_rel_error(run(c.graph, x), want);
            worst = std::max(worst, err);
            CHECK(err <= 1e-5);
        }
    }
    std::printf("canonize: worst forward change over all fixtures and pipelines %.1e (relative)\n", worst);
}

TEST_CASE("canonize: the passes do their job on the fixtures") {
    // Every BatchNormalization of the kept-BN ResNet export follows a conv: all merged.
    const OnnxModel res = load_onnx(fixture_path("onnx/tiny_resnet_keepbn.onnx"));
    REQUIRE(count(res.graph, OpType::BatchNorm) == 6);
    const CanonizeResult r = canonize(res.graph, "merge-batchnorm");
    CHECK(count(r.graph, OpType::BatchNorm) == 0);
    CHECK(r.changes.size() == 6);
    CHECK(r.changes[0].find("merge-batchnorm: merged BatchNorm '") == 0);

    // DenseNet: BN after concat → ReLU → conv, and the final BN → ReLU → GAP → flatten → Linear.
    const OnnxModel dense = load_onnx(fixture_path("onnx/tiny_densenet.onnx"));
    const int bns = count(dense.graph, OpType::BatchNorm);
    CHECK(bns >= 3);
    const CanonizeResult d = canonize(dense.graph, "auto");
    CHECK(count(d.graph, OpType::BatchNorm) == 0);
    CHECK(count(d.graph, OpType::ChannelRelu) == bns);
    const CanonizeResult off = canonize(dense.graph, "auto,-densenet");
    CHECK(count(off.graph, OpType::BatchNorm) == bns);

    // remove-identity: Dropout → Identity: the Dropout goes; the Identity that is the output stays.
    const OnnxModel drop = load_onnx(fixture_path("onnx/op_dropout_identity.onnx"));
    CHECK(canonize(drop.graph, "remove-identity").graph.nodes().size() == 1);
    CHECK(canonize(drop.graph, "none").graph.nodes().size() == 2);

    // The input BatchNorm of the tiny VGG feeds an unpadded conv: fold-batchnorm (not in auto) folds it.
    const OnnxModel vgg = load_onnx(fixture_path("onnx/tiny_vgg.onnx"));
    CHECK(count(canonize(vgg.graph, "auto").graph, OpType::BatchNorm) == 1);
    CHECK(count(canonize(vgg.graph, "auto,fold-batchnorm").graph, OpType::BatchNorm) == 0);

    CHECK_THROWS_WITH_AS(canonize(dense.graph, "auto,threshrelu"),
                         doctest::Contains("canonization pass 'threshrelu' not found; known: auto, none, remove-identity"),
                         Error);
}

TEST_CASE("canonize: folding a BatchNorm forward is done only where exact") {
    std::mt19937 rng(21);
    auto build = [&](int64_t pad, std::vector<float> shift) {
        return GraphBuilder()
            .input("x", {-1, 4, 6, 6})
            .node("bn", batchnorm({1.5f, -0.5f, 2.0f, 0.7f}, shift, rng), {"x"}, "b")
            .node("conv", conv(4, 6, pad, rng, 2), {"b"}, "y")
            .output("y")
            .build();
    };
    const Tensor x = random_tensor({2, 4, 6, 6}, rng, -1, 1);
    // No padding: always exact.
    Graph g = build(0, {0.3f, -0.2f, 0.1f, 0.0f});
    CanonizeResult c = canonize(g, "fold-batchnorm");
    CHECK(count(c.graph, OpType::BatchNorm) == 0);
    CHECK(max_rel_error(run(c.graph, x), run(g, x)) <= 1e-5);
    // Padding and a nonzero shift: not exact, kept.
    g = build(1, {0.3f, -0.2f, 0.1f, 0.0f});
    CHECK(count(canonize(g, "fold-batchnorm").graph, OpType::BatchNorm) == 1);
}

TEST_CASE("canonize: the DenseNet pass handles negative and zero BatchNorm scales exactly") {
    std::mt19937 rng(22);
    // Scales +1.5, −0.8, 0 (a channel the BatchNorm maps to a constant) and +0.3.
    auto bn = std::make_shared<BatchNorm>(Tensor({4}, {1.5f, -0.8f, 0.0f, 0.3f}), Tensor({4}, {0.2f, 0.4f, 0.6f, -0.1f}),
                                          Tensor({4}, {0.1f, -0.3f, 0.0f, 0.2f}), Tensor({4}, {1.0f, 0.5f, 2.0f, 1.5f}),
                                          1e-5f);
    Graph g = GraphBuilder()
                  .input("x", {-1, 4, 5, 5})
                  .node("norm", bn, {"x"}, "b")
                  .node("relu", std::make_shared<Relu>(), {"b"}, "r")
                  .node("conv", conv(4, 3, 1, rng), {"r"}, "c")
                  .node("flat", std::make_shared<Flatten>(1), {"r"}, "f")
                  .node("fc", std::make_shared<Linear>(random_tensor({2, 100}, rng, -0.3f, 0.3f), std::nullopt), {"f"},
                        "y2")
                  .node("relu2", std::make_shared<Relu>(), {"c"}, "y")
                  .output("y")
                  .build();
    const Tensor x = random_tensor({2, 4, 5, 5}, rng, -2, 2);
    const CanonizeResult c = canonize(g, "densenet");
    REQUIRE(c.changes.size() == 1);
    CHECK(c.changes[0].find("moved into 'conv', 'fc'") != std::string::npos);
    CHECK(count(c.graph, OpType::BatchNorm) == 0);
    CHECK(max_rel_error(run(c.graph, x), run(g, x)) <= 1e-5);
}

// For a ZPlus node (zero bias): the relevance that arrives where both of its branches are zero
// (z⁺ = w⁺x⁺ + w⁻x⁻ = 0, e.g. a stride-2 conv over pixels a ReLU zeroed in every channel): ZPlus
// cannot pass it on, so that much is lost at this node by the rule's definition (zennit loses it too).
double zplus_dead_relevance(const Node& node, const Recording& rec, const Tensor& r_out) {
    const LinearOp& op = *node.op->as_linear();
    Tensor w = op.params().at("weight").clone(), wn = w.clone();
    for (int64_t i = 0; i < w.numel(); ++i) {
        w[i] = std::max(w[i], 0.0f);
        wn[i] = std::min(wn[i], 0.0f);
    }
    Tensor xp = rec.activations[node.inputs[0]].clone(), xn = xp.clone();
    for (int64_t i = 0; i < xp.numel(); ++i) {
        xp[i] = std::max(xp[i], 0.0f);
        xn[i] = std::min(xn[i], 0.0f);
    }
    auto backend = make_backend("cpu");
    const Tensor zp = op.forward_with(*backend, {xp}, {{"weight", w}});
    const Tensor zn = op.forward_with(*backend, {xn}, {{"weight", wn}});
    double dead = 0.0;
    for (int64_t i = 0; i < r_out.numel(); ++i)
        if (zp[i] + zn[i] == 0.0f) dead += r_out[i];
    return dead;
}

TEST_CASE("conservation report: the tiny ResNet conserves relevance node by node (epsilon-plus, zero bias)") {
    const OnnxModel model = load_onnx(fixture_path("onnx/tiny_resnet.onnx"));
    auto graph = std::make_shared<const Graph>(canonize(model.graph, "auto").graph);
    auto backend = make_backend("cpu");
    CompositeOptions options;
    options.zero_bias = true;
    Plan plan(graph, assign_rules(*graph, "epsilon-plus", options), *backend);
    Explainer explainer(graph, *backend);
    const Tensor x = read_npy(fixture_path("onnx/tiny_resnet.input.npy"));
    const Recording rec = explainer.forward(x);
    const Explanation e = explainer.explain(rec, plan, {}, RelevanceInit::OneHot, true);
    const auto report = conservation_report(*graph, plan, rec, e);
    const double total = 2.0;  // one-hot relevance 1 for each of the two samples
    double worst = 0.0, dead_total = 0.0;
    for (const NodeRelevance& r : report) {
        INFO("node " << r.name << " (" << r.op << ")");
        const Node& node = graph->nodes()[r.node];
        const double dead =
            node.op->type() == OpType::Conv ? zplus_dead_relevance(node, rec, e.at_value[node.output]) : 0.0;
        dead_total += dead;
        // What a node sends on equals what arrived, minus what its rule cannot pass on by definition.
        worst = std::max(worst, std::abs(r.in_sum - (r.out_sum - dead)));
        CHECK(std::abs(r.in_sum - (r.out_sum - dead)) <= 1e-4 * total);
    }
    double input_sum = 0.0;
    for (int64_t i = 0; i < e.relevance.numel(); ++i) input_sum += e.relevance[i];
    std::printf("conservation tiny_resnet epsilon-plus zero-bias: worst per-node |in - (out - dead)| %.2e; relevance "
                "where ZPlus' denominator is 0: %.4f; input sum %.6f of %.1f\n",
                worst, dead_total, input_sum, total);
    CHECK(std::abs(input_sum - (total - dead_total)) <= 1e-4 * total);
    CHECK(format_conservation(report).find("in/out") != std::string::npos);

    // With the biases kept, they absorb relevance, and the report shows where.
    Plan biased(graph, assign_rules(*graph, "epsilon-plus"), *backend);
    const Explanation eb = explainer.explain(rec, biased, {}, RelevanceInit::OneHot, true);
    double gap = 0.0;
    for (const NodeRelevance& r : conservation_report(*graph, biased, rec, eb))
        gap = std::max(gap, std::abs(r.in_sum - r.out_sum));
    CHECK(gap > 1e-3);
}

TEST_CASE("canonize: the DenseNet pass leaves these composites' relevance as BN→Pass gives it") {
    // The pass moves a positive per-channel scale g from the BatchNorm into the next layer's weights.
    // ZPlus, Epsilon, Gamma and AlphaBeta see (W·g)·r = W·(g·r) branch by branch (g > 0 keeps signs),
    // so their relevance is the same as with the BatchNorm kept under Pass: conservation too.
    const OnnxModel model = load_onnx(fixture_path("onnx/tiny_densenet.onnx"));
    const Tensor x = read_npy(fixture_path("onnx/tiny_densenet.input.npy"));
    auto backend = make_backend("cpu");
    CompositeOptions options;
    options.low = {-3.0f};
    options.high = {3.0f};
    // (Gamma with zero bias is left out: its mask comes from the biased output while its denominators
    // drop the bias, so where a bias alone makes z > 0 the denominator is ~0 and float32 rounding of
    // either graph is amplified — both agree on the relevance sum, to 1e-6, not element by element.)
    const std::vector<std::pair<std::string, bool>> cases = {{"epsilon-plus", false},      {"epsilon-gamma-box", false},
                                                             {"epsilon-alpha2-beta1-flat", false}, {"epsilon-plus", true},
                                                             {"epsilon-alpha2-beta1-flat", true}};
    for (const auto& [composite, zero_bias] : cases) {
        options.zero_bias = zero_bias;
        std::vector<Tensor> results;
        for (const std::string pipeline : {"auto,-densenet", "auto"}) {
            auto graph = std::make_shared<const Graph>(canonize(model.graph, pipeline).graph);
            Plan plan(graph, assign_rules(*graph, composite, options), *backend);
            Explainer explainer(graph, *backend);
            results.push_back(explainer.explain(explainer.forward(x), plan).relevance);
        }
        double diff2 = 0, ref2 = 0, s0 = 0, s1 = 0;
        for (int64_t i = 0; i < x.numel(); ++i) {
            diff2 += std::pow(static_cast<double>(results[1][i]) - results[0][i], 2);
            ref2 += std::pow(static_cast<double>(results[0][i]), 2);
            s0 += results[0][i];
            s1 += results[1][i];
        }
        std::printf("densenet pass, %s%s: input relevance sum %.6f with BN->Pass, %.6f with ChannelRelu; "
                    "relative L2 difference %.1e\n",
                    composite.c_str(), zero_bias ? " (zero bias)" : "", s0, s1, std::sqrt(diff2 / ref2));
        CHECK(std::sqrt(diff2 / ref2) <= 1e-4);
    }
}
