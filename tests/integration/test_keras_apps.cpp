// The keras.applications models (random weights, randomized BatchNorm statistics) exported with tf2onnx by
// `tools/make_keras_fixtures.py --full DIR` (not committed): NAME_{nhwc,nchw}_op{13,17}.onnx with input,
// onnxruntime output and TensorFlow gradient, in $RELPROP_KERAS_EXPORTS (each file skipped when absent).
// Import, forward vs onnxruntime ≤ 1e-4, canonized to Conv/Linear with the BatchNorms merged and only the input's
// Transpose left, gradient vs TensorFlow printed (finite; its size is the README's figure: relprop's forward can
// take ReLU/max-pool decisions other than TensorFlow's, see issue 15's conv-accuracy part).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "engine/executor.h"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "rules/composite.h"
#include "rules/explainer.h"
#include "tests/fixtures.h"
#include "tests/integration/keras_exports.h"
#include "tests/seeded_tensor.h"

using namespace relprop;
using relprop::test::max_rel_error;
using relprop::test::relative_l2;

namespace {

std::string export_path(const std::string& stem, const std::string& suffix) {
    return relprop::test::keras_exports_dir() + "/" + stem + suffix;
}

void check_export(const std::string& stem, const std::string& model_name) {
    const OnnxModel model = load_onnx(export_path(stem, ".onnx"));
    const Tensor x = read_npy(export_path(stem, ".input.npy"));
    const Tensor want = read_npy(export_path(stem, ".output.npy"));
    const Tensor grad = read_npy(export_path(stem, ".grad.npy"));
    const Tensor target = read_npy(export_path(model_name, ".target.npy"));
    auto backend = make_backend("cpu");
    const CanonizeResult canon = canonize(model.graph, "auto");
    std::map<std::string, int> ops;
    for (const Node& n : canon.graph.nodes()) ++ops[op_name(n.op->type())];
    std::string op_list;
    for (const auto& [op, count] : ops) op_list += " " + op + "x" + std::to_string(count);
    auto graph = std::make_shared<const Graph>(canon.graph);
    Explainer explainer(graph, *backend);
    const Recording rec = explainer.forward(x);
    const double forward = max_rel_error(rec.output, want);
    const Explanation g = explainer.gradient(rec, {static_cast<int64_t>(target[0])});
    REQUIRE(g.relevance.shape() == grad.shape());
    const double gradient = relative_l2(grad, g.relevance);
    // The same on the graph as imported (canonization moves scales between layers: other rounding).
    auto imported = std::make_shared<const Graph>(model.graph);
    Explainer plain(imported, *backend);
    const double gradient_none =
        relative_l2(grad, plain.gradient(plain.forward(x), {static_cast<int64_t>(target[0])}).relevance);
    std::printf("keras %-22s %4zu nodes imported, %4zu canonized:%s\n  forward vs onnxruntime %.1e (max relative), "
                "gradient vs TensorFlow %.1e (relative L2; %.1e on the graph as imported)\n",
                stem.c_str(), model.graph.nodes().size(), graph->nodes().size(), op_list.c_str(), forward, gradient,
                gradient_none);
    CHECK(forward <= 1e-4);
    CHECK(ops.count("BatchNorm") == 0);
    CHECK(ops.count("Mul") == 0);
    CHECK(ops["Transpose"] == (stem.find("nhwc") != std::string::npos ? 1 : 0));
    CHECK(std::isfinite(gradient));
    CHECK(std::isfinite(gradient_none));
}

// check(stem, name) for each NAME_{nhwc,nchw}_op{13,17} export present; how many there were.
template <class Check>
int for_each_export(std::initializer_list<const char*> names, Check check) {
    int found = 0;
    for (const std::string name : names)
        for (const std::string layout : {"nhwc", "nchw"})
            for (const std::string opset : {"op13", "op17"}) {
                const std::string stem = name + "_" + layout + "_" + opset;
                if (!std::filesystem::exists(export_path(stem, ".onnx"))) continue;
                ++found;
                INFO(stem);
                check(stem, name);
            }
    return found;
}

}  // namespace

TEST_CASE("keras.applications exports: import, forward, canonization, gradient (skipped when absent)") {
    if (for_each_export({"mobilenet_v2", "resnet50", "densenet121", "vgg16"}, check_export) == 0)
        MESSAGE("no keras.applications exports in $RELPROP_KERAS_EXPORTS: skipped");
}

// The sweep of the other models (`--full DIR --full-models NAME --batch 2`; README, "Models from Keras"): import,
// forward vs onnxruntime as imported and after auto, TensorFlow's gradient (printed) and a finite
// epsilon-plus-flat relevance. Their canonized graphs keep what the README's table lists (BatchNorms, Mul gates).
TEST_CASE("keras.applications sweep exports: import, forward, finite relevance (skipped when absent)") {
    const auto check = [](const std::string& stem, const std::string& name) {
        const OnnxModel model = load_onnx(export_path(stem, ".onnx"));
        const Tensor x = read_npy(export_path(stem, ".input.npy"));
        const Tensor want = read_npy(export_path(stem, ".output.npy"));
        const Tensor grad = read_npy(export_path(stem, ".grad.npy"));
        const Tensor t = read_npy(export_path(name, ".target.npy"));
        std::vector<int64_t> targets;
        for (int64_t i = 0; i < t.numel(); ++i) targets.push_back(static_cast<int64_t>(t[i]));
        auto backend = make_backend("cpu");
        for (const std::string spec : {"none", "auto"}) {
            auto graph = std::make_shared<const Graph>(canonize(model.graph, spec).graph);
            Explainer explainer(graph, *backend);
            const Recording rec = explainer.forward(x);
            const double forward = max_rel_error(rec.output, want);
            const double gradient = relative_l2(grad, explainer.gradient(rec, targets).relevance);
            const Plan plan(graph, assign_rules(*graph, "epsilon-plus-flat"), *backend);
            const Explanation e = explainer.explain(rec, plan, targets);
            bool finite = true;
            for (int64_t k = 0; k < e.relevance.numel(); ++k) finite = finite && std::isfinite(e.relevance[k]);
            std::printf("keras %-28s canonize %-4s %4zu nodes: forward vs onnxruntime %.1e, gradient vs "
                        "TensorFlow %.1e\n", stem.c_str(), spec.c_str(), graph->nodes().size(), forward, gradient);
            CHECK(forward <= 1e-4);
            CHECK(std::isfinite(gradient));
            CHECK(finite);
        }
    };
    if (for_each_export({"efficientnet_b0", "efficientnet_v2_b0", "resnet50_v2", "xception", "inception_v3",
                         "nasnet_mobile", "mobilenet_v3_small"},
                        check) == 0)
        MESSAGE("no keras.applications sweep exports in $RELPROP_KERAS_EXPORTS: skipped");
}
