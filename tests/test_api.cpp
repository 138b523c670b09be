// The public API through <relprop/relprop.hpp> (the engine headers below only to compare with): loading from
// a file and from memory, methods, caller-owned memory, per-node relevance, errors, and concurrent calls.
#include <relprop/relprop.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <thread>

#include <onnx/onnx_pb.h>

// The engine, to compare with (not part of the installed API):
#include "engine/attribution.h"
#include "engine/backend.h"
#include "engine/executor.h"
#include "engine/graph.h"
#include "engine/integrated_gradients.h"
#include "engine/occlusion.h"
#include "engine/smoothgrad.h"
#include "io/onnx_import.h"
#include "rules/composite.h"
#include "rules/explainer.h"
#include "tests/fixtures.h"

using relprop::test::error_of;
using relprop::test::fixture_path;

namespace {

std::string demo_model() { return fixture_path("../../tools/demo/digits.onnx"); }
relprop::Tensor demo_batch() { return relprop::read_npy(fixture_path("../../tools/demo/digits_batch.npy")); }

}  // namespace

TEST_CASE("API: a model from a file or from memory explains the same; the version is the project's") {
    relprop::Model from_file = relprop::Model::load(demo_model());
    std::ifstream in(demo_model(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    relprop::Model from_memory = relprop::Model::load_buffer(bytes.data(), bytes.size());
    CHECK(from_file.input_shape() == relprop::Shape{-1, 1, 32, 32});
    CHECK(from_file.device().rfind("cpu", 0) == 0);
    const relprop::Tensor x = demo_batch();
    const relprop::Result a = relprop::Attributor(from_file)(x);
    const relprop::Result b = relprop::Attributor(from_memory)(x);
    CHECK(a.relevance.to_vector() == b.relevance.to_vector());
    CHECK(a.logits.shape() == relprop::Shape{x.dim(0), 10});
    CHECK(a.targets.size() == static_cast<size_t>(x.dim(0)));
    CHECK(std::string(RELPROP_VERSION) == std::to_string(RELPROP_VERSION_MAJOR) + "." +
                                               std::to_string(RELPROP_VERSION_MINOR) + "." +
                                               std::to_string(RELPROP_VERSION_PATCH));
    CHECK(error_of([] { relprop::Model::load_buffer("garbage", 7); }).find("ONNX buffer") != std::string::npos);
}

TEST_CASE("API: the Attributor gives the Explainer's LRP and each method's engine result") {
    relprop::Model model = relprop::Model::load(demo_model());
    const relprop::Tensor x = demo_batch();
    relprop::AttributorOptions o;
    o.composite = "epsilon-gamma-box";
    o.composite_options.low = {0.0f};
    o.composite_options.high = {1.0f};
    o.rules = {"Linear=epsilon:0.5"};
    relprop::Attributor lrp(model, o);
    relprop::Explainer explainer(model.shared_graph(), model.backend());
    relprop::Plan plan(model.shared_graph(),
                       relprop::assign_rules(model.graph(), o.composite, o.composite_options,
                                             {relprop::parse_override(o.rules[0])}),
                       model.backend());
    const relprop::Explanation e = explainer.explain(explainer.forward(x), plan, {3});
    const relprop::Result r = lrp(x, {3});
    CHECK(r.relevance.to_vector() == e.relevance.to_vector());
    CHECK(r.targets == std::vector<int64_t>(x.dim(0), 3));
    REQUIRE(lrp.rules() != nullptr);
    CHECK(lrp.rules()->rules.size() == model.graph().nodes().size());
    // The rules as text, for code that sees only the installed headers: one line per node after the header.
    const std::string listing = lrp.rule_listing();
    CHECK(listing == relprop::rule_listing(model.graph(), *lrp.rules()));
    CHECK(std::count(listing.begin(), listing.end(), '\n') == static_cast<long>(model.graph().nodes().size()) + 1);
    CHECK(listing.find("override 'Linear'") != std::string::npos);

    relprop::Executor ex(model.graph(), model.backend());
    o = {};
    o.method = relprop::Method::GradientXInput;
    CHECK(relprop::Attributor(model, o)(x).relevance.to_vector() == relprop::gradient_x_input(ex, x).attribution.to_vector());
    CHECK(relprop::Attributor(model, o).rules() == nullptr);
    CHECK(relprop::Attributor(model, o).rule_listing().empty());
    o.method = relprop::Method::IntegratedGradients;
    o.integrated_gradients.steps = 4;
    CHECK(relprop::Attributor(model, o)(x).relevance.to_vector() ==
          relprop::integrated_gradients(ex, x, {}, o.integrated_gradients).attribution.to_vector());
    o.method = relprop::Method::Occlusion;
    o.occlusion.window = o.occlusion.stride = {8, 8};
    CHECK(relprop::Attributor(model, o)(x).relevance.to_vector() ==
          relprop::occlusion(ex, x, {}, o.occlusion).attribution.to_vector());

    CHECK(relprop::method_names().size() == 6);
    for (const std::string& name : relprop::method_names()) CHECK(relprop::method_name(relprop::parse_method(name)) == name);
    CHECK(error_of([] { relprop::parse_method("lime"); }) ==
          "unknown method 'lime' (known: lrp, gradient, input-x-gradient, smoothgrad, integrated-gradients, occlusion)");
}

TEST_CASE("API: caller-owned memory is used in place; per-node relevance; input errors") {
    relprop::Model model = relprop::Model::load(demo_model());
    const relprop::Tensor batch = demo_batch();
    std::vector<float> pixels(batch.data(), batch.data() + 32 * 32);  // the caller's buffer: sample 0
    const relprop::Tensor wrapped = relprop::Tensor::wrap({1, 1, 32, 32}, pixels.data());
    CHECK(wrapped.data() == pixels.data());
    relprop::AttributorOptions o;
    o.keep_node_relevance = true;
    o.composite_options.zero_bias = true;
    const relprop::Attributor explain(model, o);
    const relprop::Result one = explain(wrapped);
    const relprop::Result all = explain(batch);
    double diff = 0.0, scale = 0.0;
    for (int64_t i = 0; i < one.relevance.numel(); ++i) {
        diff = std::max(diff, std::abs(double(one.relevance[i]) - all.relevance[i]));
        scale = std::max(scale, std::abs(double(all.relevance[i])));
    }
    CHECK(diff <= 1e-5 * scale);  // sample 0 alone or in a batch: the same up to kernel rounding
    CHECK(pixels == std::vector<float>(batch.data(), batch.data() + 32 * 32));  // the input is not written

    // Per-node relevance: one-hot at the output node; the first layer (Flat, zero bias) passes on all of
    // what reaches its output to the input.
    const relprop::Graph& g = model.graph();
    CHECK(one.node_relevance.size() == g.nodes().size());
    const relprop::Tensor& at_out = one.node_relevance.at(g.nodes().back().name);
    for (int64_t k = 0; k < 10; ++k) CHECK(at_out[k] == (k == one.targets[0] ? 1.0f : 0.0f));
    const relprop::Tensor& at_stem = one.node_relevance.at(g.nodes().front().name);
    double stem = 0.0, input = 0.0;
    for (int64_t i = 0; i < at_stem.numel(); ++i) stem += at_stem[i];
    for (int64_t i = 0; i < one.relevance.numel(); ++i) input += one.relevance[i];
    CHECK(std::abs(stem) > 0.1);
    CHECK(input == doctest::Approx(stem).epsilon(1e-5));

    pixels[5] = std::nanf("");
    CHECK(error_of([&] { explain(wrapped); }).find("1 of 1024 values are NaN/Inf (first at index 5)") != std::string::npos);
    o.allow_nonfinite = true;
    CHECK(error_of([&] { relprop::Attributor(model, o)(wrapped); }) == "<no error>");
    CHECK(error_of([&] { explain(relprop::Tensor({1, 1, 16, 16})); }).find("[1, 1, 16, 16]") != std::string::npos);
    o.method = relprop::Method::Occlusion;
    CHECK(error_of([&] { relprop::Attributor(model, o); }) ==
          "keep_node_relevance needs the lrp, gradient or input-x-gradient method, not occlusion");
    o = {};
    o.rules = {"NoSuchNode=flat"};
    CHECK(error_of([&] { relprop::Attributor(model, o); }).find("NoSuchNode") != std::string::npos);
}

TEST_CASE("API: concurrent calls on one Attributor give the serial results") {
    relprop::Model model = relprop::Model::load(demo_model());
    const relprop::Tensor batch = demo_batch();
    const int64_t n = batch.dim(0), per = batch.numel() / n;
    for (relprop::Method method : {relprop::Method::Lrp, relprop::Method::Gradient}) {
        relprop::AttributorOptions o;
        o.method = method;
        const relprop::Attributor explain(model, o);
        // Each thread explains its own sample (and different targets) 20 times.
        std::vector<relprop::Tensor> inputs;
        std::vector<std::vector<float>> serial;
        for (int64_t i = 0; i < n; ++i) {
            inputs.push_back(relprop::Tensor({1, 1, 32, 32}, std::vector<float>(batch.data() + i * per,
                                                                                 batch.data() + (i + 1) * per)));
            serial.push_back(explain(inputs.back(), {i % 10}).relevance.to_vector());
        }
        std::vector<int> mismatches(n, 0);
        std::vector<std::string> errors(n);
        std::vector<std::thread> threads;
        for (int64_t i = 0; i < n; ++i)
            threads.emplace_back([&, i] {
                try {
                    for (int k = 0; k < 20; ++k)
                        if (explain(inputs[i], {i % 10}).relevance.to_vector() != serial[i]) ++mismatches[i];
                } catch (const std::exception& e) {
                    errors[i] = e.what();
                }
            });
        for (std::thread& t : threads) t.join();
        for (int64_t i = 0; i < n; ++i) {
            CHECK(errors[i].empty());
            CHECK(mismatches[i] == 0);
        }
    }
}

TEST_CASE("API: a model exported with its batch fixed at 1 explains a batch of N one sample at a time") {
    // The demo model with its symbolic batch replaced by 1, as torch.onnx.export writes a model without
    // dynamic_axes (and the dynamo exporter without dynamic_shapes).
    onnx::ModelProto proto;
    {
        std::ifstream in(demo_model(), std::ios::binary);
        REQUIRE(proto.ParseFromIstream(&in));
    }
    auto* batch_dim = proto.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0);
    batch_dim->clear_dim_param();
    batch_dim->set_dim_value(1);
    const std::string bytes = proto.SerializeAsString();
    const relprop::Model fixed = relprop::Model::load_buffer(bytes.data(), bytes.size());
    const relprop::Model free = relprop::Model::load(demo_model());
    CHECK(fixed.input_shape() == relprop::Shape{1, 1, 32, 32});
    const relprop::Tensor batch = demo_batch();
    const int64_t n = batch.dim(0), per = batch.numel() / n;
    for (relprop::Method method : {relprop::Method::Lrp, relprop::Method::SmoothGrad}) {
        INFO(relprop::method_name(method));
        relprop::AttributorOptions o;
        o.method = method;
        o.keep_node_relevance = method == relprop::Method::Lrp;
        const std::vector<int64_t> targets = {3, 1, 4, 1, 5, 9};
        const relprop::Result all = relprop::Attributor(fixed, o)(batch, targets);
        REQUIRE(all.relevance.shape() == batch.shape());
        REQUIRE(all.logits.shape() == relprop::Shape{n, 10});
        CHECK(all.targets == targets);
        // Each sample as the free-batch model explains it alone, to the bit.
        const relprop::Attributor alone(free, o);
        for (int64_t i = 0; i < n; ++i) {
            const relprop::Tensor sample =
                relprop::Tensor::wrap({1, 1, 32, 32}, const_cast<float*>(batch.data()) + i * per);
            const relprop::Result r = alone(sample, {targets[i]});
            CHECK(std::equal(r.relevance.data(), r.relevance.data() + per, all.relevance.data() + i * per));
            CHECK(std::equal(r.logits.data(), r.logits.data() + 10, all.logits.data() + i * 10));
            for (const auto& [name, t] : r.node_relevance) {
                const int64_t m = t.numel();
                CHECK(std::equal(t.data(), t.data() + m, all.node_relevance.at(name).data() + i * m));
            }
        }
    }
    const relprop::Attributor lrp(fixed);
    CHECK(error_of([&] { lrp(batch, {1, 2}); }) == "got 2 targets for a batch of 6");
}
