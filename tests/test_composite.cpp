// Composites, overrides, the rule listing, and the explainer's use of one forward for many reverse passes.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "engine/attribution.h"
#include "relprop/error.hpp"
#include "layers/activation.h"
#include "layers/add.h"
#include "layers/avgpool.h"
#include "layers/binary.h"
#include "layers/batchnorm.h"
#include "layers/concat.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/maxpool.h"
#include "layers/reduce.h"
#include "layers/relu.h"
#include "layers/reshape.h"
#include "rules/composite.h"
#include "rules/explainer.h"
#include "rules/rules.h"

using namespace relprop;

namespace {

Tensor random_tensor(Shape shape, std::mt19937& rng, float scale) {
    Tensor t(std::move(shape));
    std::normal_distribution<float> dist(0.0f, scale);
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = dist(rng);
    return t;
}

std::shared_ptr<Conv> conv(int64_t in, int64_t out, int64_t k, std::mt19937& rng) {
    ConvGeometry g;
    g.pad_begin = g.pad_end = {k / 2, k / 2};
    return std::make_shared<Conv>(random_tensor({out, in, k, k}, rng, 0.4f), random_tensor({out}, rng, 0.1f), g);
}

// conv0 → bn → relu → maxpool → [conv1 → relu] + skip → relu → concat(·, conv2) → avgpool → gap → flatten → fc
std::shared_ptr<const Graph> small_cnn() {
    std::mt19937 rng(3);
    PoolAttributes p2;
    p2.kernel = p2.stride = {2, 2};
    Tensor var({4}, {1, 1, 1, 1});
    return std::make_shared<const Graph>(
        GraphBuilder()
            .input("x", {-1, 3, 8, 8})
            .node("conv0", conv(3, 4, 3, rng), {"x"}, "c0")
            .node("bn", std::make_shared<BatchNorm>(random_tensor({4}, rng, 1), random_tensor({4}, rng, 1),
                                                    random_tensor({4}, rng, 1), var, 1e-5f),
                  {"c0"}, "b")
            .node("relu0", std::make_shared<Relu>(), {"b"}, "r0")
            .node("pool", std::make_shared<MaxPool>(p2), {"r0"}, "p")
            .node("block.conv", conv(4, 4, 3, rng), {"p"}, "c1")
            .node("block.relu", std::make_shared<Relu>(), {"c1"}, "r1")
            .node("block.add", std::make_shared<Add>(), {"r1", "p"}, "s")
            .node("relu2", std::make_shared<Relu>(), {"s"}, "r2")
            .node("side", conv(4, 2, 1, rng), {"p"}, "c2")
            .node("cat", std::make_shared<Concat>(1), {"r2", "c2"}, "cat")
            .node("avg", std::make_shared<AvgPool>(p2, false), {"cat"}, "a")
            .node("gap", std::make_shared<GlobalAvgPool>(), {"a"}, "g")
            .node("flat", std::make_shared<Flatten>(1), {"g"}, "f")
            .node("fc", std::make_shared<Linear>(random_tensor({3, 6}, rng, 1), random_tensor({3}, rng, 0.1f)), {"f"},
                  "y")
            .output("y")
            .build());
}

std::string rule_of(const RuleAssignment& a, const Graph& g, const std::string& node) {
    const auto& r = a.rules[g.node_index(node)];
    return r ? r->describe() : "Gradient()";
}

}  // namespace

TEST_CASE("composites assign the rules of DESIGN.md's table") {
    auto g = small_cnn();
    RuleAssignment a = assign_rules(*g, "epsilon-plus-flat");
    CHECK(rule_of(a, *g, "conv0") == "Flat()");
    CHECK(rule_of(a, *g, "block.conv") == "ZPlus()");
    CHECK(rule_of(a, *g, "side") == "ZPlus()");
    CHECK(rule_of(a, *g, "fc") == "Epsilon(epsilon=1e-06)");
    CHECK(rule_of(a, *g, "relu0") == "Pass()");
    CHECK(rule_of(a, *g, "bn") == "Pass()");
    CHECK(rule_of(a, *g, "block.add") == "Norm()");
    CHECK(rule_of(a, *g, "avg") == "Norm()");
    CHECK(rule_of(a, *g, "gap") == "Norm()");
    CHECK(rule_of(a, *g, "pool") == "Gradient()");
    CHECK(rule_of(a, *g, "cat") == "Gradient()");

    a = assign_rules(*g, "epsilon-plus");
    CHECK(rule_of(a, *g, "conv0") == "ZPlus()");
    a = assign_rules(*g, "epsilon-alpha2-beta1");
    CHECK(rule_of(a, *g, "conv0") == "AlphaBeta(alpha=2, beta=1)");
    a = assign_rules(*g, "epsilon-alpha2-beta1-flat");
    CHECK(rule_of(a, *g, "conv0") == "Flat()");
    CHECK(rule_of(a, *g, "side") == "AlphaBeta(alpha=2, beta=1)");
    CompositeOptions box;
    box.low = {-2, -2, -2};
    box.high = {2, 2, 3};
    box.epsilon = 0.01f;
    a = assign_rules(*g, "epsilon_gamma_box", box);
    CHECK(rule_of(a, *g, "conv0") == "ZBox(low=-2/-2/-2, high=2/2/3)");
    CHECK(rule_of(a, *g, "block.conv") == "Gamma(gamma=0.25)");
    CHECK(rule_of(a, *g, "fc") == "Epsilon(epsilon=0.01)");
    CHECK_THROWS_WITH_AS(assign_rules(*g, "epsilon-gamma-box"), doctest::Contains("needs the input bounds"), Error);
    CHECK_THROWS_WITH_AS(assign_rules(*g, "lrp"),
                         doctest::Contains("composite 'lrp' not found; known composites: epsilon-plus, "), Error);
}

TEST_CASE("the first layer of flat composites may be dense; ZBox only takes a conv") {
    auto fc = std::make_shared<Linear>(Tensor({2, 3}), std::nullopt);
    Graph g = GraphBuilder().input("x", {1, 3}).node("fc", fc, {"x"}, "y").output("y").build();
    CHECK(assign_rules(g, "epsilon-plus-flat").rules[0]->describe() == "Flat()");
    CompositeOptions box;
    box.low = {0};
    box.high = {1};
    CHECK(assign_rules(g, "epsilon-gamma-box", box).rules[0]->describe() == "Epsilon(epsilon=1e-06)");
}

TEST_CASE("overrides by op type, name glob, index and first layer; a later override wins") {
    auto g = small_cnn();
    std::vector<RuleOverride> ov{parse_override("Conv=epsilon:0.5"), parse_override("block.*=gamma:0.1"),
                                 parse_override("#12=wsquare"), parse_override("first=zplus"),
                                 parse_override("op:Gemm=epsilon:0.125"), parse_override("name:side=alpha-beta:1,0")};
    RuleAssignment a = assign_rules(*g, "epsilon-plus-flat", {}, ov);
    CHECK(rule_of(a, *g, "conv0") == "ZPlus()");
    CHECK(a.sources[g->node_index("conv0")] == "override 'first'");
    CHECK(rule_of(a, *g, "block.conv") == "Gamma(gamma=0.1)");
    CHECK(rule_of(a, *g, "block.add") == "Gamma(gamma=0.1)");
    CHECK(rule_of(a, *g, "side") == "AlphaBeta(alpha=1, beta=0)");
    CHECK(rule_of(a, *g, "flat") == "WSquare()");  // node #12
    CHECK(rule_of(a, *g, "fc") == "Epsilon(epsilon=0.125)");
    CHECK_THROWS_WITH_AS(assign_rules(*g, "epsilon-plus", {}, {parse_override("nothing*=flat")}),
                         doctest::Contains("rule override 'nothing*' matches no node"), Error);
    CHECK_THROWS_WITH_AS(parse_override("Conv"), doctest::Contains("expected SELECTOR=RULE"), Error);
    CHECK_THROWS_WITH_AS(assign_rules(*g, "epsilon-plus", {}, {parse_override("op:Softsign=flat")}),
                         doctest::Contains("unknown op type"), Error);
    // A rule that cannot run on the node it was given is refused when the plan is made, naming the node.
    auto backend = make_backend("cpu");
    RuleAssignment bad = assign_rules(*g, "epsilon-plus", {}, {parse_override("relu0=zplus")});
    CHECK_THROWS_WITH_AS(Plan(g, bad, *backend), doctest::Contains("node 'relu0' (Relu): rule ZPlus() applies only"),
                         Error);
    // The listing names every node with its rule and where the rule came from.
    const std::string listing = rule_listing(*g, a);
    CHECK(listing.find("block.conv") != std::string::npos);
    CHECK(listing.find("Gamma(gamma=0.1)  [override 'block.*']") != std::string::npos);
    CHECK(listing.find("[2, 4, 8, 8]") == std::string::npos);  // shapes are listed for batch 1
    CHECK(listing.find("[1, 4, 8, 8]") != std::string::npos);
}

TEST_CASE("explainer: one forward serves several targets, plans and the gradient") {
    auto g = small_cnn();
    auto backend = make_backend("cpu");
    Explainer ex(g, *backend);
    std::mt19937 rng(11);
    const Tensor x = random_tensor({2, 3, 8, 8}, rng, 1);
    Recording rec = ex.forward(x);
    Plan plus(g, assign_rules(*g, "epsilon-plus-flat"), *backend);
    Plan ab(g, assign_rules(*g, "epsilon-alpha2-beta1"), *backend);

    Explanation e0 = ex.explain(rec, plus, {0, 1});
    Explanation e2 = ex.explain(rec, plus, {2, 2});
    Explanation again = ex.explain(ex.forward(x), plus, {0, 1});
    CHECK(e0.relevance.to_vector() == again.relevance.to_vector());  // deterministic, nothing left over
    CHECK(e0.relevance.to_vector() != e2.relevance.to_vector());
    Explanation eab = ex.explain(rec, ab, {0, 1});
    CHECK(eab.relevance.to_vector() != e0.relevance.to_vector());
    CHECK(e0.relevance.shape() == x.shape());

    // The gradient from the same recording equals the gradient attributor's.
    Explanation grad = ex.gradient(rec, {0, 1});
    Executor plain(*g, *backend);
    Attribution ref = relprop::gradient(plain, x, {0, 1});
    const auto a = grad.relevance.to_vector(), b = ref.attribution.to_vector();
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-6));

    // One-hot × logit scales each sample's relevance by its target logit.
    Explanation scaled = ex.explain(rec, plus, {0, 1}, RelevanceInit::OneHotLogit);
    const int64_t per = x.numel() / 2;
    for (int s = 0; s < 2; ++s) {
        const float logit = rec.output[s * 3 + e0.targets[s]];
        for (int64_t i = s * per; i < (s + 1) * per; i += 37)
            CHECK(scaled.relevance[i] == doctest::Approx(logit * e0.relevance[i]).epsilon(1e-4));
    }

    // Per-value relevance on request: the relevance at the flatten's input has its shape.
    Explanation kept = ex.explain(rec, plus, {0, 1}, RelevanceInit::OneHot, true);
    CHECK(kept.at_value[g->value_id("g")].shape() == Shape{2, 6, 1, 1});
    CHECK(e0.at_value.empty());
}

TEST_CASE("explainer: a plan or recording of another graph is refused") {
    auto g = small_cnn();
    auto other = small_cnn();  // same structure, another graph object
    auto backend = make_backend("cpu");
    Explainer ex(g, *backend), ex_other(other, *backend);
    Recording rec = ex.forward(Tensor({1, 3, 8, 8}));
    Plan foreign(other, assign_rules(*other, "epsilon-plus"), *backend);
    CHECK_THROWS_WITH_AS(ex.explain(rec, foreign), doctest::Contains("the plan was made for another graph"), Error);
    Plan mine(g, assign_rules(*g, "epsilon-plus"), *backend);
    CHECK_THROWS_WITH_AS(ex_other.explain(rec, foreign), doctest::Contains("the recording is a forward pass of another"),
                         Error);
    auto backend2 = make_backend("cpu");
    Plan elsewhere(g, assign_rules(*g, "epsilon-plus"), *backend2);
    CHECK_THROWS_WITH_AS(ex.explain(rec, elsewhere), doctest::Contains("prepared for another backend"), Error);
    CHECK_NOTHROW(ex.explain(rec, mine));
}

TEST_CASE("residual Add rules: select the skip, the residual branch, an input, or an epsilon-stabilized split") {
    // y = relu(x) + x: the skip is x (a graph input, produced before the branch).
    auto g = std::make_shared<const Graph>(GraphBuilder()
                                               .input("x", {1, 3})
                                               .node("branch", std::make_shared<Relu>(), {"x"}, "r")
                                               .node("add", std::make_shared<Add>(), {"r", "x"}, "y")
                                               .output("y")
                                               .build());
    auto backend = make_backend("cpu");
    Explainer ex(g, *backend);
    const Recording rec = ex.forward(Tensor({1, 3}, {2, -1, 3}));  // y = (4, -1, 6)
    auto relevance_with = [&](const std::string& add_rule) {
        Plan plan(g, assign_rules(*g, "epsilon-plus", {}, {parse_override("add=" + add_rule), parse_override("branch=pass")}),
                  *backend);
        return ex.explain(rec, plan, {2}, RelevanceInit::OneHot, true);
    };
    // R = (0, 0, 1). Skip only: x gets 1 directly; the branch gets nothing.
    Explanation skip = relevance_with("select:skip");
    CHECK(skip.at_value[g->value_id("r")].to_vector() == std::vector<float>{0, 0, 0});
    CHECK(skip.relevance.to_vector() == std::vector<float>{0, 0, 1});
    Explanation residual = relevance_with("select:residual");
    CHECK(residual.at_value[g->value_id("r")].to_vector() == std::vector<float>{0, 0, 1});
    Explanation first = relevance_with("select:0");
    CHECK(first.at_value[g->value_id("r")].to_vector() == std::vector<float>{0, 0, 1});
    // Epsilon(1) on the sum: each input gets x_i·R/(z + 1) = 3/7 from the branch and 3/7 from the skip.
    Explanation eps = relevance_with("epsilon:1");
    CHECK(eps.at_value[g->value_id("r")][2] == doctest::Approx(3.0 / 7));
    CHECK(eps.relevance[2] == doctest::Approx(6.0 / 7));
    CHECK_THROWS_WITH_AS(parse_rule("select:left"), doctest::Contains("expected select:skip, select:residual"), Error);
    CHECK_THROWS_WITH_AS(Plan(g, assign_rules(*g, "epsilon-plus", {}, {parse_override("branch=select:skip")}), *backend),
                         doctest::Contains("rule Select applies only to Add nodes"), Error);
}

TEST_CASE("composites map categories to rules: activations Pass, spatial means Norm, gates and channel means the gradient") {
    std::mt19937 rng(11);
    // conv → hardswish → [mean over space → conv 1x1 → sigmoid] gate · x → mean over channels → flatten → fc
    auto g = std::make_shared<const Graph>(
        GraphBuilder()
            .input("x", {1, 2, 6, 6})
            .node("conv", conv(2, 4, 3, rng), {"x"}, "c")
            .node("act", std::make_shared<Activation>(OpType::HardSwish, UnaryFn{UnaryKind::HardSwish}), {"c"}, "a")
            .node("squeeze", std::make_shared<Reduce>(true, std::vector<int64_t>{2, 3}, true), {"a"}, "s")
            .node("excite", conv(4, 4, 1, rng), {"s"}, "e")
            .node("gate", std::make_shared<Activation>(OpType::Sigmoid, UnaryFn{UnaryKind::Sigmoid}), {"e"}, "sg")
            .node("scale", std::make_shared<Binary>(OpType::Mul, BinaryKind::Mul), {"a", "sg"}, "m")
            .node("channel_mean", std::make_shared<Reduce>(true, std::vector<int64_t>{1}, false), {"m"}, "cm")
            .node("flat", std::make_shared<Flatten>(1), {"cm"}, "f")
            .node("fc", std::make_shared<Linear>(random_tensor({3, 36}, rng, 0.3f), std::nullopt), {"f"}, "y")
            .output("y")
            .build());
    const RuleAssignment a = assign_rules(*g, "epsilon-plus");
    auto rule_of = [&](const std::string& node) {
        const auto& r = a.rules[static_cast<size_t>(g->node_index(node))];
        return r ? r->describe() : std::string("Gradient()");
    };
    CHECK(rule_of("act").rfind("Pass", 0) == 0);
    CHECK(rule_of("gate").rfind("Pass", 0) == 0);
    CHECK(rule_of("squeeze").rfind("Norm", 0) == 0);
    CHECK(rule_of("scale") == "Gradient()");
    CHECK(rule_of("channel_mean") == "Gradient()");
    CHECK(rule_of("flat") == "Gradient()");
    CHECK(rule_of("conv").rfind("ZPlus", 0) == 0);
    CHECK(rule_of("fc").rfind("Epsilon", 0) == 0);
    // The explanation runs through all of them and stays finite.
    auto backend = make_backend("cpu");
    Plan plan(g, a, *backend);
    Explainer ex(g, *backend);
    Tensor x = random_tensor({1, 2, 6, 6}, rng, 1.0f);
    const Explanation e = ex.explain(ex.forward(x), plan);
    double sum = 0.0;
    for (int64_t i = 0; i < e.relevance.numel(); ++i) {
        REQUIRE(std::isfinite(e.relevance[i]));
        sum += e.relevance[i];
    }
    CHECK(sum != 0.0);
}

TEST_CASE("a node whose category has no rule in the composite and no gradient default is an error at plan time") {
    // A linear-type op the composites do not name (here: a Transpose that says it is linear).
    class OddLinear final : public Op {
    public:
        OpType type() const override { return OpType::Transpose; }
        OpCategory category() const override { return OpCategory::Linear; }
        Shape infer_shape(const std::vector<Shape>& in) const override { return in.at(0); }
        Tensor forward(Backend&, const std::vector<Tensor>& in) const override { return in.at(0); }
        std::vector<Tensor> backward(Backend&, const std::vector<Tensor>&, const Tensor&, const Tensor& gy) const override {
            return {gy};
        }
    };
    auto g = std::make_shared<const Graph>(GraphBuilder()
                                               .input("x", {1, 4})
                                               .node("odd", std::make_shared<OddLinear>(), {"x"}, "y")
                                               .output("y")
                                               .build());
    CHECK_THROWS_WITH_AS(assign_rules(*g, "epsilon-plus"),
                         doctest::Contains("node 'odd' (Transpose): composite epsilon-plus has no rule for category "
                                           "linear (op Transpose)"),
                         Error);
    // An override gives it one.
    const RuleAssignment a = assign_rules(*g, "epsilon-plus", {}, {parse_override("odd=gradient")});
    CHECK(a.sources[0] == "override 'odd'");
}
