// Every rule on a small random network (conv with groups, max/avg pooling, a residual add, a concat,
// batchnorm, linear layers): the input relevance on the GPU against the CPU's, relative L2 ≤ 1e-4.
// The rules have no GPU code: they run the ops and the backend's elementwise kernels.
#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "layers/add.h"
#include "layers/avgpool.h"
#include "layers/batchnorm.h"
#include "layers/concat.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/maxpool.h"
#include "layers/relu.h"
#include "layers/reshape.h"
#include "rules/composite.h"
#include "rules/explainer.h"
#include "tests/cuda/cuda_test_util.h"

using namespace relprop;
using namespace relprop::cuda_test;

namespace {

std::shared_ptr<const Conv> conv(int64_t in, int64_t out, int64_t k, int64_t pad, int64_t groups, uint32_t seed) {
    ConvGeometry g;
    g.pad_begin = {pad, pad};
    g.pad_end = {pad, pad};
    g.groups = groups;
    return std::make_shared<Conv>(random_tensor({out, in / groups, k, k}, seed, -0.5f, 0.5f),
                                  random_tensor({out}, seed + 1, -0.1f, 0.1f), g);
}

PoolAttributes pool2() {
    PoolAttributes a;
    a.kernel = {2, 2};
    a.stride = {2, 2};
    return a;
}

std::shared_ptr<const Graph> small_net() {
    const int64_t c = 10;
    GraphBuilder b;
    b.input("x", {-1, 3, 12, 12});
    b.node("conv1", conv(3, 6, 3, 1, 1, 11), {"x"}, "c1");
    b.node("relu1", std::make_shared<Relu>(), {"c1"}, "r1");
    b.node("pool1", std::make_shared<MaxPool>(pool2()), {"r1"}, "p1");
    b.node("conv2", conv(6, 6, 3, 1, 2, 21), {"p1"}, "c2");
    b.node("relu2", std::make_shared<Relu>(), {"c2"}, "r2");
    b.node("add", std::make_shared<Add>(), {"r2", "p1"}, "a");
    b.node("conv3", conv(6, 4, 1, 0, 1, 31), {"a"}, "c3");
    b.node("concat", std::make_shared<Concat>(1), {"c3", "a"}, "cat");
    b.node("bn",
           std::make_shared<BatchNorm>(random_tensor({c}, 41, 0.5f, 1.5f), random_tensor({c}, 42),
                                       random_tensor({c}, 43), random_tensor({c}, 44, 0.5f, 2.0f), 1e-5f),
           {"cat"}, "b");
    b.node("relu3", std::make_shared<Relu>(), {"b"}, "r3");
    b.node("pool2", std::make_shared<AvgPool>(pool2(), false), {"r3"}, "p2");
    b.node("flatten", std::make_shared<Flatten>(1), {"p2"}, "f");
    b.node("fc1", std::make_shared<Linear>(random_tensor({16, 90}, 51, -0.2f, 0.2f), random_tensor({16}, 52)), {"f"},
           "l1");
    b.node("relu4", std::make_shared<Relu>(), {"l1"}, "r4");
    b.node("fc2", std::make_shared<Linear>(random_tensor({5, 16}, 61, -0.5f, 0.5f), random_tensor({5}, 62)), {"r4"},
           "y");
    b.output("y");
    return std::make_shared<const Graph>(b.build());
}

}  // namespace

TEST_CASE("cuda rules: every rule on a small network, GPU vs CPU") {
    Backends b;
    const auto graph = small_net();
    const Tensor x = random_tensor({4, 3, 12, 12}, 77);
    Explainer cpu(graph, *b.cpu), gpu(graph, *b.gpu);
    const Recording rc = cpu.forward(x), rg = gpu.forward(x);
    CHECK(relative_error(rc.output, rg.output) <= kTolerance);

    struct Case {
        std::vector<std::string> overrides;
    };
    const std::vector<Case> cases{
        {{"Conv=epsilon", "Linear=epsilon"}},
        {{"Conv=epsilon:0.25", "Linear=epsilon:0.25,zero_bias"}},
        {{"Conv=zplus", "Linear=zplus"}},
        {{"Conv=alpha-beta:2,1", "Linear=alpha-beta:2,1"}},
        {{"Conv=alpha-beta:1,0", "Linear=alpha-beta:1,0"}},
        {{"Conv=gamma", "Linear=gamma:0.5,zero_bias"}},
        {{"Conv=zbox:-1,1", "Linear=epsilon"}},
        {{"first=zbox:-1/-0.5/-2,1/0.5/2", "Conv=zplus"}},  // per-channel bounds
        {{"Conv=flat", "Linear=flat"}},
        {{"Conv=wsquare", "Linear=wsquare"}},
        {{"AvgPool=norm", "Add=norm", "Conv=epsilon"}},
        {{"Add=select:skip", "Conv=zplus"}},
        {{"Add=select:residual", "Conv=gamma"}},
        {{"Relu=pass", "BatchNorm=pass", "Conv=gradient", "Linear=gradient", "AvgPool=gradient", "Add=gradient"}},
    };
    double worst = 0.0;
    for (const Case& c : cases) {
        std::vector<RuleOverride> overrides;
        std::string label;
        for (const std::string& o : c.overrides) {
            overrides.push_back(parse_override(o));
            label += o + " ";
        }
        CAPTURE(label);
        const RuleAssignment rules = assign_rules(*graph, "epsilon-plus", {}, overrides);
        Plan pc(graph, rules, *b.cpu), pg(graph, rules, *b.gpu);
        const Explanation ec = cpu.explain(rc, pc, {}, RelevanceInit::OneHot, true);
        const Explanation eg = gpu.explain(rg, pg, {}, RelevanceInit::OneHot, true);
        CHECK(ec.targets == eg.targets);
        REQUIRE(all_finite(eg.relevance));
        const double err = relative_l2(ec.relevance, eg.relevance);
        INFO("input relevance: relative L2 " << err);
        CHECK(err <= kTolerance);
        worst = std::max(worst, err);
        // The relevance at every value of the graph, too.
        for (size_t v = 0; v < ec.at_value.size(); ++v) {
            REQUIRE(ec.at_value[v].defined() == eg.at_value[v].defined());
            if (!ec.at_value[v].defined()) continue;
            CAPTURE(graph->values()[v].name);
            CHECK(relative_l2(ec.at_value[v], eg.at_value[v]) <= kTolerance);
        }
    }
    // The gradient, and one-hot × logit initialization.
    const Explanation gc = cpu.gradient(rc, {1, 2, 3, 4}), gg = gpu.gradient(rg, {1, 2, 3, 4});
    CHECK(relative_l2(gc.relevance, gg.relevance) <= kTolerance);
    const RuleAssignment rules = assign_rules(*graph, "epsilon-plus-flat");
    Plan pc(graph, rules, *b.cpu), pg(graph, rules, *b.gpu);
    const Explanation lc = cpu.explain(rc, pc, {}, RelevanceInit::OneHotLogit);
    const Explanation lg = gpu.explain(rg, pg, {}, RelevanceInit::OneHotLogit);
    CHECK(relative_l2(lc.relevance, lg.relevance) <= kTolerance);
    std::printf("cuda rules: worst input-relevance relative L2 over %zu rule sets: %.2e\n", cases.size(), worst);
}
