// relprop-demo: explains a small built-in residual CNN (conv, batchnorm, relu, maxpool, residual
// add, concat, avgpool, global average pool, flatten, linear) with LRP under a composite and with
// gradient × input, from one forward pass, and prints the logits and ASCII maps of both.
// Until the ONNX importer and the `relprop` CLI land, this is the main job that README runs.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <random>
#include <string>

#include "engine/backend.h"
#include "engine/error.h"
#include "engine/executor.h"
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

using namespace relprop;

namespace {

Tensor random_tensor(Shape shape, std::mt19937& rng, float scale) {
    Tensor t(std::move(shape));
    std::normal_distribution<float> dist(0.0f, scale);
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = dist(rng);
    return t;
}

std::shared_ptr<Conv> conv(int64_t in, int64_t out, int64_t k, int64_t pad, std::mt19937& rng) {
    ConvGeometry g;
    g.pad_begin = g.pad_end = {pad, pad};
    return std::make_shared<Conv>(random_tensor({out, in, k, k}, rng, std::sqrt(2.0f / (in * k * k))),
                                  random_tensor({out}, rng, 0.05f), g);
}

std::shared_ptr<const Graph> demo_model() {
    std::mt19937 rng(7);
    PoolAttributes pool2;
    pool2.kernel = pool2.stride = {2, 2};
    Tensor ones({8}), zeros({8});
    for (int i = 0; i < 8; ++i) ones[i] = 1.0f + 0.1f * i;
    auto bn = std::make_shared<BatchNorm>(ones, random_tensor({8}, rng, 0.1f), random_tensor({8}, rng, 0.1f),
                                          Tensor({8}, std::vector<float>(8, 0.5f)), 1e-5f);
    return std::make_shared<const Graph>(GraphBuilder()
        .input("image", {-1, 3, 16, 16})
        .node("conv1", conv(3, 8, 3, 1, rng), {"image"}, "c1")
        .node("bn1", bn, {"c1"}, "b1")
        .node("relu1", std::make_shared<Relu>(), {"b1"}, "r1")
        .node("pool1", std::make_shared<MaxPool>(pool2), {"r1"}, "p1")
        .node("block.conv", conv(8, 8, 3, 1, rng), {"p1"}, "bc")
        .node("block.relu", std::make_shared<Relu>(), {"bc"}, "br")
        .node("block.add", std::make_shared<Add>(), {"br", "p1"}, "sum")
        .node("block.out", std::make_shared<Relu>(), {"sum"}, "res")
        .node("side.conv", conv(8, 4, 1, 0, rng), {"p1"}, "side")
        .node("cat", std::make_shared<Concat>(1), {"res", "side"}, "cat")
        .node("pool2", std::make_shared<AvgPool>(pool2, false), {"cat"}, "p2")
        .node("gap", std::make_shared<GlobalAvgPool>(), {"p2"}, "g")
        .node("flatten", std::make_shared<Flatten>(1), {"g"}, "f")
        .node("fc", std::make_shared<Linear>(random_tensor({5, 12}, rng, 0.5f), random_tensor({5}, rng, 0.1f)),
              {"f"}, "logits")
        .output("logits")
        .build());
}

// A 16×16 image: a bright diagonal bar on a dark background, a different tint per channel.
Tensor demo_input() {
    Tensor x({1, 3, 16, 16});
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 16; ++i)
            for (int j = 0; j < 16; ++j)
                x[(c * 16 + i) * 16 + j] = (std::abs(i - j) < 3 ? 1.0f : -0.5f) * (1.0f - 0.2f * c);
    return x;
}

void print_map(const Tensor& attribution) {
    const char* ramp = " .:-=+*#%@";
    float peak = 0.0f;
    float map[16][16] = {};
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 16; ++i)
            for (int j = 0; j < 16; ++j) map[i][j] += attribution[(c * 16 + i) * 16 + j];
    for (auto& row : map)
        for (float v : row) peak = std::max(peak, std::abs(v));
    for (auto& row : map) {
        std::printf("    ");
        for (float v : row) {
            const int level = peak > 0 ? static_cast<int>(std::abs(v) / peak * 9.0f + 0.5f) : 0;
            std::printf("%c%c", v < 0 && level > 0 ? '-' : ' ', ramp[level]);
        }
        std::printf("\n");
    }
}

}  // namespace

double sum(const Tensor& t) {
    double total = 0.0;
    for (int64_t i = 0; i < t.numel(); ++i) total += t[i];
    return total;
}

int main(int argc, char** argv) {
    std::string device = "cpu", composite = "epsilon-plus-flat";
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
        } else if (std::strcmp(argv[i], "--composite") == 0 && i + 1 < argc) {
            composite = argv[++i];
        } else {
            std::fprintf(stderr, "usage: relprop-demo [--composite NAME] [--device cpu|cuda|cuda:N|auto]\n");
            return 2;
        }
    }
    try {
        const auto graph = demo_model();
        auto backend = make_backend(device);
        CompositeOptions options;
        options.low = {-0.5f};  // the demo input's range, for epsilon-gamma-box
        options.high = {1.0f};
        const RuleAssignment rules = assign_rules(*graph, composite, options);
        Plan plan(graph, rules, *backend);
        Explainer explainer(graph, *backend);

        const Tensor x = demo_input();
        const Recording rec = explainer.forward(x);
        const Explanation lrp = explainer.explain(rec, plan);
        Explanation gxi = explainer.gradient(rec, lrp.targets);
        for (int64_t i = 0; i < x.numel(); ++i) gxi.relevance[i] *= x[i];

        std::printf("relprop demo: built-in residual CNN, %zu nodes, input %s, backend %s\n", graph->nodes().size(),
                    shape_str(x.shape()).c_str(), backend->name().c_str());
        std::printf("rules (%s):\n%s", composite.c_str(), rule_listing(*graph, rules).c_str());
        std::printf("logits:");
        for (int64_t i = 0; i < rec.output.numel(); ++i) std::printf(" %.5f", rec.output[i]);
        std::printf("\ntarget (argmax): %lld\n", static_cast<long long>(lrp.targets[0]));
        std::printf("LRP relevance: sum %.6f (output relevance 1)\n", sum(lrp.relevance));
        print_map(lrp.relevance);
        std::printf("gradient x input: sum %.6f\n", sum(gxi.relevance));
        print_map(gxi.relevance);
        return 0;
    } catch (const Error& e) {
        std::fprintf(stderr, "relprop-demo: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "relprop-demo: internal error: %s\n", e.what());
        return 3;
    }
}
