// Whole models: every committed ONNX fixture (tests/fixtures/onnx/MANIFEST), canonized as the command
// line does, under every composite and the gradient: input relevance on the GPU against the CPU's,
// relative L2 ≤ 1e-4; and no device memory growth over 100 repeated explanations.
#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "canonize/pipeline.h"
#include "relprop/error.hpp"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "rules/composite.h"
#include "rules/explainer.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/fixtures.h"

using namespace relprop;
using namespace relprop::cuda_test;
using relprop::test::fixture_path;
using relprop::test::onnx_fixture_names;

namespace {

std::shared_ptr<const Graph> load_canonized(const std::string& name) {
    const OnnxModel model = load_onnx(fixture_path("onnx/" + name + ".onnx"));
    return std::make_shared<const Graph>(canonize(model.graph, "auto").graph);
}

CompositeOptions box_options() {
    CompositeOptions o;
    o.low = {-3.0f};
    o.high = {3.0f};
    return o;
}

}  // namespace

TEST_CASE("cuda models: every fixture under every composite, GPU vs CPU") {
    Backends b;
    const std::vector<std::string> names = onnx_fixture_names();
    REQUIRE(!names.empty());
    int compared = 0, refused = 0;
    double worst = 0.0;
    std::string worst_at;
    for (const std::string& name : names) {
        CAPTURE(name);
        const auto graph = load_canonized(name);
        const Tensor x = read_npy(fixture_path("onnx/" + name + ".input.npy"));
        Explainer cpu(graph, *b.cpu), gpu(graph, *b.gpu);
        const Recording rc = cpu.forward(x), rg = gpu.forward(x);
        CHECK(relative_error(rc.output, rg.output) <= kTolerance);

        const Explanation gc = cpu.gradient(rc), gg = gpu.gradient(rg);
        CHECK(relative_l2(gc.relevance, gg.relevance) <= kTolerance);

        for (const std::string& composite : composite_names()) {
            CAPTURE(composite);
            RuleAssignment rules;
            try {
                rules = assign_rules(*graph, composite, box_options());
            } catch (const Error&) {  // e.g. no layer for the composite's first-layer rule: not a GPU matter
                ++refused;
                continue;
            }
            Plan pc(graph, rules, *b.cpu), pg(graph, rules, *b.gpu);
            const Explanation ec = cpu.explain(rc, pc), eg = gpu.explain(rg, pg);
            CHECK(ec.targets == eg.targets);
            CHECK(all_finite(eg.relevance));
            const double err = relative_l2(ec.relevance, eg.relevance);
            INFO("input relevance: relative L2 " << err);
            CHECK(err <= kTolerance);
            if (err > worst) {
                worst = err;
                worst_at = name + " / " + composite;
            }
            ++compared;
        }
    }
    std::printf("cuda models: %d fixture/composite pairs compared (%d refused by both), worst relative L2 %.2e (%s)\n",
                compared, refused, worst, worst_at.c_str());
    CHECK(compared >= static_cast<int>(names.size()));
}

TEST_CASE("cuda models: no device memory growth over 100 repeated explanations") {
    for (const std::string name : {"tiny_densenet", "tiny_resnet", "tiny_pad"}) {
        CAPTURE(name);
        auto gpu_backend = make_backend("cuda");
        const auto graph = load_canonized(name);
        const Tensor x = read_npy(fixture_path("onnx/" + name + ".input.npy"));
        Explainer explainer(graph, *gpu_backend);
        Plan plan(graph, assign_rules(*graph, "epsilon-gamma-box", box_options()), *gpu_backend);
        Tensor first;
        for (int i = 0; i < 2; ++i) first = explainer.explain(explainer.forward(x), plan).relevance;  // warm up
        const double before = device_used_mib();
        Tensor last;
        for (int i = 0; i < 100; ++i) last = explainer.explain(explainer.forward(x), plan).relevance;
        const double grown = device_used_mib() - before;
        std::printf("cuda models: %s: device memory in use grew by %.1f MiB over 100 explanations\n", name.c_str(), grown);
        CHECK(grown <= 2.0);
        CHECK(relative_error(first, last) <= 1e-6);  // and the results stay the same
    }
}
