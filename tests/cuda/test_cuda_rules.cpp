// Every rule on a small random network (tests/rule_test_net.h: conv with groups, max/avg pooling, a
// residual add, a concat, batchnorm, linear layers): the relevance on the GPU against the CPU's, at the
// input and at every value, relative L2 ≤ 1e-4 — or, where the explanation is ill-conditioned in
// float32 (Epsilon's default stabilizer 1e-6 divides by pre-activations near zero), ≤ 2× the CPU's own
// noise floor (its change under one-ulp input perturbations; tests/rule_test_net.h). The rules have no
// GPU code: they run the ops and the backend's elementwise kernels.
#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/composite.h"
#include "rules/explainer.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/rule_test_net.h"

using namespace relprop;
using namespace relprop::cuda_test;

TEST_CASE("cuda rules: every rule on a small network, GPU vs CPU") {
    Backends b;
    const auto graph = test::rule_test_net();
    const Tensor x = test::rule_test_input();
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
        const test::NoiseFloor floor = test::float32_noise_floor(cpu, pc, x, ec);
        const double err = relative_l2(ec.relevance, eg.relevance);
        INFO("input relevance: relative L2 " << err << ", CPU float32 noise floor " << floor.input);
        CHECK(err <= std::max(kTolerance, 2.0 * floor.input));
        std::printf("cuda rules: %-60s GPU vs CPU %.2e, CPU noise floor %.2e\n", label.c_str(), err, floor.input);
        worst = std::max(worst, err);
        // The relevance at every value of the graph, too.
        for (size_t v = 0; v < ec.at_value.size(); ++v) {
            REQUIRE(ec.at_value[v].defined() == eg.at_value[v].defined());
            if (!ec.at_value[v].defined()) continue;
            CAPTURE(graph->values()[v].name);
            CHECK(relative_l2(ec.at_value[v], eg.at_value[v]) <= std::max(kTolerance, 2.0 * floor.at_value[v]));
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
