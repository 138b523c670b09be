// ONNX import: every committed fixture (tests/fixtures/onnx, made by tools/make_onnx_fixtures.py) runs
// forward to its reference output; attribute corner cases come from the op_* fixtures.
#include <doctest/doctest.h>

#include "layers/op_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/backend.h"
#include "relprop/error.hpp"
#include "engine/executor.h"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "tests/fixtures.h"

using namespace relprop;
using relprop::test::fixture_path;
using relprop::test::max_rel_error;
using relprop::test::onnx_fixture_names;

namespace {

}  // namespace

TEST_CASE("onnx fixtures: imported graphs reproduce the exporter's outputs") {
    const auto names = onnx_fixture_names();
    REQUIRE(names.size() >= 25);
    auto backend = make_backend("cpu");
    for (const std::string& name : names) {
        INFO("fixture " << name);
        const OnnxModel model = load_onnx(fixture_path("onnx/" + name + ".onnx"));
        const Tensor x = read_npy(fixture_path("onnx/" + name + ".input.npy"));
        const Tensor want = read_npy(fixture_path("onnx/" + name + ".output.npy"));
        Executor ex(model.graph, *backend);
        const Tensor got = ex.forward({x}).output();
        REQUIRE(got.shape() == want.shape());
        const double err = max_rel_error(got, want);
        std::printf("onnx fixture %-24s %3zu nodes, forward max rel error %.1e\n", name.c_str(),
                    model.graph.nodes().size(), err);
        CHECK(err <= 1e-5);
        // A symbolic batch is bound at run time: the first sample alone gives the first row.
        if (model.graph.input_shapes()[0][0] == -1 && x.dim(0) > 1) {
            Shape one = x.shape();
            one[0] = 1;
            const Tensor x1 = Tensor::wrap(one, const_cast<float*>(x.data()));
            const Tensor y1 = ex.forward({x1}).output();
            for (int64_t i = 0; i < y1.numel(); ++i) CHECK(y1[i] == doctest::Approx(got[i]).epsilon(1e-5));
        }
    }
}

TEST_CASE("onnx import keeps names, folds constants, pads and biases") {
    // tiny_pad: ZeroPad2d's pads are computed by a Shape/ConstantOfShape/Slice/Transpose/... subgraph;
    // the AvgPool2d(padding, count_include_pad) exports as Pad + AveragePool.
    const OnnxModel pad = load_onnx(fixture_path("onnx/tiny_pad.onnx"));
    for (const Node& n : pad.graph.nodes()) {
        CHECK(n.op->type() != OpType::Pad);  // all folded: into the conv and the average pool
        CHECK(!n.name.empty());
    }
    bool conv_pad_note = false, avg_pad_note = false;
    for (const std::string& note : pad.notes) {
        conv_pad_note = conv_pad_note || note.find("folded into Conv") != std::string::npos;
        avg_pad_note = avg_pad_note || note.find("folded into AveragePool") != std::string::npos;
    }
    CHECK(conv_pad_note);
    CHECK(avg_pad_note);
    CHECK(pad.opset == 11);

    // MatMul + Add(bias) becomes one Linear node with the bias.
    const OnnxModel mm = load_onnx(fixture_path("onnx/op_matmul_add.onnx"));
    REQUIRE(mm.graph.nodes().size() == 1);
    CHECK(mm.graph.nodes()[0].op->type() == OpType::Linear);
    CHECK(mm.graph.nodes()[0].op->params().count("bias") == 1);

    // Identity and Dropout stay (as Identity nodes) until canonization; the batch is symbolic.
    const OnnxModel drop = load_onnx(fixture_path("onnx/op_dropout_identity.onnx"));
    CHECK(drop.graph.nodes().size() == 2);
    CHECK(drop.graph.input_shapes()[0][0] == -1);

    // fp16 weights are converted, with a note.
    const OnnxModel half = load_onnx(fixture_path("onnx/op_fp16_weights.onnx"));
    bool half_note = false;
    for (const std::string& note : half.notes) half_note = half_note || note.find("float16") != std::string::npos;
    CHECK(half_note);

    // The tiny ResNet's node names are the exporter's.
    const OnnxModel res = load_onnx(fixture_path("onnx/tiny_resnet_keepbn.onnx"));
    int bn = 0;
    for (const Node& n : res.graph.nodes()) bn += n.op->type() == OpType::BatchNorm;
    CHECK(bn == 6);
}

TEST_CASE("onnx import: every registered ONNX op type has an import function and is in the supported list") {
    const std::vector<std::string> supported = supported_onnx_ops();
    size_t bindings = 0;
    for (const OpInfo& info : op_registry()) {
        for (const OnnxBinding& b : info.onnx) {
            ++bindings;
            CHECK_MESSAGE(static_cast<bool>(info.import), info.name << " declares ONNX op " << b.op_type << " but no import");
            CHECK_MESSAGE(std::find(supported.begin(), supported.end(), b.op_type) != supported.end(),
                          b.op_type << " is registered but missing from supported_onnx_ops()");
            CHECK(find_onnx_op(b.op_type, b.since) == &info);
        }
    }
    CHECK(bindings >= 30);
    CHECK(find_onnx_op("HardSwish", 13) == nullptr);  // HardSwish is an opset-14 op
    CHECK(find_onnx_op("HardSwish", 14) == &op_info(OpType::HardSwish));
    CHECK(find_onnx_op("NoSuchOp", 13) == nullptr);
}
