// relprop-demo: runs a forward pass and the gradient / gradient×input attribution on a small
// built-in residual CNN (conv, batchnorm, relu, maxpool, residual add, concat, avgpool, global
// average pool, flatten, linear) and prints the logits and an ASCII map of the attribution.
// Until the ONNX importer and the `relprop` CLI land, this is the main job that README runs.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <random>
#include <string>

#include "engine/attribution.h"
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

Graph demo_model() {
    std::mt19937 rng(7);
    PoolAttributes pool2;
    pool2.kernel = pool2.stride = {2, 2};
    Tensor ones({8}), zeros({8});
    for (int i = 0; i < 8; ++i) ones[i] = 1.0f + 0.1f * i;
    auto bn = std::make_shared<BatchNorm>(ones, random_tensor({8}, rng, 0.1f), random_tensor({8}, rng, 0.1f),
                                          Tensor({8}, std::vector<float>(8, 0.5f)), 1e-5f);
    return GraphBuilder()
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
        .build();
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

int main(int argc, char** argv) {
    std::string device = "cpu";
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
        } else {
            std::fprintf(stderr, "usage: relprop-demo [--device cpu|cuda|cuda:N|auto]\n");
            return 2;
        }
    }
    try {
        const Graph graph = demo_model();
        auto backend = make_backend(device);
        Executor executor(graph, *backend);
        const Tensor x = demo_input();
        const Attribution grad = gradient(executor, x);
        const Attribution gxi = gradient_x_input(executor, x, grad.targets);

        std::printf("relprop demo: built-in residual CNN, %zu nodes, input %s, backend %s\n", graph.nodes().size(),
                    shape_str(x.shape()).c_str(), backend->name().c_str());
        std::printf("logits:");
        for (int64_t i = 0; i < grad.output.numel(); ++i) std::printf(" %.5f", grad.output[i]);
        std::printf("\ntarget (argmax): %lld\n", static_cast<long long>(grad.targets[0]));
        double sum = 0.0, abs_sum = 0.0;
        for (int64_t i = 0; i < gxi.attribution.numel(); ++i) {
            sum += gxi.attribution[i];
            abs_sum += std::abs(gxi.attribution[i]);
        }
        std::printf("gradient x input: sum %.6f, sum of |.| %.6f\n", sum, abs_sum);
        std::printf("gradient x input summed over channels ('-' marks negative):\n");
        print_map(gxi.attribution);
        return 0;
    } catch (const Error& e) {
        std::fprintf(stderr, "relprop-demo: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "relprop-demo: internal error: %s\n", e.what());
        return 3;
    }
}
