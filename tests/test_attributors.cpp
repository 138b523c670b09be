// SmoothGrad, Integrated Gradients and Occlusion: hand calculations on linear models, SmoothGrad's
// noise statistics, IG completeness and SmoothGrad = Gradient without noise on a real (ONNX) ResNet.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "relprop/error.hpp"
#include "engine/integrated_gradients.h"
#include "engine/occlusion.h"
#include "engine/smoothgrad.h"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "layers/linear.h"
#include "layers/relu.h"
#include "relprop/relprop.hpp"
#include "rules/composite.h"
#include "rules/plan.h"
#include "tests/fixtures.h"

using namespace relprop;
using relprop::test::error_of;
using relprop::test::fixture_path;

namespace {

// logits = x·Wᵀ + b, W = [[1, 2, 3, -2], [-1, 0, 4, 0.5]], b = [0.5, -0.5].
Graph linear_model() {
    auto fc = std::make_shared<Linear>(Tensor({2, 4}, {1, 2, 3, -2, -1, 0, 4, 0.5f}), Tensor({2}, {0.5f, -0.5f}));
    return GraphBuilder().input("x", {-1, 4}).node("fc", fc, {"x"}, "logits").output("logits").build();
}

// y = [relu(x0), 0·x1]: the gradient at x0 is the step function.
Graph relu_model() {
    auto fc = std::make_shared<Linear>(Tensor({2, 2}, {1, 0, 0, 0}), std::nullopt);
    return GraphBuilder()
        .input("x", {-1, 2})
        .node("fc", fc, {"x"}, "h")
        .node("relu", std::make_shared<Relu>(), {"h"}, "y")
        .output("y")
        .build();
}

struct Resnet {
    Graph graph;
    Tensor input;
};

Resnet tiny_resnet() {
    OnnxModel m = load_onnx(fixture_path("onnx/tiny_resnet.onnx"));
    return {canonize(m.graph, "auto").graph, read_npy(fixture_path("onnx/tiny_resnet.input.npy"))};
}

double sum(const Tensor& t, int64_t sample) {
    const int64_t per = t.numel() / t.dim(0);
    return std::accumulate(t.data() + sample * per, t.data() + (sample + 1) * per, 0.0);
}

}  // namespace

TEST_CASE("SmoothGrad: no noise or one sample is the gradient; a linear model's is its weight row") {
    Resnet r = tiny_resnet();
    auto backend = make_backend("cpu");
    Executor ex(r.graph, *backend);
    const Attribution g = gradient(ex, r.input);
    SmoothGradOptions o;
    o.noise_level = 0.0f;
    o.samples = 5;
    const Attribution s0 = smoothgrad(ex, r.input, {}, o);
    CHECK(s0.targets == g.targets);
    CHECK(test::max_rel_error(s0.attribution, g.attribution) < 1e-6);
    o.noise_level = 0.3f;
    o.samples = 1;
    CHECK(smoothgrad(ex, r.input, {}, o).attribution.to_vector() == g.attribution.to_vector());

    Graph lin = linear_model();
    Executor lx(lin, *backend);
    o.samples = 7;
    const Attribution sl = smoothgrad(lx, Tensor({2, 4}, {1, 2, 3, 4, -1, 0, 5, 2}), {1, 0}, o);
    const std::vector<float> want{-1, 0, 4, 0.5f, 1, 2, 3, -2};
    for (int64_t i = 0; i < 8; ++i) CHECK(sl.attribution[i] == doctest::Approx(want[i]).epsilon(1e-6));
}

TEST_CASE("SmoothGrad: the mean gradient of relu at 0 under noise is P(x + e > 0) = 1/2") {
    Graph g = relu_model();
    auto backend = make_backend("cpu");
    Executor ex(g, *backend);
    // One sample (x0, x1) = (0, 1): sigma = noise_level × (1 − 0) = 1. samples − 1 noisy gradients are
    // Bernoulli(1/2); the noise-free one is relu'(0) = 0. Expected (samples − 1)/2 / samples.
    SmoothGradOptions o;
    o.noise_level = 1.0f;
    o.samples = 4001;
    o.seed = 42;
    const Attribution a = smoothgrad(ex, Tensor({1, 2}, {0, 1}), {0}, o);
    CHECK(a.attribution[0] == doctest::Approx(2000.0 / 4001.0).epsilon(0.04));  // 5 sigma of a 4000-draw mean
    CHECK(a.attribution[1] == 0.0f);
    // Same seed, same result; another seed, another.
    CHECK(smoothgrad(ex, Tensor({1, 2}, {0, 1}), {0}, o).attribution[0] == a.attribution[0]);
    o.seed = 43;
    CHECK(smoothgrad(ex, Tensor({1, 2}, {0, 1}), {0}, o).attribution[0] != a.attribution[0]);
    o.samples = 0;
    CHECK(error_of([&] { smoothgrad(ex, Tensor({1, 2}), {}, o); }).find("samples must be >= 1") != std::string::npos);
    o.samples = 2;
    o.noise_level = -1;
    CHECK(error_of([&] { smoothgrad(ex, Tensor({1, 2}), {}, o); }).find("noise level") != std::string::npos);
}

TEST_CASE("Integrated Gradients: exact on a linear model; completeness on a ResNet") {
    auto backend = make_backend("cpu");
    Graph lin = linear_model();
    Executor lx(lin, *backend);
    IntegratedGradientsOptions o;
    o.steps = 3;
    o.baseline = Tensor({1, 4}, {1, 1, 1, 1});  // one sample's baseline, for every sample
    const Attribution a = integrated_gradients(lx, Tensor({2, 4}, {1, 2, 3, 4, -1, 0, 5, 2}), {0, 1}, o);
    // (x − b) ⊙ w_target
    const std::vector<float> want{0, 2, 6, -6, 2, 0, 16, 0.5f};
    for (int64_t i = 0; i < 8; ++i) CHECK(a.attribution[i] == doctest::Approx(want[i]).epsilon(1e-6));
    o.baseline = Tensor({3, 4});
    CHECK(error_of([&] { integrated_gradients(lx, Tensor({2, 4}), {}, o); })
              .find("the baseline is [3, 4]; expected the input's shape [2, 4] or one sample's [1, 4]") !=
          std::string::npos);

    // Completeness: sum of the attribution = f_t(x) − f_t(baseline), up to the Riemann sum's error;
    // on the bundled trained digits CNN (logits of order 10).
    Resnet r{canonize(load_onnx(fixture_path("../../tools/demo/digits.onnx")).graph, "auto").graph,
             read_npy(fixture_path("../../tools/demo/digits_batch.npy"))};
    Executor ex(r.graph, *backend);
    IntegratedGradientsOptions io;
    io.steps = 256;
    const Attribution ig = integrated_gradients(ex, r.input, {}, io);
    const Tensor zero(r.input.shape());
    const Attribution at_zero = gradient(ex, zero, ig.targets);
    const int64_t classes = ig.output.numel() / ig.output.dim(0);
    for (int64_t s = 0; s < r.input.dim(0); ++s) {
        const int64_t t = ig.targets[s];
        const double delta = ig.output[s * classes + t] - at_zero.output[s * classes + t];
        INFO("sample ", s, ": sum ", sum(ig.attribution, s), ", f(x) - f(0) ", delta);
        CHECK(std::abs(delta) > 1.0);  // a test that can fail
        CHECK(std::abs(sum(ig.attribution, s) - delta) <= 0.01 * std::abs(delta));
    }
}

TEST_CASE("Occlusion: on a linear model each element gets its exact contribution") {
    auto backend = make_backend("cpu");
    Graph lin = linear_model();
    Executor lx(lin, *backend);
    const Tensor x({2, 4}, {1, 2, 3, 4, -1, 0, 5, 2});
    OcclusionOptions o;
    o.window = {1};
    o.stride = {1};
    const Attribution a = occlusion(lx, x, {0, 1}, o);
    const std::vector<float> exact{1, 4, 9, -8, 1, 0, 20, 1};  // w_target ⊙ x
    CHECK(a.attribution.to_vector() == exact);
    // Window 2 stride 2: each element gets its window's total; fill 1 removes w·(x − 1).
    o.window = o.stride = {2};
    o.fill = 1.0f;
    const Attribution a2 = occlusion(lx, x, {0, 1}, o);
    CHECK(a2.attribution.to_vector() == std::vector<float>{2, 2, 0, 0, 2, 2, 16.5f, 16.5f});
    // zennit's mode: the score with only the window kept (others 0): w_W·x_W + b.
    o.mode = OcclusionMode::Keep;
    o.fill = 0.0f;
    o.window = {2};
    o.stride = {3};  // positions 0 and 3; the second window wraps around to element 0
    const Attribution k = occlusion(lx, x, {0, 1}, o);
    // sample 0, target 0: window {0,1}: 1+4+0.5 = 5.5; window {3,0}: -8+1+0.5 = -6.5
    // sample 1, target 1: window {0,1}: 1+0-0.5 = 0.5; window {3,0}: 1+1-0.5 = 1.5
    CHECK(k.attribution.to_vector() == std::vector<float>{-1, 5.5f, 0, -6.5f, 2, 0.5f, 0, 1.5f});
    o.window = {2, 2};
    o.stride = {1};
    CHECK(error_of([&] { occlusion(lx, x, {}, o); }).find("window and stride need the same") != std::string::npos);
    o.stride = {1, 1};
    CHECK(error_of([&] { occlusion(lx, x, {}, o); }).find("does not fit the input [2, 4]") != std::string::npos);
}

TEST_CASE("Occlusion on an image model: windows cover all channels; batching positions changes nothing") {
    Resnet r = tiny_resnet();
    auto backend = make_backend("cpu");
    Executor ex(r.graph, *backend);
    OcclusionOptions o;
    o.window = {3, 3};
    o.stride = {2, 2};
    o.max_batch = 1;
    const Attribution one = occlusion(ex, r.input, {}, o);
    o.max_batch = 64;
    const Attribution many = occlusion(ex, r.input, {}, o);
    // Differences of logits from passes of other batch sizes (other oneDNN kernels): equal to float
    // rounding of the logits.
    double logit_scale = 0.0, diff = 0.0;
    for (int64_t i = 0; i < one.output.numel(); ++i) logit_scale = std::max(logit_scale, std::abs(double(one.output[i])));
    for (int64_t i = 0; i < one.attribution.numel(); ++i)
        diff = std::max(diff, std::abs(double(many.attribution[i]) - one.attribution[i]));
    INFO("max difference ", diff, ", logits up to ", logit_scale);
    CHECK(diff <= 1e-5 * logit_scale);
    // Window 1×1 covering all channels: the value at (c, h, w) is the same for every channel.
    o.window = o.stride = {1, 1};
    const Attribution px = occlusion(ex, r.input, {}, o);
    const int64_t c = r.input.dim(1), hw = r.input.dim(2) * r.input.dim(3);
    for (int64_t i = 0; i < hw; ++i)
        for (int64_t ch = 1; ch < c; ++ch) REQUIRE(px.attribution[ch * hw + i] == px.attribution[i]);
    // Removing one pixel of all channels changes the target logit by exactly that: recompute one.
    Tensor occluded = r.input.clone();
    for (int64_t ch = 0; ch < c; ++ch) occluded[ch * hw + 5] = 0.0f;
    const Attribution f = gradient(ex, occluded, px.targets);
    const int64_t t = px.targets[0];
    CHECK(px.attribution[5] == doctest::Approx(px.output[t] - f.output[t]).epsilon(1e-5));
}

TEST_CASE("SmoothGrad and Integrated Gradients average an LRP plan's modified gradient when given one") {
    Resnet r = tiny_resnet();
    auto graph = std::make_shared<const Graph>(r.graph);
    auto backend = make_backend("cpu");
    Executor ex(*graph, *backend);
    Plan plan(graph, assign_rules(*graph, "epsilon-plus"), *backend);
    const Attribution lrp = gradient(ex, r.input, {}, plan.propagator());
    SmoothGradOptions o;
    o.noise_level = 0.0f;
    o.samples = 3;
    CHECK(test::max_rel_error(smoothgrad(ex, r.input, {}, o, plan.propagator()).attribution, lrp.attribution) < 1e-6);
    // The plain gradient differs from LRP here, so the propagator was used.
    CHECK(test::max_rel_error(gradient(ex, r.input).attribution, lrp.attribution) > 1e-2);
}

TEST_CASE("Integrated Gradients (plain and with LRP rules) and Occlusion match zennit 0.5.1") {
    // tests/fixtures/zennit_attr, made by tools/make_zennit_attributor_fixtures.py.
    std::ifstream manifest(fixture_path("zennit_attr/MANIFEST"));
    int checked = 0;
    for (std::string line; std::getline(manifest, line);) {
        std::istringstream fields(line);
        std::string file, model_name, method;
        std::getline(fields, file, '\t');
        std::getline(fields, model_name, '\t');
        std::getline(fields, method, '\t');
        relprop::AttributorOptions o;
        if (method == "integrated-gradients") {
            o.method = Method::IntegratedGradients;
            o.integrated_gradients.steps = 20;
        } else if (method == "integrated-gradients-epsilon-plus-flat") {
            o.method = Method::IntegratedGradients;
            o.integrated_gradients.steps = 8;
            o.use_rules = true;
            o.composite = "epsilon-plus-flat";
        } else {
            REQUIRE(method == "occlusion-keep-w8-s4");
            o.method = Method::Occlusion;
            o.occlusion.window = {8, 8};
            o.occlusion.stride = {4, 4};
            o.occlusion.mode = OcclusionMode::Keep;
        }
        const relprop::Attributor explain(relprop::Model::load(fixture_path("onnx/" + model_name + ".onnx")), o);
        const Tensor x = read_npy(fixture_path("onnx/" + model_name + ".input.npy"));
        const Tensor ref = read_npy(fixture_path("zennit_attr/" + file));
        const Tensor got = explain(x).relevance;
        double d2 = 0.0, r2 = 0.0;
        for (int64_t i = 0; i < ref.numel(); ++i) {
            d2 += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]);
            r2 += double(ref[i]) * ref[i];
        }
        const double rel_l2 = std::sqrt(d2 / r2), max_rel = test::max_rel_error(got, ref);
        MESSAGE("zennit ", file, ": relative L2 ", rel_l2, ", max abs ", max_rel, " x max|ref|");
        CHECK(rel_l2 < 1e-5);
        CHECK(max_rel < 1e-5);
        ++checked;
    }
    CHECK(checked == 5);
}
