// The network of the CUDA rule test (tests/cuda/test_cuda_rules.cpp: every rule, GPU vs CPU) — a
// conv with groups, max and average pooling, a residual add, a concat, batchnorm and linear layers —
// and the float32 noise floor of an explanation, which the CPU suite measures on it too
// (tests/test_noise_floor.cpp).
//
// Why a noise floor: rules with a tiny stabilizer (Epsilon's default 1e-6) divide the relevance by
// pre-activations z; where some z is near zero, rounding alone moves the result by far more than 1e-4
// (1.4e-3 relative L2 on this network). Two correct float32 implementations — the CPU's and the GPU's,
// which sum in other orders — then differ by as much. The floor is measured, not assumed: the CPU's
// own explanation with every input value moved by one ulp in a random direction.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
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
#include "rules/explainer.h"
#include "tests/seeded_tensor.h"

namespace relprop::test {

inline std::shared_ptr<const Conv> rule_test_conv(int64_t in, int64_t out, int64_t k, int64_t pad, int64_t groups, uint32_t seed) {
    ConvGeometry g;
    g.pad_begin = {pad, pad};
    g.pad_end = {pad, pad};
    g.groups = groups;
    return std::make_shared<Conv>(seeded_tensor({out, in / groups, k, k}, seed, -0.5f, 0.5f),
                                  seeded_tensor({out}, seed + 1, -0.1f, 0.1f), g);
}

inline PoolAttributes rule_test_pool2() {
    PoolAttributes a;
    a.kernel = {2, 2};
    a.stride = {2, 2};
    return a;
}

inline std::shared_ptr<const Graph> rule_test_net() {
    const int64_t c = 10;
    GraphBuilder b;
    b.input("x", {-1, 3, 12, 12});
    b.node("conv1", rule_test_conv(3, 6, 3, 1, 1, 11), {"x"}, "c1");
    b.node("relu1", std::make_shared<Relu>(), {"c1"}, "r1");
    b.node("pool1", std::make_shared<MaxPool>(rule_test_pool2()), {"r1"}, "p1");
    b.node("conv2", rule_test_conv(6, 6, 3, 1, 2, 21), {"p1"}, "c2");
    b.node("relu2", std::make_shared<Relu>(), {"c2"}, "r2");
    b.node("add", std::make_shared<Add>(), {"r2", "p1"}, "a");
    b.node("conv3", rule_test_conv(6, 4, 1, 0, 1, 31), {"a"}, "c3");
    b.node("concat", std::make_shared<Concat>(1), {"c3", "a"}, "cat");
    b.node("bn",
           std::make_shared<BatchNorm>(seeded_tensor({c}, 41, 0.5f, 1.5f), seeded_tensor({c}, 42),
                                       seeded_tensor({c}, 43), seeded_tensor({c}, 44, 0.5f, 2.0f), 1e-5f),
           {"cat"}, "b");
    b.node("relu3", std::make_shared<Relu>(), {"b"}, "r3");
    b.node("pool2", std::make_shared<AvgPool>(rule_test_pool2(), false), {"r3"}, "p2");
    b.node("flatten", std::make_shared<Flatten>(1), {"p2"}, "f");
    b.node("fc1", std::make_shared<Linear>(seeded_tensor({16, 90}, 51, -0.2f, 0.2f), seeded_tensor({16}, 52)), {"f"},
           "l1");
    b.node("relu4", std::make_shared<Relu>(), {"l1"}, "r4");
    b.node("fc2", std::make_shared<Linear>(seeded_tensor({5, 16}, 61, -0.5f, 0.5f), seeded_tensor({5}, 62)), {"r4"},
           "y");
    b.output("y");
    return std::make_shared<const Graph>(b.build());
}

inline Tensor rule_test_input() { return seeded_tensor({4, 3, 12, 12}, 77); }

struct NoiseFloor {
    double input = 0.0;             // relevance at the input
    std::vector<double> at_value;   // relevance at every value of the graph (0 where not kept)
};

// The worst relative L2 change of `reference` (an explanation of `x` with relevance kept at every value)
// over `trials` inputs with every value of x moved by one ulp up or down at random, explained by
// `explainer` with `plan` for the same targets.
inline NoiseFloor float32_noise_floor(const Explainer& explainer, const Plan& plan, const Tensor& x,
                                      const Explanation& reference, int trials = 16) {
    NoiseFloor floor;
    floor.at_value.assign(reference.at_value.size(), 0.0);
    for (int t = 0; t < trials; ++t) {
        Tensor moved = x.clone();
        std::mt19937 rng(1000 + t);
        for (int64_t i = 0; i < moved.numel(); ++i)
            moved[i] = std::nextafter(moved[i], (rng() & 1) ? INFINITY : -INFINITY);
        const Explanation e =
            explainer.explain(explainer.forward(moved), plan, reference.targets, RelevanceInit::OneHot, true);
        floor.input = std::max(floor.input, relative_l2(reference.relevance, e.relevance));
        for (size_t v = 0; v < reference.at_value.size(); ++v)
            if (reference.at_value[v].defined() && e.at_value[v].defined())
                floor.at_value[v] = std::max(floor.at_value[v], relative_l2(reference.at_value[v], e.at_value[v]));
    }
    return floor;
}

}  // namespace relprop::test
