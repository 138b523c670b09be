// Full torchvision models (random weights, randomized BatchNorm statistics) imported from ONNX must
// reproduce PyTorch's logits.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/backend.h"
#include "engine/executor.h"
#include "io/npy.h"
#include "canonize/pipeline.h"
#include "io/onnx_import.h"
#include "rules/composite.h"
#include "rules/explainer.h"
#include "tests/integration/full_models.h"

using namespace relprop;
using relprop::test::full_model_path;

namespace {

void check_model(const std::string& name) {
    const auto t0 = std::chrono::steady_clock::now();
    const OnnxModel model = load_onnx(full_model_path(name, ".onnx"));
    const Tensor x = read_npy(full_model_path(name, ".input.npy"));
    const Tensor want = read_npy(full_model_path(name, ".output.npy"));
    auto backend = make_backend("cpu");
    Executor ex(model.graph, *backend);
    const auto t1 = std::chrono::steady_clock::now();
    const Tensor got = ex.forward({x}).output();
    const auto t2 = std::chrono::steady_clock::now();
    REQUIRE(got.shape() == want.shape());
    double err = 0.0, scale = 0.0;
    for (int64_t i = 0; i < want.numel(); ++i) {
        err = std::max(err, std::abs(static_cast<double>(got[i]) - want[i]));
        scale = std::max(scale, std::abs(static_cast<double>(want[i])));
    }
    std::printf("torchvision %-12s %4zu nodes, import %.2f s, forward %.3f s, max abs error %.2e, max rel error %.2e\n",
                name.c_str(), model.graph.nodes().size(), std::chrono::duration<double>(t1 - t0).count(),
                std::chrono::duration<double>(t2 - t1).count(), err, err / scale);
    CHECK(err / scale <= 1e-5);

    // Canonization keeps the forward function; LRP with every composite runs on the canonized real
    // architecture and gives finite relevance.
    const CanonizeResult canon = canonize(model.graph, "auto");
    auto graph = std::make_shared<const Graph>(canon.graph);
    const Tensor canon_out = Executor(*graph, *backend).forward({x}).output();
    double cerr = 0.0;
    for (int64_t i = 0; i < want.numel(); ++i) cerr = std::max(cerr, std::abs(static_cast<double>(canon_out[i]) - want[i]));
    std::printf("  canonized (%zu changes, %zu nodes): max rel error %.2e\n", canon.changes.size(), graph->nodes().size(),
                cerr / scale);
    CHECK(cerr / scale <= 1e-5);
    Explainer explainer(graph, *backend);
    const Recording rec = explainer.forward(x);
    CompositeOptions box;
    box.low = {-3.0f};
    box.high = {3.0f};
    for (const std::string& composite : composite_names()) {
        const auto t3 = std::chrono::steady_clock::now();
        Plan plan(graph, assign_rules(*graph, composite, box), *backend);
        const Explanation e = explainer.explain(rec, plan);
        const auto t4 = std::chrono::steady_clock::now();
        double sum = 0.0;
        int64_t bad = 0;
        for (int64_t i = 0; i < e.relevance.numel(); ++i) {
            sum += e.relevance[i];
            bad += !std::isfinite(e.relevance[i]);
        }
        std::printf("  %-26s plan+reverse %.3f s, relevance sum %.4f\n", composite.c_str(),
                    std::chrono::duration<double>(t4 - t3).count(), sum);
        CHECK(bad == 0);
    }
}

}  // namespace

TEST_CASE("torchvision vgg16") { check_model("vgg16"); }
TEST_CASE("torchvision resnet18") { check_model("resnet18"); }
TEST_CASE("torchvision resnet50") { check_model("resnet50"); }
TEST_CASE("torchvision densenet121") { check_model("densenet121"); }
