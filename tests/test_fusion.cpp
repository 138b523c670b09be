// fuse-activations and fuse-layernorm: on the torch exports of tests/fixtures/onnx/fuse_* (made by
// tools/make_fusion_fixtures.py) each pass fires the expected number of times and the fused graph reproduces
// onnxruntime's output; on small graphs the patterns fuse in both operand orders and stay unfused where an
// intermediate has another use, a constant is off, or the axes are not trailing. Also: the composites give
// Silu/Gelu Pass and LayerNormalization the gradient, and the layernorm-identity rule against a hand calculation.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <tuple>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "relprop/error.hpp"
#include "engine/executor.h"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "layers/activation.h"
#include "layers/binary.h"
#include "layers/layer_norm.h"
#include "layers/reduce.h"
#include "rules/composite.h"
#include "rules/explainer.h"
#include "rules/rules.h"
#include "tests/fixtures.h"
#include "tests/seeded_tensor.h"

using namespace relprop;
using relprop::test::fixture_path;
using relprop::test::max_rel_error;

namespace {

Tensor run(const Graph& g, const Tensor& x) {
    auto backend = make_backend("cpu");
    return Executor(g, *backend).forward({x}).output().clone();
}

std::map<std::string, int> op_counts(const Graph& g) {
    std::map<std::string, int> c;
    for (const Node& n : g.nodes()) ++c[op_name(n.op->type())];
    return c;
}

Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo, float hi) {
    return relprop::test::seeded_tensor(shape, static_cast<uint32_t>(rng()), lo, hi);
}

std::shared_ptr<Activation> act(OpType type, UnaryFn fn) { return std::make_shared<Activation>(type, fn); }
std::shared_ptr<Binary> mul() { return std::make_shared<Binary>(OpType::Mul, BinaryKind::Mul); }
std::shared_ptr<Binary> by_constant(OpType type, BinaryKind kind, float c, int index = 1) {
    return std::make_shared<Binary>(type, kind, Tensor({}, {c}), index);
}

// The forward of `g` and of its canonized form agree on a random input; returns the canonized graph.
Graph fused(const Graph& g, const std::string& pass, const Shape& input) {
    std::mt19937 rng(5);
    const Tensor x = random_tensor(input, rng, -3.0f, 3.0f);
    const Graph c = canonize(g, pass).graph;
    CHECK(max_rel_error(run(c, x), run(g, x)) <= 1e-6);
    return c;
}

}  // namespace

TEST_CASE("fusion passes on the torch exports: ops before and after, forward against onnxruntime") {
    struct Case {
        const char* fixture;
        std::map<std::string, int> before, after;  // op counts (only the ops named)
    };
    const std::vector<Case> cases = {
        {"fuse_silu", {{"Sigmoid", 3}, {"Mul", 3}, {"Silu", 0}}, {{"Sigmoid", 1}, {"Mul", 1}, {"Silu", 2}}},
        {"fuse_hardswish", {{"HardSigmoid", 4}, {"HardSwish", 0}}, {{"HardSigmoid", 1}, {"HardSwish", 3}}},
        {"fuse_gelu_o13", {{"Erf", 2}, {"Mul", 4}, {"Gelu", 0}}, {{"Erf", 0}, {"Mul", 0}, {"Div", 0}, {"AddConstant", 0}, {"Gelu", 2}}},
        {"fuse_gelu_o17", {{"Erf", 2}, {"Gelu", 0}}, {{"Erf", 0}, {"Mul", 0}, {"Gelu", 2}}},
        {"fuse_layernorm_o13", {{"ReduceMean", 6}, {"LayerNormalization", 0}},
         {{"ReduceMean", 0}, {"Sub", 0}, {"Pow", 0}, {"Sqrt", 0}, {"Div", 0}, {"LayerNormalization", 3}, {"Gelu", 1}}},
        {"fuse_layernorm_o17", {{"LayerNormalization", 3}}, {{"LayerNormalization", 3}, {"Gelu", 1}, {"Erf", 0}}},
        // LayerNorm2d fuses; ConvNeXt's channels-first LayerNorm (a mean over axis 1 of NCHW) stays.
        {"fuse_convnext_o13", {{"ReduceMean", 4}, {"Transpose", 2}},
         {{"ReduceMean", 2}, {"Sqrt", 1}, {"Transpose", 2}, {"LayerNormalization", 1}, {"Gelu", 1}}},
        {"fuse_convnext_o17", {{"ReduceMean", 2}, {"LayerNormalization", 1}},
         {{"ReduceMean", 2}, {"LayerNormalization", 1}, {"Gelu", 1}}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.fixture);
        const OnnxModel model = load_onnx(fixture_path(std::string("onnx/") + c.fixture + ".onnx"));
        const Tensor x = read_npy(fixture_path(std::string("onnx/") + c.fixture + ".input.npy"));
        const Tensor want = read_npy(fixture_path(std::string("onnx/") + c.fixture + ".output.npy"));
        const auto before = op_counts(model.graph);
        for (const auto& [op, n] : c.before) CHECK_MESSAGE(before.count(op) ? before.at(op) == n : n == 0, op);
        const CanonizeResult r = canonize(model.graph, "none,fuse-activations,fuse-layernorm");
        const auto after = op_counts(r.graph);
        for (const auto& [op, n] : c.after) CHECK_MESSAGE(after.count(op) ? after.at(op) == n : n == 0, op);
        const double unfused = max_rel_error(run(model.graph, x), want);
        const double err = max_rel_error(run(r.graph, x), want);
        const double change = max_rel_error(run(r.graph, x), run(model.graph, x));
        std::printf("fusion %-20s nodes %3zu -> %3zu, %zu fusions; vs onnxruntime: unfused %.1e, fused %.1e; "
                    "fused vs unfused %.1e\n",
                    c.fixture, model.graph.nodes().size(), r.graph.nodes().size(), r.changes.size(), unfused, err, change);
        CHECK(err <= 1e-5);
        CHECK(change <= 1e-6);
    }
}

TEST_CASE("fuse-activations: x·Sigmoid(x) and x·HardSigmoid(x) in both orders; gates of other values stay") {
    auto g = GraphBuilder()
                 .input("x", {-1, 3, 4})
                 .node("sig", act(OpType::Sigmoid, {UnaryKind::Sigmoid}), {"x"}, "s")
                 .node("silu", mul(), {"s", "x"}, "a")  // σ(x)·x
                 .node("hsig", act(OpType::HardSigmoid, {UnaryKind::HardSigmoid, 1.0f / 6.0f, 0.5f}), {"a"}, "h")
                 .node("hswish", mul(), {"a", "h"}, "b")  // x·hσ(x)
                 .node("tanh", act(OpType::Tanh, {UnaryKind::Tanh}), {"b"}, "t")
                 .node("gate", act(OpType::Sigmoid, {UnaryKind::Sigmoid}), {"t"}, "gs")
                 .node("se", mul(), {"b", "gs"}, "y")  // b·σ(t): a gate of another value
                 .output("y")
                 .build();
    const Graph c = fused(g, "fuse-activations", {2, 3, 4});
    const auto n = op_counts(c);
    CHECK(n.at("Silu") == 1);
    CHECK(n.at("HardSwish") == 1);
    CHECK(n.at("Sigmoid") == 1);
    CHECK(n.at("Mul") == 1);
    CHECK(op_name(c.nodes()[static_cast<size_t>(c.node_index("silu"))].op->type()) == std::string("Silu"));
    CHECK(c.nodes()[static_cast<size_t>(c.node_index("hswish"))].op->type() == OpType::HardSwish);

    // The Sigmoid's output also read elsewhere, or a graph output: no fusion.
    auto shared = GraphBuilder()
                      .input("x", {1, 4})
                      .node("sig", act(OpType::Sigmoid, {UnaryKind::Sigmoid}), {"x"}, "s")
                      .node("silu", mul(), {"x", "s"}, "a")
                      .node("other", mul(), {"a", "s"}, "y")
                      .output("y")
                      .build();
    CHECK(op_counts(fused(shared, "fuse-activations", {1, 4})).count("Silu") == 0);
    auto output = GraphBuilder()
                      .input("x", {1, 4})
                      .node("sig", act(OpType::Sigmoid, {UnaryKind::Sigmoid}), {"x"}, "s")
                      .node("silu", mul(), {"x", "s"}, "y")
                      .output("y")
                      .output("s")
                      .build();
    CHECK(op_counts(canonize(output, "fuse-activations").graph).count("Silu") == 0);
    // HardSigmoid with ONNX's default α = 0.2 is not PyTorch's hardsigmoid: x·hσ(x) is no HardSwish.
    auto onnx_default = GraphBuilder()
                            .input("x", {1, 4})
                            .node("hsig", act(OpType::HardSigmoid, {UnaryKind::HardSigmoid, 0.2f, 0.5f}), {"x"}, "h")
                            .node("m", mul(), {"x", "h"}, "y")
                            .output("y")
                            .build();
    CHECK(op_counts(fused(onnx_default, "fuse-activations", {1, 4})).count("HardSwish") == 0);
}

TEST_CASE("fuse-activations: Keras 3's hard_swish x·relu6(x + 3)/6 (tf2onnx: AddConstant 3, Clip, Mul 1/6, Mul)") {
    // MobileNetV3's activation: x·(Clip(x + 3, 0, 6)·(1/6)), and the factors in the other order.
    auto g = GraphBuilder()
                 .input("x", {-1, 3, 4})
                 .node("add", by_constant(OpType::AddConstant, BinaryKind::Add, 3.0f), {"x"}, "a")
                 .node("relu6", act(OpType::Clip, {UnaryKind::Clip, 0.0f, 6.0f}), {"a"}, "r")
                 .node("truediv", by_constant(OpType::Mul, BinaryKind::Mul, 1.0f / 6.0f), {"r"}, "d")
                 .node("mul", mul(), {"x", "d"}, "h")
                 .node("add2", by_constant(OpType::AddConstant, BinaryKind::Add, 3.0f), {"h"}, "a2")
                 .node("relu6_2", act(OpType::Clip, {UnaryKind::Clip, 0.0f, 6.0f}), {"a2"}, "r2")
                 .node("mul2", mul(), {"r2", "h"}, "m2")
                 .node("truediv2", by_constant(OpType::Mul, BinaryKind::Mul, 1.0f / 6.0f), {"m2"}, "y")
                 .output("y")
                 .build();
    const Graph c = fused(g, "fuse-activations", {2, 3, 4});
    CHECK(op_counts(c) == std::map<std::string, int>{{"HardSwish", 2}});
    CHECK(c.nodes()[1].name == "truediv2");
    // Near misses stay: a Clip to 5, a shift of 2, a scale of 1/5, a shifted value other than the product's.
    for (const auto& [lo_hi, shift, scale] : {std::tuple{6.0f, 2.0f, 1.0f / 6.0f}, std::tuple{5.0f, 3.0f, 1.0f / 6.0f},
                                              std::tuple{6.0f, 3.0f, 0.2f}}) {
        auto miss = GraphBuilder()
                        .input("x", {1, 4})
                        .node("add", by_constant(OpType::AddConstant, BinaryKind::Add, shift), {"x"}, "a")
                        .node("relu6", act(OpType::Clip, {UnaryKind::Clip, 0.0f, lo_hi}), {"a"}, "r")
                        .node("truediv", by_constant(OpType::Mul, BinaryKind::Mul, scale), {"r"}, "d")
                        .node("mul", mul(), {"x", "d"}, "y")
                        .output("y")
                        .build();
        CHECK(op_counts(fused(miss, "fuse-activations", {1, 4})).count("HardSwish") == 0);
    }
    auto other = GraphBuilder()
                     .input("x", {1, 4})
                     .node("tanh", act(OpType::Tanh, {UnaryKind::Tanh}), {"x"}, "t")
                     .node("add", by_constant(OpType::AddConstant, BinaryKind::Add, 3.0f), {"t"}, "a")
                     .node("relu6", act(OpType::Clip, {UnaryKind::Clip, 0.0f, 6.0f}), {"a"}, "r")
                     .node("truediv", by_constant(OpType::Mul, BinaryKind::Mul, 1.0f / 6.0f), {"r"}, "d")
                     .node("mul", mul(), {"x", "d"}, "y")
                     .output("y")
                     .build();
    CHECK(op_counts(fused(other, "fuse-activations", {1, 4})).count("HardSwish") == 0);
}

TEST_CASE("fuse-activations: GELU's erf form in the orders torch writes it, and near misses") {
    // ½·((x·(1 + erf(x·(1/√2))))): Mul by 1/√2 instead of Div by √2, the constant 1 first.
    auto g = GraphBuilder()
                 .input("x", {-1, 5})
                 .node("scale", by_constant(OpType::Mul, BinaryKind::Mul, 0.70710678f), {"x"}, "s")
                 .node("erf", act(OpType::Erf, {UnaryKind::Erf}), {"s"}, "e")
                 .node("one", by_constant(OpType::AddConstant, BinaryKind::Add, 1.0f, 0), {"e"}, "p")
                 .node("half", by_constant(OpType::Mul, BinaryKind::Mul, 0.5f, 0), {"x"}, "h")
                 .node("gelu", mul(), {"h", "p"}, "y")
                 .output("y")
                 .build();
    const Graph c = fused(g, "fuse-activations", {2, 5});
    REQUIRE(c.nodes().size() == 1);
    CHECK(c.nodes()[0].op->type() == OpType::Gelu);
    CHECK(c.nodes()[0].name == "gelu");

    // Without the ½, with x/2 instead of x/√2, or with the erf argument of another value: no Gelu.
    auto build = [](float half, float sqrt2, bool other) {
        return GraphBuilder()
            .input("x", {1, 5})
            .node("t", act(OpType::Tanh, {UnaryKind::Tanh}), {"x"}, "t")
            .node("div", by_constant(OpType::Div, BinaryKind::Div, sqrt2), {other ? "t" : "x"}, "d")
            .node("erf", act(OpType::Erf, {UnaryKind::Erf}), {"d"}, "e")
            .node("one", by_constant(OpType::AddConstant, BinaryKind::Add, 1.0f), {"e"}, "p")
            .node("m", mul(), {"x", "p"}, "q")
            .node("half", by_constant(OpType::Mul, BinaryKind::Mul, half), {"q"}, "y")
            .output("y")
            .build();
    };
    CHECK(op_counts(fused(build(0.5f, 1.4142135f, false), "fuse-activations", {1, 5})).count("Gelu") == 1);
    CHECK(op_counts(fused(build(1.0f, 1.4142135f, false), "fuse-activations", {1, 5})).count("Gelu") == 0);
    CHECK(op_counts(fused(build(0.5f, 2.0f, false), "fuse-activations", {1, 5})).count("Gelu") == 0);
    CHECK(op_counts(fused(build(0.5f, 1.4142135f, true), "fuse-activations", {1, 5})).count("Gelu") == 0);
}

TEST_CASE("fuse-layernorm: trailing axes only, square as Pow or d·d, optional affine; others stay") {
    // LayerNorm arithmetic over `axes` of a [N,3,4,5] input; γ shaped `gamma` (empty: none).
    auto build = [](std::vector<int64_t> axes, bool pow, Shape gamma, bool beta, bool d_output) {
        std::mt19937 rng(9);
        GraphBuilder b;
        b.input("x", {-1, 3, 4, 5})
            .node("mu", std::make_shared<Reduce>(true, axes, true), {"x"}, "m")
            .node("sub", std::make_shared<Binary>(OpType::Sub, BinaryKind::Sub), {"x", "m"}, "d");
        if (pow)
            b.node("sq", act(OpType::Pow, {UnaryKind::Pow, 2.0f}), {"d"}, "q");
        else
            b.node("sq", mul(), {"d", "d"}, "q");
        b.node("var", std::make_shared<Reduce>(true, axes, true), {"q"}, "v")
            .node("eps", by_constant(OpType::AddConstant, BinaryKind::Add, 1e-5f, 0), {"v"}, "ve")
            .node("sqrt", act(OpType::Sqrt, {UnaryKind::Sqrt}), {"ve"}, "s")
            .node("div", std::make_shared<Binary>(OpType::Div, BinaryKind::Div), {"d", "s"}, "n");
        std::string out = "n";
        if (!gamma.empty()) {
            b.node("gamma", std::make_shared<Binary>(OpType::Mul, BinaryKind::Mul, random_tensor(gamma, rng, 0.5f, 1.5f), 0),
                   {"n"}, "g");
            out = "g";
        }
        if (beta) {
            b.node("beta", std::make_shared<Binary>(OpType::AddConstant, BinaryKind::Add, random_tensor({5}, rng, -1, 1), 1),
                   {out}, "y");
            out = "y";
        }
        b.output(out);
        if (d_output) b.output("d");
        return b.build();
    };
    const Shape in{2, 3, 4, 5};
    {
        const Graph c = fused(build({3}, true, {5}, true, false), "fuse-layernorm", in);
        REQUIRE(c.nodes().size() == 1);
        const auto& ln = dynamic_cast<const LayerNorm&>(*c.nodes()[0].op);
        CHECK(ln.axis() == 3);
        CHECK(ln.epsilon() == 1e-5f);
        CHECK(ln.has_bias());
        CHECK(c.nodes()[0].name == "beta");
    }
    {
        const Graph c = fused(build({2, 3}, false, {1, 4, 1}, false, false), "fuse-layernorm", in);
        REQUIRE(c.nodes().size() == 1);
        CHECK(dynamic_cast<const LayerNorm&>(*c.nodes()[0].op).axis() == 2);
        CHECK(!dynamic_cast<const LayerNorm&>(*c.nodes()[0].op).has_bias());
    }
    CHECK(fused(build({1, 2, 3}, true, {}, false, false), "fuse-layernorm", in).nodes().size() == 1);
    // Over channels only (ConvNeXt's channels-first LayerNorm), or over space: not from an axis to the end.
    CHECK(op_counts(fused(build({1}, true, {3, 1, 1}, true, false), "fuse-layernorm", in)).count("LayerNormalization") == 0);
    CHECK(op_counts(fused(build({2}, true, {}, false, false), "fuse-layernorm", in)).count("LayerNormalization") == 0);
    // γ varying along a leading axis is no LayerNormalization scale: the division fuses, the Mul stays.
    {
        const Graph c = fused(build({3}, true, {3, 1, 1}, false, false), "fuse-layernorm", in);
        CHECK(op_counts(c).at("LayerNormalization") == 1);
        CHECK(op_counts(c).at("Mul") == 1);
    }
    // The centered value d is also a graph output: nothing fuses.
    CHECK(op_counts(canonize(build({3}, true, {5}, true, true), "fuse-layernorm").graph).count("LayerNormalization") == 0);
}

TEST_CASE("composites: Silu, Gelu, HardSwish get Pass (zennit's Activation group), LayerNormalization the gradient") {
    std::mt19937 rng(4);
    auto g = std::make_shared<const Graph>(
        GraphBuilder()
            .input("x", {1, 3, 5})
            .node("ln", std::make_shared<LayerNorm>(2, 1e-5f, random_tensor({5}, rng, 0.5f, 1.5f), random_tensor({5}, rng, -0.5f, 0.5f)),
                  {"x"}, "l")
            .node("silu", act(OpType::Silu, {UnaryKind::Silu}), {"l"}, "a")
            .node("gelu", act(OpType::Gelu, {UnaryKind::Gelu}), {"a"}, "b")
            .node("hswish", act(OpType::HardSwish, {UnaryKind::HardSwish}), {"b"}, "y")
            .output("y")
            .build());
    for (const std::string& composite : composite_names()) {
        CAPTURE(composite);
        CompositeOptions o;
        o.low = {-1.0f};
        o.high = {1.0f};
        const RuleAssignment a = assign_rules(*g, composite, o);
        CHECK(a.rules[0] == nullptr);  // the gradient
        for (size_t i = 1; i < 4; ++i) CHECK(a.rules[i]->describe() == "Pass()");
    }
    // The opt-in rule by op type (relprop's and ONNX's name are the same) and by node name.
    const RuleAssignment by_type = assign_rules(*g, "epsilon-plus", {}, std::vector<std::string>{"LayerNormalization=layernorm-identity"});
    CHECK(by_type.rules[0]->describe() == "LayerNormIdentity(epsilon=1e-06)");
    const RuleAssignment by_name = assign_rules(*g, "epsilon-plus", {}, std::vector<std::string>{"ln=layernorm-identity:0.01"});
    CHECK(by_name.rules[0]->describe() == "LayerNormIdentity(epsilon=0.01)");
    CHECK_THROWS_WITH_AS(Plan(g, assign_rules(*g, "epsilon-plus", {}, std::vector<std::string>{"silu=layernorm-identity"}),
                              *make_backend("cpu")),
                         doctest::Contains("rule layernorm-identity applies only to LayerNormalization nodes, not to Silu"),
                         Error);
}

TEST_CASE("hand: layernorm-identity on x = (0, 1, 5), γ = (1, 2, 1), relevance one-hot at the first output") {
    // μ = 2, σ = √(14/3) (ε_LN = 0), y₁ = γ₁(x₁ − μ)/σ = −2/σ. With σ fixed, y₁ = (⅔x₁ − ⅓x₂ − ⅓x₃)/σ, so the
    // contributions z_i1 = (0, −1/(3σ), −5/(3σ)) and R_i = z_i1·R₁/y₁ = (0, 1/6, 5/6): conserved (Σ = 1).
    // With β₁ = 0.5: y₁ = −2/σ + ½, R_i = z_i1/y₁, Σ R_i = 1 − β₁/y₁ (the bias keeps its share).
    auto backend = make_backend("cpu");
    for (const float beta : {0.0f, 0.5f}) {
        CAPTURE(beta);
        auto g = std::make_shared<const Graph>(
            GraphBuilder()
                .input("x", {1, 3})
                .node("ln", std::make_shared<LayerNorm>(1, 0.0f, Tensor({3}, {1, 2, 1}), Tensor({3}, {beta, 0, 0})), {"x"}, "y")
                .output("y")
                .build());
        Plan plan(g, assign_rules(*g, "epsilon-plus", {}, std::vector<std::string>{"ln=layernorm-identity:0"}), *backend);
        Explainer ex(g, *backend);
        const Explanation e = ex.explain(ex.forward(Tensor({1, 3}, {0, 1, 5})), plan, {0});
        const double sigma = std::sqrt(14.0 / 3.0), y1 = -2.0 / sigma + beta;
        const double want[3] = {0.0, -1.0 / (3 * sigma) / y1, -5.0 / (3 * sigma) / y1};
        double sum = 0.0;
        for (int i = 0; i < 3; ++i) {
            CHECK(e.relevance[i] == doctest::Approx(want[i]).epsilon(1e-6));
            sum += e.relevance[i];
        }
        CHECK(sum == doctest::Approx(1.0 - beta / y1).epsilon(1e-6));
        if (beta == 0.0f) {
            CHECK(e.relevance[1] == doctest::Approx(1.0 / 6.0).epsilon(1e-6));
            CHECK(e.relevance[2] == doctest::Approx(5.0 / 6.0).epsilon(1e-6));
        }
    }
}

TEST_CASE("layernorm-identity equals LRP-ε on the dense matrix of the LayerNorm with σ fixed; conservation up to β, ε") {
    // [2, 4, 6] normalized over the last two axes (D = 24), γ per element, β per element, random relevance.
    std::mt19937 rng(12);
    const Tensor gamma = random_tensor({4, 6}, rng, -1.5f, 1.5f), beta = random_tensor({4, 6}, rng, -0.5f, 0.5f);
    const LayerNorm ln(1, 1e-5f, gamma, beta);
    const Tensor x = random_tensor({2, 4, 6}, rng, -2.0f, 2.0f), r = random_tensor({2, 4, 6}, rng, -1.0f, 1.0f);
    auto backend = make_backend("cpu");
    const float eps = 1e-3f;
    const Tensor y = ln.forward(*backend, {x});
    const Tensor got = parse_rule("layernorm-identity:0.001")->prepare(ln, *backend)->propagate(*backend, {x}, y, r).at(0);
    const int64_t D = 24;
    double worst = 0.0, scale = 0.0;
    for (int64_t n = 0; n < 2; ++n) {
        const float* xs = x.data() + n * D;
        double mu = 0.0, var = 0.0;
        for (int64_t i = 0; i < D; ++i) mu += xs[i];
        mu /= D;
        for (int64_t i = 0; i < D; ++i) var += (xs[i] - mu) * (xs[i] - mu);
        const double s = std::sqrt(var / D + 1e-5);
        double in_sum = 0.0, expected_sum = 0.0;
        for (int64_t i = 0; i < D; ++i) {
            double ri = 0.0;
            for (int64_t j = 0; j < D; ++j) {
                const double a_ji = gamma[j] * ((i == j ? 1.0 : 0.0) - 1.0 / D) / s;
                const double y = gamma[j] * (xs[j] - mu) / s + beta[j];
                ri += xs[i] * a_ji * r[n * D + j] / (y + (y >= 0 ? eps : -eps));
            }
            worst = std::max(worst, std::abs(ri - got[n * D + i]));
            scale = std::max(scale, std::abs(ri));
            in_sum += got[n * D + i];
        }
        for (int64_t j = 0; j < D; ++j) {
            const double y = gamma[j] * (xs[j] - mu) / s + beta[j];
            expected_sum += (y - beta[j]) * r[n * D + j] / (y + (y >= 0 ? eps : -eps));
        }
        CHECK(in_sum == doctest::Approx(expected_sum).epsilon(1e-4));
    }
    std::printf("layernorm-identity vs dense LRP-eps: max abs diff %.1e (max |R| %.2f)\n", worst, scale);
    CHECK(worst <= 1e-5 * scale);
}
