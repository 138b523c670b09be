// ReLU/ReLU6/max-pool decisions that relprop's float32 forward takes differently from a float64 reference, on the
// keras.applications exports (`NAME_nchw_op13.onnx`, canonized with "auto" as relprop runs it, and as imported),
// with the float64 references of `tools/keras_flip_references.py DIR` in DIR/flips/NAME/ (DIR =
// $RELPROP_KERAS_EXPORTS; each model is skipped when absent). Per input: relprop's flips, its input gradient against TensorFlow float64, and
// TensorFlow float32's own flips and gradient error (the float32 floor). On an input without flips relprop's
// gradient must be at that floor.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "relprop/error.hpp"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "rules/explainer.h"
#include "tests/integration/decision_flips.h"
#include "tests/integration/keras_exports.h"
#include "tests/seeded_tensor.h"

using namespace relprop;
using relprop::test::relative_l2;
using relprop::test::count_flips;
using relprop::test::Decision;
using relprop::test::parse_decision;

namespace {

namespace fs = std::filesystem;

/// tf2onnx names a node MODEL_1/LAYER_1/OP: the Keras layer is the second part without its call suffix.
std::string keras_layer(const std::string& node_name) {
    const size_t a = node_name.find('/');
    const size_t b = a == std::string::npos ? a : node_name.find('/', a + 1);
    if (b == std::string::npos) return {};
    std::string layer = node_name.substr(a + 1, b - a - 1);
    const size_t u = layer.rfind('_');
    if (u != std::string::npos && u + 1 < layer.size() &&
        layer.find_first_not_of("0123456789", u + 1) == std::string::npos)
        layer.resize(u);
    return layer;
}

std::map<std::string, Decision> read_manifest(const fs::path& path) {
    std::ifstream in(path);
    std::map<std::string, Decision> layers;
    std::string name, kind;
    while (in >> name >> kind) layers[name] = parse_decision(kind, path.string());
    return layers;
}

struct Tf32 {
    long flips = 0;
    double gradient = 0.0;
};

std::map<int, Tf32> read_tf32(const fs::path& path) {
    std::ifstream in(path);
    std::map<int, Tf32> out;
    int k = 0;
    Tf32 s;
    while (in >> k >> s.flips >> s.gradient) out[k] = s;
    return out;
}

struct InputResult {
    long flips = 0;
    double gradient = 0.0;  // relprop vs TensorFlow float64, relative L2
};

void check_model(const std::string& name, const fs::path& folder, const Graph& imported,
                 const std::string& canonize_spec) {
    const auto layers = read_manifest(folder / "MANIFEST");
    const auto tf32 = read_tf32(folder / "tf32.txt");
    auto backend = make_backend("cpu");
    auto graph = std::make_shared<const Graph>(canonize(imported, canonize_spec).graph);
    Explainer explainer(graph, *backend);

    // Decision nodes of the canonized graph by Keras layer (DenseNet's BatchNorm+ReLU became ChannelRelu: the
    // same decision, sign(s)·x + t/|s| > 0).
    std::vector<std::pair<int, std::string>> nodes;
    std::map<std::string, int> matched;
    for (size_t i = 0; i < graph->nodes().size(); ++i) {
        const Node& n = graph->nodes()[i];
        const std::string op = op_name(n.op->type());
        if (op != "Relu" && op != "ChannelRelu" && op != "Clip" && op != "MaxPool") continue;
        const std::string layer = keras_layer(n.name);
        INFO(n.name);
        REQUIRE_MESSAGE(layers.count(layer) == 1, "node " << n.name << " (" << op << ") has no float64 reference");
        ++matched[layer];
        nodes.emplace_back(static_cast<int>(i), layer);
    }
    CHECK(matched.size() == layers.size());  // every Keras decision layer is one node
    for (const auto& [layer, count] : matched) CHECK_MESSAGE(count == 1, layer << " is " << count << " nodes");

    std::vector<InputResult> results;
    for (int k = 0; fs::exists(folder / ("input_" + std::to_string(k) + ".npy")); ++k) {
        const std::string K = std::to_string(k);
        const Tensor x = read_npy((folder / ("input_" + K + ".npy")).string());
        const Tensor target = read_npy((folder / ("target_" + K + ".npy")).string());
        const Tensor grad64 = read_npy((folder / ("grad64_" + K + ".npy")).string());
        const Recording rec = explainer.forward(x);
        InputResult r;
        std::map<Decision, long> by_kind;
        std::string where;  // the layers that flipped
        for (const auto& [index, layer] : nodes) {
            const Node& n = graph->nodes()[index];
            const Tensor codes = read_npy((folder / ("codes_" + K + "_" + layer + ".npy")).string());
            const Decision kind = layers.at(layer);
            const long f = count_flips(kind, rec.activations[n.inputs[0]], rec.activations[n.output], codes, n.name);
            by_kind[kind] += f;
            r.flips += f;
            if (f > 0) where += " " + layer + (f > 1 ? " x" + std::to_string(f) : "");
        }
        const Explanation g = explainer.gradient(rec, {static_cast<int64_t>(target[0])});
        REQUIRE(g.relevance.shape() == grad64.shape());
        r.gradient = relative_l2(grad64, g.relevance);
        const Tf32 tf = tf32.count(k) ? tf32.at(k) : Tf32{-1, -1.0};
        std::printf("keras flips %-13s %-4s input %d: relprop %5ld flips (ReLU %ld, ReLU6 %ld, max-pool %ld), gradient vs "
                    "TF float64 %.1e | TF float32: %5ld flips, gradient %.1e%s%s\n",
                    name.c_str(), canonize_spec.c_str(), k, r.flips, by_kind[Decision::Relu], by_kind[Decision::Relu6],
                    by_kind[Decision::MaxPool], r.gradient, tf.flips, tf.gradient, where.empty() ? "" : "\n    flipped:",
                    where.c_str());
        results.push_back(r);
    }
    REQUIRE(!results.empty());
    long total = 0, flip_free = 0;
    double worst_free = 0.0, worst_flipped = 0.0, floor = 0.0;
    for (const auto& [k, tf] : tf32) floor = std::max(floor, tf.gradient);
    for (const InputResult& r : results) {
        total += r.flips;
        if (r.flips == 0) {
            ++flip_free;
            worst_free = std::max(worst_free, r.gradient);
        } else {
            worst_flipped = std::max(worst_flipped, r.gradient);
        }
    }
    std::printf("keras flips %-13s %-4s %zu inputs: %.1f flips per input, %ld without flips (worst gradient %.1e), with "
                "flips worst gradient %.1e; TF float32 vs float64 worst gradient %.1e\n",
                name.c_str(), canonize_spec.c_str(), results.size(), static_cast<double>(total) / results.size(),
                flip_free, worst_free, worst_flipped, floor);
    // Without a flipped decision the gradient is the same piecewise-linear function's: float32 rounding only.
    for (const InputResult& r : results)
        if (r.flips == 0) CHECK(r.gradient <= 1e-5);
}

std::vector<std::string> canonize_specs() {
    const char* env = std::getenv("RELPROP_KERAS_FLIPS_CANONIZE");
    std::vector<std::string> specs;
    std::stringstream in(env ? env : "auto;none");
    for (std::string spec; std::getline(in, spec, ';');)
        if (!spec.empty()) specs.push_back(spec);
    return specs;
}

}  // namespace

TEST_CASE("keras.applications: relprop's ReLU/max-pool flips against float64, gradient with and without them") {
    const fs::path dir = relprop::test::keras_exports_dir();
    int found = 0;
    for (const std::string name : {"mobilenet_v2", "resnet50", "densenet121", "vgg16"}) {
        const fs::path folder = dir / "flips" / name;
        const fs::path onnx = dir / (name + "_nchw_op13.onnx");
        if (!fs::exists(folder / "MANIFEST") || !fs::exists(onnx)) continue;
        ++found;
        INFO(name);
        const OnnxModel model = load_onnx(onnx.string());
        // Canonized as relprop runs it, and as imported (the canonization moves BatchNorm scales into weights:
        // other float32 rounding, so other flips; never another function). $RELPROP_KERAS_FLIPS_CANONIZE: other
        // pipelines, separated by ';' (e.g. "auto,-densenet;auto,-affine-to-batchnorm").
        for (const std::string& spec : canonize_specs()) check_model(name, folder, model.graph, spec);
    }
    if (found == 0) MESSAGE("no keras flip references in $RELPROP_KERAS_EXPORTS/flips: skipped");
}
