// Keras models exported with tf2onnx (tests/fixtures/keras, made by tools/make_keras_fixtures.py from
// TensorFlow/Keras): they import with tf2onnx's node names, run as onnxruntime runs them, give TensorFlow's
// gradient, canonize to the layers of their PyTorch twin (Conv, ReLU6/ReLU, MaxPool, Flatten, Linear: the
// BatchNorms written as Mul/Add merged, the Transposes gone but the input's), and the NHWC export's relevance is
// the NCHW export's transposed.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "engine/executor.h"
#include "relprop/heatmap.hpp"
#include "relprop/image.hpp"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "layers/avgpool.h"
#include "layers/binary.h"
#include "layers/concat.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/op_registry.h"
#include "layers/relu.h"
#include "layers/reshape.h"
#include "layers/transpose.h"
#include "rules/composite.h"
#include "rules/explainer.h"
#include "tests/cli_run.h"
#include "tests/fixtures.h"
#include "tests/seeded_tensor.h"

using namespace relprop;
using relprop::test::fixture_path;
using relprop::test::max_rel_error;
using relprop::test::relative_l2;

namespace {

std::vector<std::string> keras_fixtures() {
    std::ifstream in(fixture_path("keras/MANIFEST"));
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) names.push_back(line.substr(0, line.find('\t')));
    return names;
}

std::string path(const std::string& name, const std::string& what) { return fixture_path("keras/" + name + what); }

std::vector<int64_t> targets() {
    const Tensor t = read_npy(fixture_path("keras/target.npy"));
    std::vector<int64_t> out;
    for (int64_t i = 0; i < t.numel(); ++i) out.push_back(static_cast<int64_t>(t[i]));
    return out;
}

std::map<std::string, int> op_counts(const Graph& g) {
    std::map<std::string, int> c;
    for (const Node& n : g.nodes()) ++c[op_name(n.op->type())];
    return c;
}

bool nhwc(const std::string& name) { return name.find("nhwc") != std::string::npos; }


Tensor random_tensor(Shape shape, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
    Tensor t(std::move(shape));
    std::uniform_real_distribution<float> d(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = d(rng);
    return t;
}

std::shared_ptr<Conv> conv3x3(int64_t in, int64_t out, std::mt19937& rng) {
    ConvGeometry g;
    g.pad_begin = g.pad_end = {1, 1};
    return std::make_shared<Conv>(random_tensor({out, in, 3, 3}, rng), random_tensor({out}, rng), g);
}

std::shared_ptr<Binary> by_constant(OpType type, Tensor c) {
    const BinaryKind kind = type == OpType::Mul ? BinaryKind::Mul : type == OpType::Sub ? BinaryKind::Sub : BinaryKind::Add;
    return std::make_shared<Binary>(type, kind, std::move(c), 1);
}

std::shared_ptr<Transpose> transpose(std::vector<int64_t> perm) { return std::make_shared<Transpose>(std::move(perm)); }

// The pass keeps the forward function (batch 2, random input) and leaves `want` op counts.
void check_pass(const Graph& g, const std::string& pass, const std::map<std::string, int>& want, std::mt19937& rng) {
    Shape xs = g.input_shapes()[0];
    xs[0] = 2;
    const Tensor x = random_tensor(xs, rng);
    auto backend = make_backend("cpu");
    const Tensor before = Executor(g, *backend).forward({x}).output().clone();
    const CanonizeResult c = canonize(g, pass);
    const Tensor after = Executor(c.graph, *backend).forward({x}).output().clone();
    REQUIRE(after.shape() == before.shape());
    CHECK(max_rel_error(after, before) <= 1e-6);
    CHECK(op_counts(c.graph) == want);
}

}  // namespace

TEST_CASE("cancel-transposes: each rewrite on a hand-built graph, forward unchanged") {
    std::mt19937 rng(5);
    // 1. NHWC input → per-channel Mul (last axis) → Relu → Transpose to NCHW → Conv: the Transpose reads the input.
    const Graph carried = GraphBuilder()
                              .input("x", {-1, 5, 6, 3})
                              .node("scale", by_constant(OpType::Mul, random_tensor({3}, rng)), {"x"}, "s")
                              .node("act", std::make_shared<Relu>(), {"s"}, "a")
                              .node("to_nchw", transpose({0, 3, 1, 2}), {"a"}, "t")
                              .node("conv", conv3x3(3, 4, rng), {"t"}, "y")
                              .output("y")
                              .build();
    check_pass(carried, "cancel-transposes", {{"Transpose", 1}, {"Mul", 1}, {"Relu", 1}, {"Conv", 1}}, rng);
    const Graph c = canonize(carried, "cancel-transposes").graph;
    CHECK(c.nodes()[0].name == "to_nchw");
    CHECK(c.nodes()[0].inputs[0] == c.inputs()[0]);
    CHECK(c.nodes()[1].name == "scale");
    CHECK(c.nodes()[1].op->params().at("constant").shape() == Shape{1, 3, 1, 1});

    // 2. A pair that cancels, and a pair that composes.
    const Graph pair = GraphBuilder()
                           .input("x", {-1, 3, 4, 5})
                           .node("conv", conv3x3(3, 4, rng), {"x"}, "c")
                           .node("nhwc", transpose({0, 2, 3, 1}), {"c"}, "t1")
                           .node("nchw", transpose({0, 3, 1, 2}), {"t1"}, "t2")
                           .node("relu", std::make_shared<Relu>(), {"t2"}, "r")
                           .node("a", transpose({0, 2, 3, 1}), {"r"}, "t3")
                           .node("b", transpose({0, 2, 1, 3}), {"t3"}, "y")
                           .output("y")
                           .build();
    check_pass(pair, "cancel-transposes", {{"Conv", 1}, {"Relu", 1}, {"Transpose", 1}}, rng);

    // 3 and 4. GlobalAveragePool → Transpose to NHWC [N,1,1,C] → Squeeze to [N,C] → Linear: a Flatten.
    const Graph gap = GraphBuilder()
                          .input("x", {-1, 3, 4, 5})
                          .node("conv", conv3x3(3, 4, rng), {"x"}, "c")
                          .node("gap", std::make_shared<GlobalAvgPool>(), {"c"}, "g")
                          .node("nhwc", transpose({0, 2, 3, 1}), {"g"}, "t")
                          .node("squeeze", std::make_shared<Reshape>(Shape{0, 4}), {"t"}, "s")
                          .node("fc", std::make_shared<Linear>(random_tensor({2, 4}, rng), random_tensor({2}, rng)), {"s"}, "y")
                          .output("y")
                          .build();
    check_pass(gap, "cancel-transposes", {{"Conv", 1}, {"GlobalAvgPool", 1}, {"Flatten", 1}, {"Linear", 1}}, rng);

    // 5. NCHW → NHWC Transpose → Flatten → Linear: folded into the Linear's weight.
    const Graph dense = GraphBuilder()
                            .input("x", {-1, 3, 4, 5})
                            .node("conv", conv3x3(3, 4, rng), {"x"}, "c")
                            .node("nhwc", transpose({0, 2, 3, 1}), {"c"}, "t")
                            .node("flatten", std::make_shared<Flatten>(1), {"t"}, "f")
                            .node("fc", std::make_shared<Linear>(random_tensor({3, 80}, rng), random_tensor({3}, rng)), {"f"}, "y")
                            .output("y")
                            .build();
    check_pass(dense, "cancel-transposes", {{"Conv", 1}, {"Flatten", 1}, {"Linear", 1}}, rng);
    // A Transpose whose output is also used elsewhere stays.
    const Graph shared = GraphBuilder()
                             .input("x", {-1, 3, 4, 5})
                             .node("nhwc", transpose({0, 2, 3, 1}), {"x"}, "t")
                             .node("flatten", std::make_shared<Flatten>(1), {"t"}, "f")
                             .node("fc", std::make_shared<Linear>(random_tensor({3, 60}, rng), std::nullopt), {"f"}, "l")
                             .node("relu", std::make_shared<Relu>(), {"t"}, "r")
                             .node("flat2", std::make_shared<Flatten>(1), {"r"}, "f2")
                             .node("fc2", std::make_shared<Linear>(random_tensor({3, 60}, rng), std::nullopt), {"f2"}, "l2")
                             .node("sum", std::make_shared<Binary>(OpType::Sub, BinaryKind::Sub), {"l", "l2"}, "y")
                             .output("y")
                             .build();
    check_pass(shared, "cancel-transposes",
               {{"Transpose", 1}, {"Flatten", 2}, {"Linear", 2}, {"Relu", 1}, {"Sub", 1}}, rng);
}

TEST_CASE("affine-to-batchnorm: a per-channel Mul and Add after a Conv or Linear is merged into it") {
    std::mt19937 rng(6);
    const Graph conv = GraphBuilder()
                           .input("x", {-1, 3, 4, 5})
                           .node("conv", conv3x3(3, 4, rng), {"x"}, "c")
                           .node("bn/mul", by_constant(OpType::Mul, random_tensor({1, 4, 1, 1}, rng)), {"c"}, "m")
                           .node("bn/add", by_constant(OpType::AddConstant, random_tensor({4, 1, 1}, rng)), {"m"}, "a")
                           .node("relu", std::make_shared<Relu>(), {"a"}, "y")
                           .output("y")
                           .build();
    check_pass(conv, "affine-to-batchnorm", {{"Conv", 1}, {"BatchNorm", 1}, {"Relu", 1}}, rng);
    check_pass(conv, "affine-to-batchnorm,merge-batchnorm", {{"Conv", 1}, {"Relu", 1}}, rng);
    // Dense: [N, F] with constants [F]; a Sub of a constant is an Add of its negation; a Mul alone a BatchNorm.
    const Graph dense = GraphBuilder()
                            .input("x", {-1, 6})
                            .node("fc", std::make_shared<Linear>(random_tensor({4, 6}, rng), std::nullopt), {"x"}, "l")
                            .node("bn/mul", by_constant(OpType::Mul, random_tensor({4}, rng)), {"l"}, "m")
                            .node("bn/sub", by_constant(OpType::Sub, random_tensor({1, 4}, rng)), {"m"}, "s")
                            .node("fc2", std::make_shared<Linear>(random_tensor({3, 4}, rng), std::nullopt), {"s"}, "l2")
                            .node("scale", by_constant(OpType::Mul, random_tensor({3}, rng)), {"l2"}, "y")
                            .output("y")
                            .build();
    check_pass(dense, "affine-to-batchnorm,merge-batchnorm", {{"Linear", 2}}, rng);
    // Not per channel (the constant varies along W): left as it is. Per channel after a ReLU (DenseNet's pooling
    // → BatchNorm in Keras): a BatchNorm, not merged; a scalar there is no BatchNorm.
    const Graph other = GraphBuilder()
                            .input("x", {-1, 3, 4, 5})
                            .node("conv", conv3x3(3, 4, rng), {"x"}, "c")
                            .node("mul_w", by_constant(OpType::Mul, random_tensor({1, 1, 1, 5}, rng)), {"c"}, "m")
                            .node("relu", std::make_shared<Relu>(), {"m"}, "r")
                            .node("mul_c", by_constant(OpType::Mul, random_tensor({4, 1, 1}, rng)), {"r"}, "b")
                            .node("half", by_constant(OpType::Mul, Tensor({1}, {0.5f})), {"b"}, "y")
                            .output("y")
                            .build();
    check_pass(other, "affine-to-batchnorm,merge-batchnorm", {{"Conv", 1}, {"Mul", 2}, {"Relu", 1}, {"BatchNorm", 1}},
               rng);
}

TEST_CASE("merge-batchnorm: a BatchNorm after a channel Concat of Convs is split into them (Keras NASNet)") {
    std::mt19937 rng(8);
    // NASNet's adjust block: two 1×1 convs on two paths, concatenated, then adjust_bn (tf2onnx: Mul, Add).
    const Graph nasnet = GraphBuilder()
                             .input("x", {-1, 3, 4, 5})
                             .node("conv_1", conv3x3(3, 2, rng), {"x"}, "c1")
                             .node("conv_2", conv3x3(3, 4, rng), {"x"}, "c2")
                             .node("concat", std::make_shared<Concat>(1), {"c1", "c2"}, "cat")
                             .node("bn/mul", by_constant(OpType::Mul, random_tensor({1, 6, 1, 1}, rng)), {"cat"}, "m")
                             .node("bn/add", by_constant(OpType::AddConstant, random_tensor({6, 1, 1}, rng)), {"m"}, "a")
                             .node("relu", std::make_shared<Relu>(), {"a"}, "y")
                             .output("y")
                             .build();
    check_pass(nasnet, "affine-to-batchnorm,merge-batchnorm", {{"Conv", 2}, {"Concat", 1}, {"Relu", 1}}, rng);
    // The Concat's output read twice, or one of its inputs not a Conv: the BatchNorm stays.
    const Graph other = GraphBuilder()
                            .input("x", {-1, 3, 4, 5})
                            .node("conv_1", conv3x3(3, 2, rng), {"x"}, "c1")
                            .node("relu", std::make_shared<Relu>(), {"x"}, "r")
                            .node("concat", std::make_shared<Concat>(1), {"c1", "r"}, "cat")
                            .node("bn/mul", by_constant(OpType::Mul, random_tensor({1, 5, 1, 1}, rng)), {"cat"}, "y")
                            .output("y")
                            .build();
    check_pass(other, "affine-to-batchnorm,merge-batchnorm", {{"Conv", 1}, {"Relu", 1}, {"Concat", 1}, {"BatchNorm", 1}},
               rng);
}

TEST_CASE("input-affine: Keras Rescaling/Normalization after the input become one BatchNorm (Pass)") {
    std::mt19937 rng(9);
    const auto div = [](Tensor c, int index) { return std::make_shared<Binary>(OpType::Div, BinaryKind::Div, std::move(c), index); };
    // EfficientNet's: x·(1/255), − mean (per channel), / std (per channel) before the stem Conv; NHWC: after the
    // input's Transpose.
    const Graph efficientnet = GraphBuilder()
                                   .input("x", {-1, 4, 5, 3})
                                   .node("to_nchw", transpose({0, 3, 1, 2}), {"x"}, "t")
                                   .node("rescaling/mul", by_constant(OpType::Mul, Tensor({1}, {1.0f / 255.0f})), {"t"}, "r")
                                   .node("normalization/sub", by_constant(OpType::Sub, random_tensor({1, 3, 1, 1}, rng)), {"r"}, "s")
                                   .node("normalization/truediv", div(random_tensor({3, 1, 1}, rng, 0.2f, 0.3f), 1), {"s"}, "n")
                                   .node("stem", conv3x3(3, 4, rng), {"n"}, "c")
                                   .node("relu", std::make_shared<Relu>(), {"c"}, "y")
                                   .output("y")
                                   .build();
    check_pass(efficientnet, "input-affine", {{"Transpose", 1}, {"BatchNorm", 1}, {"Conv", 1}, {"Relu", 1}}, rng);
    const CanonizeResult c = canonize(efficientnet, "auto");
    REQUIRE(c.graph.nodes().size() == 4);
    CHECK(c.graph.nodes()[1].name == "rescaling/mul");
    CHECK(c.changes.back() == "input-affine: input preprocessing Mul 'rescaling/mul', Sub 'normalization/sub', Div "
                              "'normalization/truediv' became BatchNorm 'rescaling/mul'");
    // The BatchNorm passes the stem's relevance on unchanged (the elementwise ops' gradient scaled it by 1/(255·σ)).
    const RuleAssignment rules = assign_rules(c.graph, "epsilon-plus-flat");
    CHECK(rules.rules[1]->describe() == "Pass()");
    // MobileNetV3's x·(1/127.5) + (−1), a constant minus the value, and a BatchNorm already made: all one map.
    const Graph mobilenet = GraphBuilder()
                                .input("x", {-1, 3, 4, 4})
                                .node("rescale", by_constant(OpType::Mul, Tensor({1}, {1.0f / 127.5f})), {"x"}, "r")
                                .node("offset", by_constant(OpType::AddConstant, Tensor({1}, {-1.0f})), {"r"}, "o")
                                .node("flip", std::make_shared<Binary>(OpType::Sub, BinaryKind::Sub, random_tensor({3, 1, 1}, rng), 0),
                                      {"o"}, "f")
                                .node("bn/mul", by_constant(OpType::Mul, random_tensor({1, 3, 1, 1}, rng)), {"f"}, "m")
                                .node("stem", conv3x3(3, 2, rng), {"m"}, "y")
                                .output("y")
                                .build();
    check_pass(mobilenet, "affine-to-batchnorm,input-affine", {{"BatchNorm", 1}, {"Conv", 1}}, rng);
    // Left alone: a constant divided by the value, a constant that is not per channel, a value read twice, a chain
    // not at the input, a BatchNorm alone.
    const Graph others = GraphBuilder()
                             .input("x", {-1, 3, 4, 4})
                             .node("per_w", by_constant(OpType::Mul, random_tensor({1, 1, 1, 4}, rng)), {"x"}, "w")
                             .node("relu", std::make_shared<Relu>(), {"w"}, "r")
                             .node("mul", by_constant(OpType::Mul, Tensor({1}, {0.5f})), {"r"}, "y")
                             .output("y")
                             .build();
    check_pass(others, "input-affine", {{"Mul", 2}, {"Relu", 1}}, rng);
    const Graph reciprocal = GraphBuilder()
                                 .input("x", {-1, 3, 4, 4})
                                 .node("mul", by_constant(OpType::Mul, Tensor({1}, {2.0f})), {"x"}, "m")
                                 .node("inv", div(random_tensor({1}, rng, 1.0f, 2.0f), 0), {"m"}, "y")
                                 .output("y")
                                 .build();
    check_pass(reciprocal, "input-affine", {{"BatchNorm", 1}, {"Div", 1}}, rng);
    const Graph twice = GraphBuilder()
                            .input("x", {-1, 3, 4, 4})
                            .node("mul", by_constant(OpType::Mul, Tensor({1}, {2.0f})), {"x"}, "m")
                            .node("add", by_constant(OpType::AddConstant, Tensor({1}, {1.0f})), {"m"}, "a")
                            .node("both", std::make_shared<Binary>(OpType::Mul, BinaryKind::Mul), {"m", "a"}, "y")
                            .output("y")
                            .build();
    check_pass(twice, "input-affine", {{"BatchNorm", 1}, {"AddConstant", 1}, {"Mul", 1}}, rng);
}

TEST_CASE("keras: the tf2onnx exports import with tf2onnx's node names and run as onnxruntime does") {
    const auto names = keras_fixtures();
    REQUIRE(names.size() == 4);
    auto backend = make_backend("cpu");
    for (const std::string& name : names) {
        INFO(name);
        const OnnxModel model = load_onnx(path(name, ".onnx"));
        // tf2onnx's names; a Conv it fused with its BatchNorm ("Conv__36") named after its weight's scope.
        std::map<std::string, std::string> op_of;
        for (const Node& n : model.graph.nodes()) op_of[n.name] = op_name(n.op->type());
        CHECK(op_of["cnn_1/conv1_1/convolution"] == "Conv");
        CHECK(op_of["cnn_1/conv2_1/convolution"] == "Conv");
        CHECK(op_of["cnn_1/relu6_1/Relu6"] == "Clip");
        CHECK(op_of["cnn_1/pool2_1/MaxPool2d"] == "MaxPool");
        CHECK(op_of["cnn_1/dense1_1/MatMul"] == "Linear");
        CHECK(op_of["cnn_1/bn3_1/batchnorm/mul_1"] == "Mul");
        const Tensor x = read_npy(path(name, ".input.npy"));
        const Tensor want = read_npy(path(name, ".output.npy"));
        for (const std::string pipeline : {"none", "auto"}) {
            auto graph = std::make_shared<const Graph>(canonize(model.graph, pipeline).graph);
            Explainer explainer(graph, *backend);
            const Recording rec = explainer.forward(x);
            const double err = max_rel_error(rec.output, want);
            std::printf("keras %-14s canonize %-4s forward vs onnxruntime %.1e (max relative)\n", name.c_str(),
                        pipeline.c_str(), err);
            CHECK(err <= 1e-5);
        }
    }
}

TEST_CASE("keras: canonized, the small CNN has its PyTorch twin's layers") {
    for (const std::string& name : keras_fixtures()) {
        INFO(name);
        const OnnxModel model = load_onnx(path(name, ".onnx"));
        const CanonizeResult c = canonize(model.graph, "auto");
        const std::map<std::string, int> want = nhwc(name)
            ? std::map<std::string, int>{{"Transpose", 1}, {"Conv", 2}, {"Clip", 1}, {"Relu", 2}, {"MaxPool", 2},
                                         {"Flatten", 1}, {"Linear", 2}}
            : std::map<std::string, int>{{"Conv", 2}, {"Clip", 1}, {"Relu", 2}, {"MaxPool", 2}, {"Flatten", 1},
                                         {"Linear", 2}};
        CHECK(op_counts(c.graph) == want);
        if (nhwc(name)) {  // the one Transpose left reads the input
            for (const Node& n : c.graph.nodes())
                if (n.op->type() == OpType::Transpose) CHECK(n.inputs[0] == c.graph.inputs()[0]);
        }
    }
}

TEST_CASE("keras: the input gradient equals TensorFlow's") {
    auto backend = make_backend("cpu");
    for (const std::string& name : keras_fixtures()) {
        for (const std::string pipeline : {"none", "auto"}) {
            INFO(name << " canonize " << pipeline);
            const OnnxModel model = load_onnx(path(name, ".onnx"));
            auto graph = std::make_shared<const Graph>(canonize(model.graph, pipeline).graph);
            Explainer explainer(graph, *backend);
            const Recording rec = explainer.forward(read_npy(path(name, ".input.npy")));
            const Explanation e = explainer.gradient(rec, targets());
            const Tensor want = read_npy(path(name, ".grad.npy"));
            REQUIRE(e.relevance.shape() == want.shape());
            const double err = relative_l2(want, e.relevance);
            std::printf("keras %-14s canonize %-4s gradient vs TensorFlow %.1e (relative L2)\n", name.c_str(),
                        pipeline.c_str(), err);
            CHECK(err <= 1e-5);
        }
    }
}

TEST_CASE("keras: NHWC relevance is the NCHW export's transposed; epsilon-plus-flat conserves") {
    auto backend = make_backend("cpu");
    CompositeOptions options;
    options.zero_bias = true;  // conservation is exact only without biases
    for (const std::string opset : {"op13", "op17"}) {
        std::map<std::string, Tensor> relevance;
        for (const std::string layout : {"nhwc", "nchw"}) {
            const std::string name = "cnn_" + layout + "_" + opset;
            INFO(name);
            const OnnxModel model = load_onnx(path(name, ".onnx"));
            auto graph = std::make_shared<const Graph>(canonize(model.graph, "auto").graph);
            Explainer explainer(graph, *backend);
            const Recording rec = explainer.forward(read_npy(path(name, ".input.npy")));
            Plan plan(graph, assign_rules(*graph, "epsilon-plus-flat", options), *backend);
            const Explanation e = explainer.explain(rec, plan, targets());
            double sum = 0;
            for (int64_t i = 0; i < e.relevance.numel(); ++i) sum += e.relevance[i];
            std::printf("keras %-14s epsilon-plus-flat (zero bias): input relevance sum %.7f of 2\n", name.c_str(), sum);
            CHECK(std::abs(sum - 2.0) <= 1e-4);
            relevance[layout] = e.relevance;
        }
        const Tensor as_nchw = to_channels_first(relevance["nhwc"]);
        REQUIRE(as_nchw.shape() == relevance["nchw"].shape());
        const double err = max_rel_error(as_nchw, relevance["nchw"]);
        std::printf("keras %s: NHWC relevance transposed vs NCHW export's %.1e (max relative)\n", opset.c_str(), err);
        CHECK(err <= 1e-6);
    }
}

TEST_CASE("keras preprocessing presets and the image layout") {
    // One pixel (R, G, B) = (255, 128, 0).
    Image px;
    px.width = px.height = 1;
    px.channels = 3;
    px.pixels = {255, 128, 0};
    auto one = [&](const std::string& preset) {
        Preprocess p = preprocess_preset(preset);
        p.resize = p.crop = 0;
        return image_to_tensor(px, 3, p).to_vector();
    };
    const auto caffe = one("keras-caffe");  // B, G, R minus (103.939, 116.779, 123.68)
    CHECK(caffe[0] == doctest::Approx(0.0 - 103.939).epsilon(1e-6));
    CHECK(caffe[1] == doctest::Approx(128.0 - 116.779).epsilon(1e-6));
    CHECK(caffe[2] == doctest::Approx(255.0 - 123.68).epsilon(1e-6));
    const auto tf = one("keras-tf");  // pixel / 127.5 - 1
    CHECK(tf[0] == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(tf[1] == doctest::Approx(128.0 / 127.5 - 1.0).epsilon(1e-5));
    CHECK(tf[2] == doctest::Approx(-1.0).epsilon(1e-6));
    const auto torch = one("torch");
    CHECK(torch[0] == doctest::Approx((1.0 - 0.485) / 0.229).epsilon(1e-6));
    CHECK(one("none") == std::vector<float>{255, 128, 0});
    // The picture shown under a heatmap comes back in RGB.
    Preprocess caffe_p = preprocess_preset("keras-caffe");
    caffe_p.resize = caffe_p.crop = 0;
    CHECK(tensor_to_image(image_to_tensor(px, 3, caffe_p), caffe_p).pixels == px.pixels);
    CHECK(input_bounds_low(caffe_p, 3)[0] == doctest::Approx(-103.939));
    CHECK_THROWS_WITH_AS(preprocess_preset("caffe"),
                         doctest::Contains("preprocessing 'caffe' not found; known: torch, keras-caffe, keras-tf, none"), Error);

    CHECK(image_layout({-1, 224, 224, 3}) == ImageLayout::NHWC);
    CHECK(image_layout({-1, 3, 224, 224}) == ImageLayout::NCHW);
    CHECK(image_layout({-1, 1, 28, 28}) == ImageLayout::NCHW);
    CHECK(image_layout({-1, 3, 3, 3}) == ImageLayout::NCHW);  // ambiguous: PyTorch's order
    CHECK(image_channels({-1, 16, 16, 3}) == 3);
    std::mt19937 rng(7);
    const Tensor chw = random_tensor({2, 3, 4, 5}, rng);
    const Tensor hwc = to_channels_last(chw);
    CHECK(hwc.shape() == Shape{2, 4, 5, 3});
    CHECK(hwc[((1 * 4 + 2) * 5 + 3) * 3 + 1] == chw[((1 * 3 + 1) * 4 + 2) * 5 + 3]);
    CHECK(to_channels_first(hwc).to_vector() == chw.to_vector());
}

TEST_CASE("keras CLI: an image is fed to the NHWC export in its layout; relevance comes back in it") {
    namespace fs = std::filesystem;
    const fs::path dir = relprop::test::scratch_dir("keras");
    // A 16x16 RGB image.
    Image img;
    img.width = img.height = 16;
    img.channels = 3;
    for (int i = 0; i < 16 * 16 * 3; ++i) img.pixels.push_back(static_cast<uint8_t>((i * 37) % 256));
    const fs::path png = dir / "img.png";
    write_png(png.string(), img);
    std::map<std::string, Tensor> relevance;
    for (const std::string layout : {"nhwc", "nchw"}) {
        const std::string model = path("cnn_" + layout + "_op13", ".onnx");
        const fs::path out = dir / (layout + ".npy");
        const auto r = relprop::test::relprop_cli("explain " + model + " " + png.string() +
                                                  " --preprocess keras-tf --resize 0 --crop 0 --target 3 --out " +
                                                  out.string() + " --heatmap " + (dir / (layout + ".png")).string());
        INFO(r.output);
        REQUIRE(r.code == 0);
        relevance[layout] = read_npy(out.string());
        const auto inspect = relprop::test::relprop_cli("inspect " + model);
        CHECK(inspect.output.find(std::string("input layout: ") + (layout == "nhwc" ? "NHWC" : "NCHW")) !=
              std::string::npos);
    }
    CHECK(relevance["nhwc"].shape() == Shape{1, 16, 16, 3});
    CHECK(relevance["nchw"].shape() == Shape{1, 3, 16, 16});
    CHECK(max_rel_error(to_channels_first(relevance["nhwc"]), relevance["nchw"]) <= 1e-6);
    // Both heatmaps show the same picture.
    CHECK(load_image((dir / "nhwc.png").string()).pixels == load_image((dir / "nchw.png").string()).pixels);
    const auto both = relprop::test::relprop_cli("explain " + path("cnn_nhwc_op13", ".onnx") + " " + png.string() +
                                                 " --preprocess keras-tf --mean 0.5");
    CHECK(both.code != 0);
    CHECK(both.output.find("--preprocess keras-tf sets the mean, std and scale: drop --mean/--std/--scale") !=
          std::string::npos);
}
