// relprop::evaluate: perturbation curves and their scores, by hand on linear models (fill 0: each step
// removes exactly w_i·x_i), the fills, batching, errors, and on the bundled demo CNN against random.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/graph.h"
#include "relprop/npy.hpp"
#include "layers/linear.h"
#include "layers/reshape.h"
#include "relprop/relprop.hpp"
#include "tests/fixtures.h"
#include "tests/onnx_builder.h"

using namespace relprop;
using relprop::test::error_of;
using relprop::test::ModelBuilder;

namespace {

// f(x) = w·flatten(x) for class 0 (class 1 is 0), input [N, C, H, W] (batch: -1 free, or fixed).
Model linear_image_model(int64_t c, int64_t h, int64_t w, const std::vector<float>& weights, int64_t batch = -1) {
    std::vector<float> rows(weights);
    rows.resize(2 * weights.size(), 0.0f);
    auto fc = std::make_shared<Linear>(Tensor({2, static_cast<int64_t>(weights.size())}, rows), std::nullopt);
    const Graph g = GraphBuilder()
                        .input("x", {batch, c, h, w})
                        .node("flatten", std::make_shared<Flatten>(1), {"x"}, "flat")
                        .node("fc", fc, {"flat"}, "logits")
                        .output("logits")
                        .build();
    LoadOptions lo;
    lo.canonize = "none";
    return Model::from_graph(g, lo);
}

// w = (3, −1, 2, 0.5, −2, 1), x = (1, 2, 1, 4, 1, 3) on a 2×3 image: contributions w·x = (3, −2, 2, 2, −2, 3), f = 6.
const std::vector<float> kW = {3, -1, 2, 0.5f, -2, 1};
const Tensor kX({1, 1, 2, 3}, {1, 2, 1, 4, 1, 3});

void check_curve(const PerturbationCurve& c, const std::vector<double>& logit, const std::vector<double>& fraction) {
    REQUIRE(c.logit.size() == logit.size());
    REQUIRE(c.fraction.size() == fraction.size());
    for (size_t k = 0; k < logit.size(); ++k) {
        INFO("step ", k);
        CHECK(c.logit[k] == doctest::Approx(logit[k]).epsilon(1e-6));
        CHECK(c.fraction[k] == doctest::Approx(fraction[k]).epsilon(1e-12));
    }
}

EvaluateOptions options(PerturbationMetric metric, int64_t step, int64_t batch = 32) {
    EvaluateOptions o;
    o.metrics = {metric};
    o.step = step;
    o.batch_size = batch;
    return o;
}

}  // namespace

TEST_CASE("evaluate: pixel flipping on f(x) = w·x with fill 0 removes w_i·x_i in the order of relevance") {
    const Model model = linear_image_model(1, 2, 3, kW);
    // input-x-gradient on a linear model is exactly w·x: MoRF order (ties in pixel order) 0, 5, 2, 3, 1, 4.
    const Evaluation ev = evaluate(model, kX, {parse_evaluated_method("input-x-gradient")},
                                   options(PerturbationMetric::PixelFlipping, 1), {0});
    REQUIRE(ev.curves.size() == 2);
    CHECK(ev.targets == std::vector<int64_t>{0});
    const std::vector<double> f = {0, 1 / 6.0, 2 / 6.0, 3 / 6.0, 4 / 6.0, 5 / 6.0, 1};
    CHECK(ev.curves[0].order == PerturbationOrder::MoRF);
    check_curve(ev.curves[0], {6, 3, 0, -2, -4, -2, 0}, f);
    CHECK(ev.curves[1].order == PerturbationOrder::LeRF);
    check_curve(ev.curves[1], {6, 8, 10, 8, 6, 3, 0}, f);
    // AOPC = mean of f0 − f_k: MoRF (0+3+6+8+10+8+6)/7, LeRF (0−2−4−2+0+3+6)/7; AUC by trapezoids over 1/6.
    REQUIRE(ev.scores.size() == 1);
    const PerturbationScores& s = ev.scores[0].scores;
    CHECK(s.aopc_morf == doctest::Approx(41.0 / 7));
    CHECK(s.aopc_lerf == doctest::Approx(1.0 / 7));
    CHECK(s.abpc == doctest::Approx(40.0 / 7));
    CHECK(s.auc_morf == doctest::Approx(-1.0 / 3));
    CHECK(s.auc_lerf == doctest::Approx((7 + 9 + 9 + 7 + 4.5 + 1.5) / 6.0));
    REQUIRE(ev.summary.size() == 1);
    CHECK(ev.summary[0].samples == 1);
    CHECK(ev.summary[0].mean.abpc == doctest::Approx(40.0 / 7));
    CHECK(ev.summary[0].standard_error.abpc == 0.0);

    // Four pixels per step: 6, then without (0, 5, 2, 3) −4, then 0; the last step is partial.
    const Evaluation e4 = evaluate(model, kX, {parse_evaluated_method("input-x-gradient")},
                                   options(PerturbationMetric::PixelFlipping, 4), {0});
    check_curve(e4.curves[0], {6, -4, 0}, {0, 4 / 6.0, 1});
    check_curve(e4.curves[1], {6, 6, 0}, {0, 4 / 6.0, 1});
}

TEST_CASE("evaluate: region perturbation ranks patch×patch regions by summed relevance") {
    const Model model = linear_image_model(1, 2, 3, kW);
    // Patch 2 on 2×3: region 0 = pixels (0, 1, 3, 4), relevance 3−2+2−2 = 1; region 1 = (2, 5), 2+3 = 5.
    EvaluateOptions o = options(PerturbationMetric::RegionPerturbation, 1);
    o.patch = 2;
    const Evaluation ev = evaluate(model, kX, {parse_evaluated_method("input-x-gradient")}, o, {0});
    REQUIRE(ev.curves.size() == 2);
    CHECK(ev.curves[0].metric == PerturbationMetric::RegionPerturbation);
    check_curve(ev.curves[0], {6, 1, 0}, {0, 2 / 6.0, 1});
    check_curve(ev.curves[1], {6, 5, 0}, {0, 4 / 6.0, 1});
}

TEST_CASE("evaluate: relevance is summed over channels; given maps; several samples and their standard error") {
    // C = 2, 1×2 image, w = 1 everywhere: x = (1, 2 | 3, 4), f = 10. Relevance (5, 0 | −10, 1): pixel sums
    // (−5, 1), so MoRF takes pixel 1 first (both channels: 2 + 4), although channel 0 alone says pixel 0.
    const Model model = linear_image_model(2, 1, 2, {1, 1, 1, 1});
    EvaluatedMethod given;
    given.name = "mine";
    given.source = EvaluatedMethod::Source::Given;
    given.relevance = Tensor({2, 2, 1, 2}, {5, 0, -10, 1, 5, 0, -10, 1});
    const Tensor x({2, 2, 1, 2}, {1, 2, 3, 4, 2, 4, 6, 8});
    const Evaluation ev = evaluate(model, x, {given}, options(PerturbationMetric::PixelFlipping, 1), {0});
    REQUIRE(ev.curves.size() == 4);
    check_curve(ev.curves[0], {10, 4, 0}, {0, 0.5, 1});
    check_curve(ev.curves[1], {10, 6, 0}, {0, 0.5, 1});
    check_curve(ev.curves[2], {20, 8, 0}, {0, 0.5, 1});
    CHECK(ev.curves[2].sample == 1);
    // AOPC(MoRF) per sample: (0 + 6 + 10)/3 and (0 + 12 + 20)/3 → mean 8, standard error |16/3 − 32/3|/2 = 8/3.
    REQUIRE(ev.summary.size() == 1);
    CHECK(ev.summary[0].samples == 2);
    CHECK(ev.summary[0].method == "mine");
    CHECK(ev.summary[0].mean.aopc_morf == doctest::Approx(8.0));
    CHECK(ev.summary[0].standard_error.aopc_morf == doctest::Approx(8.0 / 3));
}

TEST_CASE("evaluate: fills (value, channel mean, blur, seeded uniform noise) and batching") {
    const Model model = linear_image_model(1, 2, 3, kW);
    const EvaluatedMethod ixg = parse_evaluated_method("input-x-gradient");
    EvaluateOptions o = options(PerturbationMetric::PixelFlipping, 1);
    o.fill = PerturbationFill::Value;
    o.fill_value = 0.5f;
    // Every pixel 0.5 at the end: 0.5·Σw = 1.75; the first step replaces pixel 0 (x = 1): 6 + 3·(0.5 − 1).
    Evaluation ev = evaluate(model, kX, {ixg}, o, {0});
    CHECK(ev.curves[0].logit[1] == doctest::Approx(4.5));
    CHECK(ev.curves[0].logit.back() == doctest::Approx(1.75));
    o.fill = PerturbationFill::ChannelMean;  // mean of x = 2: 2·Σw = 7; first step 6 + 3·(2 − 1) = 9
    ev = evaluate(model, kX, {ixg}, o, {0});
    CHECK(ev.curves[0].logit[1] == doctest::Approx(9.0));
    CHECK(ev.curves[0].logit.back() == doctest::Approx(7.0));
    // A constant image blurs to itself: the curve stays at f.
    o.fill = PerturbationFill::Blur;
    const Tensor flat({1, 1, 2, 3}, {2, 2, 2, 2, 2, 2});
    ev = evaluate(model, flat, {ixg}, o, {0});
    for (double v : ev.curves[0].logit) CHECK(v == doctest::Approx(7.0));
    // Uniform noise in [min, max] of the sample = [1, 4]: the end lies in the range w·u allows; seeded.
    o.fill = PerturbationFill::UniformNoise;
    o.seed = 3;
    const Evaluation a = evaluate(model, kX, {ixg}, o, {0});
    const Evaluation b = evaluate(model, kX, {ixg}, o, {0});
    o.seed = 4;
    const Evaluation c = evaluate(model, kX, {ixg}, o, {0});
    CHECK(a.curves[0].logit == b.curves[0].logit);
    CHECK(a.curves[0].logit.back() != c.curves[0].logit.back());
    double lo = 0, hi = 0;
    for (float w : kW) {
        lo += std::min(w * 1.0, w * 4.0);
        hi += std::max(w * 1.0, w * 4.0);
    }
    CHECK(a.curves[0].logit.back() >= lo);
    CHECK(a.curves[0].logit.back() <= hi);
    CHECK(a.curves[0].logit.back() != doctest::Approx(0.0));

    // One perturbed input per forward pass or all at once: the same curves.
    const Evaluation one = evaluate(model, kX, {ixg}, options(PerturbationMetric::PixelFlipping, 1, 1), {0});
    const Evaluation all = evaluate(model, kX, {ixg}, options(PerturbationMetric::PixelFlipping, 1, 64), {0});
    CHECK(one.curves[0].logit == all.curves[0].logit);
    CHECK(one.curves[1].logit == all.curves[1].logit);

    // A model whose batch is fixed at 1 runs one input per pass: the same curves, for several samples.
    const Tensor two({2, 1, 2, 3}, {1, 2, 1, 4, 1, 3, 2, 1, 0, 1, 3, 1});
    const Evaluation fixed = evaluate(linear_image_model(1, 2, 3, kW, 1), two, {ixg},
                                      options(PerturbationMetric::PixelFlipping, 1, 64), {0});
    const Evaluation free = evaluate(model, two, {ixg}, options(PerturbationMetric::PixelFlipping, 1, 64), {0});
    REQUIRE(fixed.curves.size() == 4);
    for (size_t k = 0; k < 4; ++k) CHECK(fixed.curves[k].logit == free.curves[k].logit);
    CHECK(error_of([&] { evaluate(linear_image_model(1, 2, 3, kW, 2), two, {ixg}); }).find("batches of exactly 2") !=
          std::string::npos);
}

TEST_CASE("evaluate: random maps are seeded per sample") {
    const Tensor a = random_attribution({2, 1, 4, 4}, 7), b = random_attribution({2, 1, 4, 4}, 7),
                 c = random_attribution({2, 1, 4, 4}, 8);
    int same = 0, differ = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
        CHECK(a[i] >= 0.0f);
        CHECK(a[i] < 1.0f);
        same += a[i] == b[i];
        differ += a[i] != c[i];
    }
    CHECK(same == 32);
    CHECK(differ == 32);
    // Sample 0 does not depend on the batch size.
    const Tensor one = random_attribution({1, 1, 4, 4}, 7);
    for (int64_t i = 0; i < one.numel(); ++i) CHECK(one[i] == a[i]);
    CHECK(parse_evaluated_method("random:12").seed == 12);
    CHECK(parse_evaluated_method("random").source == EvaluatedMethod::Source::Random);
    CHECK(parse_evaluated_method("lrp:epsilon-gamma-box").attributor.composite == "epsilon-gamma-box");
    CHECK(parse_evaluated_method("file:maps").directory == "maps");
}

TEST_CASE("evaluate: a model ending in Softmax is perturbed by its logits by default, by its probabilities when asked") {
    // linear_image_model's f(x) = w·x (class 0) and 0 (class 1), then a Softmax over the two classes.
    const Model linear = linear_image_model(1, 2, 3, kW);
    ModelBuilder sb(13, {-1, 2});
    sb.node("Softmax", {"x"}, {"p"});
    const Graph& lg = linear.graph();
    GraphBuilder g;
    g.input("x", {-1, 1, 2, 3});
    for (const Node& n : lg.nodes()) {
        std::vector<std::string> inputs;
        for (int v : n.inputs) inputs.push_back(lg.values()[v].name);
        g.node(n.name, n.op, inputs, lg.values()[n.output].name);
    }
    g.node("prob", sb.import("p").graph.nodes()[0].op, {"logits"}, "p");
    g.output("p");
    LoadOptions lo;
    lo.canonize = "none";
    const Model model = Model::from_graph(g.build(), lo);
    const std::vector<double> f = {0, 1 / 6.0, 2 / 6.0, 3 / 6.0, 4 / 6.0, 5 / 6.0, 1};
    const std::vector<double> morf = {6, 3, 0, -2, -4, -2, 0};  // as without the Softmax

    const Evaluation logits = evaluate(model, kX, {parse_evaluated_method("input-x-gradient")},
                                       options(PerturbationMetric::PixelFlipping, 1), {0});
    CHECK(logits.explained_output == "logits");
    REQUIRE(logits.curves.size() == 2);
    check_curve(logits.curves[0], morf, f);
    CHECK(logits.scores.at(0).scores.aopc_morf == doctest::Approx(41.0 / 7));

    // Probabilities: the attribution is p0·(1 − p0)·w·x (same order), the curve σ(f_k).
    EvaluateOptions o = options(PerturbationMetric::PixelFlipping, 1);
    o.explain_output = ExplainOutput::Probabilities;
    const Evaluation probs = evaluate(model, kX, {parse_evaluated_method("input-x-gradient")}, o, {0});
    CHECK(probs.explained_output == "probabilities");
    std::vector<double> sigmoid;
    for (double v : morf) sigmoid.push_back(1 / (1 + std::exp(-v)));
    check_curve(probs.curves.at(0), sigmoid, f);

    // A model without a final Softmax: "output".
    CHECK(evaluate(linear, kX, {parse_evaluated_method("random")}, options(PerturbationMetric::PixelFlipping, 3))
              .explained_output == "output");
}

TEST_CASE("evaluate: bad input is an Error naming it") {
    const Model model = linear_image_model(1, 2, 3, kW);
    const EvaluatedMethod ixg = parse_evaluated_method("input-x-gradient");
    CHECK(error_of([&] { parse_evaluated_method("saliency"); }).find("unknown method 'saliency'") != std::string::npos);
    CHECK(error_of([&] { parse_evaluated_method("gradient:x"); }).find("only lrp takes a composite") != std::string::npos);
    CHECK(error_of([&] { parse_evaluated_method("random:x"); }).find("whole number") != std::string::npos);
    CHECK(error_of([&] { evaluate(model, kX, {parse_evaluated_method("lrp:nope")}); }).find("nope") != std::string::npos);
    CHECK(error_of([&] { evaluate(model, kX, {ixg}, options(PerturbationMetric::PixelFlipping, 7)); }) ==
          "evaluate: a step of 7 pixels is larger than the image (2x3 = 6 pixels)");
    EvaluateOptions o = options(PerturbationMetric::RegionPerturbation, 1);
    o.patch = 3;
    CHECK(error_of([&] { evaluate(model, kX, {ixg}, o); }) == "evaluate: a patch of 3 pixels does not fit the 2x3 image");
    o.patch = 2;
    o.step = 3;
    CHECK(error_of([&] { evaluate(model, kX, {ixg}, o); }) ==
          "evaluate: a step of 3 regions is more than the image's 2 regions of 2x2");
    EvaluatedMethod given;
    given.name = "file:maps";
    given.source = EvaluatedMethod::Source::Given;
    given.relevance = Tensor({1, 1, 3, 2});
    CHECK(error_of([&] { evaluate(model, kX, {given}); }) ==
          "evaluate: the attribution of 'file:maps' is [1, 1, 3, 2] but the inputs are [1, 1, 2, 3]");
    CHECK(error_of([&] { evaluate(model, Tensor({1, 6}), {ixg}); }).find("must be images") != std::string::npos);
    given.relevance = Tensor({1, 1, 2, 3}, {0, 1, NAN, 2, 3, 4});
    CHECK(error_of([&] { evaluate(model, kX, {given}); }).find("the attribution of 'file:maps': 1 of 6 values are NaN/Inf") !=
          std::string::npos);
}

TEST_CASE("evaluate: sample ids seed random maps and uniform noise; without ids the numbers are as before") {
    // Recorded from the build before sample ids existed.
    const Tensor a = random_attribution({3, 1, 4, 4}, 7);
    CHECK(a[0] == 0.244755819f);
    CHECK(a[1] == 0.553284883f);
    CHECK(a[16] == 0.152992129f);
    CHECK(a[17] == 0.69301343f);
    CHECK(a[32] == 0.854287326f);
    CHECK(a[47] == 0.515855372f);
    // Ids 0, 1, 2 are the positions; permuted ids permute the maps.
    CHECK(random_attribution({3, 1, 4, 4}, 7, {0, 1, 2}).to_vector() == a.to_vector());
    const Tensor p = random_attribution({3, 1, 4, 4}, 7, {2, 0, 1});
    for (int64_t k = 0; k < 16; ++k) {
        CHECK(p[k] == a[32 + k]);
        CHECK(p[16 + k] == a[k]);
        CHECK(p[32 + k] == a[16 + k]);
    }
    CHECK(error_of([] { random_attribution({3, 1, 4, 4}, 7, {1, 2}); }).find("2 sample ids for 3 samples") !=
          std::string::npos);

    const std::string demo = std::string(RELPROP_FIXTURES_DIR) + "/../../tools/demo/";
    const Model model = Model::load(demo + "digits.onnx");
    Tensor x({3, 1, 32, 32});
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>((i * 37) % 101) / 100.0f;
    EvaluateOptions o = options(PerturbationMetric::PixelFlipping, 98);
    o.fill = PerturbationFill::UniformNoise;
    o.seed = 5;
    const EvaluatedMethod random7 = parse_evaluated_method("random:7");
    // Without ids: evaluate's and perturbation_curves' numbers of the build before (logits after steps
    // 1, 2 and the last; MoRF, LeRF per sample).
    const std::vector<std::vector<double>> before = {
        {-7.36394405, -6.53947592, -4.24584484}, {-8.12166309, -6.68155146, -4.24584484},
        {-8.42577362, -8.04842567, -4.24584484}, {-6.9277482, -6.38417768, -4.24584484},
        {-7.45121098, -6.99889183, -4.24584484}, {-8.06824493, -8.38219833, -4.24584484}};
    const std::vector<std::vector<double>> before_curves = {
        {-7.09616184, -7.00629234, -4.24584484}, {-8.28924942, -7.58499479, -4.24584484},
        {-7.55656481, -7.47031069, -4.08163404}, {-7.6908164, -6.9959712, -4.08163404},
        {-7.0603404, -6.69232988, -4.98894358}, {-7.64674854, -5.99851274, -4.98894358}};
    const Evaluation ev = evaluate(model, x, {random7}, o, {3});
    const std::vector<PerturbationCurve> pc =
        perturbation_curves(model, x, random_attribution({3, 1, 32, 32}, 9), {3, 3, 3}, PerturbationMetric::PixelFlipping, o);
    REQUIRE(ev.curves.size() == 6);
    REQUIRE(pc.size() == 6);
    for (size_t k = 0; k < 6; ++k) {
        INFO("curve ", k);
        const std::vector<double> got = {ev.curves[k].logit[1], ev.curves[k].logit[2], ev.curves[k].logit.back()},
                                  got_pc = {pc[k].logit[1], pc[k].logit[2], pc[k].logit.back()};
        for (size_t j = 0; j < 3; ++j) {
            CHECK(got[j] == doctest::Approx(before[k][j]).epsilon(1e-5));
            CHECK(got_pc[j] == doctest::Approx(before_curves[k][j]).epsilon(1e-5));
        }
    }

    // With ids: the samples permuted (with their ids) permute the curves, bit for bit; the ids, not
    // the positions, decide (other ids, other curves).
    const std::vector<uint64_t> ids = {0x9e3779b97f4a7c15ull, 42, 7};
    o.sample_ids = ids;
    const Evaluation with_ids = evaluate(model, x, {random7}, o, {3});
    const int64_t perm[3] = {2, 0, 1};  // new sample j is old sample perm[j]
    Tensor y({3, 1, 32, 32});
    for (int64_t j = 0; j < 3; ++j)
        std::copy(x.data() + perm[j] * 1024, x.data() + (perm[j] + 1) * 1024, y.data() + j * 1024);
    o.sample_ids = {ids[2], ids[0], ids[1]};
    const Evaluation permuted = evaluate(model, y, {random7}, o, {3});
    REQUIRE(permuted.curves.size() == 6);
    for (int64_t j = 0; j < 3; ++j)
        for (int64_t order = 0; order < 2; ++order) {
            INFO("sample ", j, " order ", order);
            CHECK(permuted.curves[2 * j + order].logit == with_ids.curves[2 * perm[j] + order].logit);
        }
    CHECK(with_ids.curves[0].logit != ev.curves[0].logit);
    // Uniform noise alone (a given map): the same.
    EvaluatedMethod given = parse_evaluated_method("file:maps");
    given.source = EvaluatedMethod::Source::Given;
    given.relevance = random_attribution({3, 1, 32, 32}, 9, ids);
    o.sample_ids = ids;
    const Evaluation noise = evaluate(model, x, {given}, o, {3});
    given.relevance = random_attribution({3, 1, 32, 32}, 9, {ids[2], ids[0], ids[1]});
    o.sample_ids = {ids[2], ids[0], ids[1]};
    const Evaluation noise_permuted = evaluate(model, y, {given}, o, {3});
    for (int64_t j = 0; j < 3; ++j)
        for (int64_t order = 0; order < 2; ++order)
            CHECK(noise_permuted.curves[2 * j + order].logit == noise.curves[2 * perm[j] + order].logit);
    o.sample_ids = {1, 2};
    CHECK(error_of([&] { evaluate(model, x, {random7}, o, {3}); }).find("2 sample ids for 3 samples") !=
          std::string::npos);
}

TEST_CASE("evaluate: on the bundled digits CNN, LRP's and the gradient's MoRF curves fall faster than random's") {
    const std::string demo = std::string(RELPROP_FIXTURES_DIR) + "/../../tools/demo/";
    const Model model = Model::load(demo + "digits.onnx");
    const Tensor x = read_npy(demo + "digits_batch.npy");
    EvaluateOptions o = options(PerturbationMetric::PixelFlipping, 16, 64);
    int64_t calls = 0;
    o.progress = [&](int64_t done, int64_t total) {
        ++calls;
        CHECK(done <= total);
    };
    const Evaluation ev = evaluate(
        model, x,
        {parse_evaluated_method("lrp:epsilon-plus-flat"), parse_evaluated_method("gradient"),
         parse_evaluated_method("random")},
        o);
    CHECK(calls == 3 * x.dim(0));
    REQUIRE(ev.summary.size() == 3);
    const double lrp = ev.summary[0].mean.aopc_morf, grad = ev.summary[1].mean.aopc_morf,
                 rnd = ev.summary[2].mean.aopc_morf;
    INFO("AOPC(MoRF): lrp ", lrp, ", gradient ", grad, ", random ", rnd);
    CHECK(lrp > rnd + 1.5);
    CHECK(grad > rnd + 1.0);
    CHECK(ev.summary[0].mean.abpc > ev.summary[2].mean.abpc);
}
