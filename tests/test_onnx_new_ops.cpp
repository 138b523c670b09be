// ONNX import of the registry's newer ops, from models built here with the protobuf classes: each block of
// the 2018+ torchvision CNNs (inverted residual with ReLU6, squeeze-excitation with Sigmoid and HardSigmoid
// gates, HardSwish, channel shuffle with Split/Transpose/Reshape, spatial ReduceMean, LayerNorm arithmetic
// over channels-last values, GELU's erf form, layer scale) imports to the expected ops, runs forward like the
// ops' naive double references, and has a finite relevance under a composite.
#include <doctest/doctest.h>

#include "tests/onnx_builder.h"

using namespace relprop;
using namespace relprop::test;

TEST_CASE("onnx new ops: MobileNet/EfficientNet blocks (Clip, HardSigmoid, HardSwish, Sigmoid gates, ReduceMean)") {
    ModelBuilder b(14, {-1, 4, 6, 6});
    b.floats("w1", {8, 4, 1, 1});
    b.floats("zero", {}, {0.0f});
    b.floats("six", {}, {6.0f});
    b.node("Conv", {"x", "w1"}, {"c1"});
    b.node("Clip", {"c1", "zero", "six"}, {"relu6"});
    auto& hs = b.node("HardSigmoid", {"relu6"}, {"hsig"});
    ModelBuilder::f(hs, "alpha", 1.0f / 6.0f);
    b.node("Mul", {"relu6", "hsig"}, {"hswish_decomposed"});
    b.node("HardSwish", {"hswish_decomposed"}, {"hswish"});
    auto& mean = b.node("ReduceMean", {"hswish"}, {"squeezed"});
    ModelBuilder::ints(mean, "axes", {2, 3});
    b.floats("w2", {8, 8, 1, 1});
    b.node("Conv", {"squeezed", "w2"}, {"excite"});
    b.node("Sigmoid", {"excite"}, {"gate"});
    b.node("Mul", {"hswish", "gate"}, {"scaled"});
    b.node("Add", {"scaled", "hswish"}, {"residual"});
    auto& gap = b.node("ReduceMean", {"residual"}, {"pooled"});
    ModelBuilder::ints(gap, "axes", {-1, -2});
    ModelBuilder::i(gap, "keepdims", 0);
    b.floats("fc", {8, 3});
    b.node("MatMul", {"pooled", "fc"}, {"y"});
    const OnnxModel model = b.import("y");
    CHECK(op_list(model.graph) == "Conv Clip HardSigmoid Mul HardSwish ReduceMean Conv Sigmoid Mul Add ReduceMean Linear");
    // The spatial means are sum-poolings (Norm), the gate products the gradient, the activations Pass.
    const RuleAssignment a = assign_rules(model.graph, "epsilon-plus");
    CHECK(a.rules[1]->describe().rfind("Pass", 0) == 0);
    CHECK(a.rules[5]->describe().rfind("Norm", 0) == 0);
    CHECK(a.rules[8] == nullptr);
    check_forward_and_explain(model, {2, 4, 6, 6});
}

TEST_CASE("onnx new ops: ShuffleNet channel shuffle (Split, Reshape, Transpose, Concat, Slice) and opset-10 Clip") {
    ModelBuilder b(10, {1, 4, 5, 5});
    auto& split = b.node("Split", {"x"}, {"left", "right"});
    ModelBuilder::i(split, "axis", 1);
    auto& clip = b.node("Clip", {"right"}, {"right6"});
    ModelBuilder::f(clip, "min", 0.0f);
    ModelBuilder::f(clip, "max", 6.0f);
    auto& cat = b.node("Concat", {"left", "right6"}, {"joined"});
    ModelBuilder::i(cat, "axis", 1);
    b.int64s("groups", {1, 2, 2, 5, 5});
    b.node("Reshape", {"joined", "groups"}, {"grouped"});
    auto& tr = b.node("Transpose", {"grouped"}, {"shuffled"});
    ModelBuilder::ints(tr, "perm", {0, 2, 1, 3, 4});
    b.int64s("back", {1, 4, 5, 5});
    b.node("Reshape", {"shuffled", "back"}, {"mixed"});
    b.int64s("starts", {1, 0});
    b.int64s("ends", {3, 4});
    b.int64s("slice_axes", {1, 3});
    b.node("Slice", {"mixed", "starts", "ends", "slice_axes"}, {"chunk"});
    auto& sq = b.node("Unsqueeze", {"chunk"}, {"unsq"});
    ModelBuilder::ints(sq, "axes", {2});
    auto& sq2 = b.node("Squeeze", {"unsq"}, {"sq"});
    ModelBuilder::ints(sq2, "axes", {2});
    auto& fl = b.node("Flatten", {"sq"}, {"y"});
    ModelBuilder::i(fl, "axis", 1);
    const OnnxModel model = b.import("y");
    CHECK(op_list(model.graph) == "Slice Slice Clip Concat Reshape Transpose Reshape Slice Reshape Reshape Flatten");
    check_forward_and_explain(model, {1, 4, 5, 5});
}

TEST_CASE("onnx new ops: ConvNeXt arithmetic (channels-last Transpose, LayerNorm as ReduceMean/Sub/Pow/Sqrt/Div, "
          "erf GELU, layer scale)") {
    ModelBuilder b(13, {-1, 4, 3, 3});
    b.floats("w", {4, 4, 3, 3});
    auto& conv = b.node("Conv", {"x", "w"}, {"c"});
    ModelBuilder::ints(conv, "pads", {1, 1, 1, 1});
    auto& t = b.node("Transpose", {"c"}, {"nhwc"});
    ModelBuilder::ints(t, "perm", {0, 2, 3, 1});
    auto& mu = b.node("ReduceMean", {"nhwc"}, {"mu"});
    ModelBuilder::ints(mu, "axes", {-1});
    b.node("Sub", {"nhwc", "mu"}, {"centered"});
    b.floats("two", {}, {2.0f});
    b.node("Pow", {"centered", "two"}, {"sq"});
    auto& var = b.node("ReduceMean", {"sq"}, {"var"});
    ModelBuilder::ints(var, "axes", {-1});
    b.floats("eps", {}, {1e-6f});
    b.node("Add", {"var", "eps"}, {"var_eps"});
    b.node("Sqrt", {"var_eps"}, {"std"});
    b.node("Div", {"centered", "std"}, {"normed"});
    b.floats("gamma", {4});
    b.node("Mul", {"normed", "gamma"}, {"scaled"});
    b.floats("beta", {4});
    b.node("Add", {"scaled", "beta"}, {"ln"});
    b.floats("sqrt2", {}, {1.41421356f});
    b.node("Div", {"ln", "sqrt2"}, {"u"});
    b.node("Erf", {"u"}, {"erf"});
    b.floats("one", {}, {1.0f});
    b.node("Add", {"erf", "one"}, {"erf1"});
    b.node("Mul", {"ln", "erf1"}, {"g2"});
    b.floats("half", {}, {0.5f});
    b.node("Mul", {"g2", "half"}, {"gelu"});
    auto& back = b.node("Transpose", {"gelu"}, {"nchw"});
    ModelBuilder::ints(back, "perm", {0, 3, 1, 2});
    b.node("Add", {"nchw", "c"}, {"block"});
    b.node("GlobalAveragePool", {"block"}, {"gap"});
    b.node("Flatten", {"gap"}, {"flat"});
    b.floats("fc", {3, 4});
    auto& gemm = b.node("Gemm", {"flat", "fc"}, {"y"});
    ModelBuilder::i(gemm, "transB", 1);
    const OnnxModel model = b.import("y");
    CHECK(op_list(model.graph) == "Conv Transpose ReduceMean Sub Pow ReduceMean AddConstant Sqrt Div Mul AddConstant Div Erf AddConstant Mul Mul Transpose Add GlobalAvgPool Flatten Linear");
    check_forward_and_explain(model, {2, 4, 3, 3});
}

TEST_CASE("onnx new ops: bad attributes and inputs name the node and what is supported") {
    {
        ModelBuilder b(13, {1, 4, 3, 3});
        auto& t = b.node("Transpose", {"x"}, {"y"});
        ModelBuilder::ints(t, "perm", {1, 0, 2, 3});
        CHECK_THROWS_WITH_AS(b.import("y"), doctest::Contains("node 'y' (Transpose): Transpose perm [1, 0, 2, 3] moves the batch axis"),
                             Error);
    }
    {
        ModelBuilder b(13, {1, 4, 3, 3});
        b.node("Pow", {"x", "x"}, {"y"});
        CHECK_THROWS_WITH_AS(b.import("y"), doctest::Contains("Pow is supported with a constant exponent only"), Error);
    }
    {
        ModelBuilder b(13, {1, 4, 3, 3});
        b.node("HardSwish", {"x"}, {"y"});
        CHECK_THROWS_WITH_AS(b.import("y"), doctest::Contains("HardSwish is supported from opset 14; this model has opset 13"),
                             Error);
    }
    {
        ModelBuilder b(13, {1, 4, 3, 3});
        b.floats("c", {5});
        b.node("Mul", {"x", "c"}, {"y"});
        CHECK_THROWS_WITH_AS(b.import("y"), doctest::Contains("do not broadcast"), Error);
    }
    {
        ModelBuilder b(13, {1, 4, 3, 3});
        auto& r = b.node("ReduceMean", {"x"}, {"y"});
        ModelBuilder::ints(r, "axes", {0});
        CHECK_THROWS_WITH_AS(b.import("y"), doctest::Contains("over the batch axis (0) is not supported"), Error);
    }
}

TEST_CASE("onnx new ops: LayerNormalization (opset 17) and Gelu (opset 20); unsupported uses are named") {
    auto approximate = [](onnx::NodeProto& n, const std::string& v) {
        auto* a = n.add_attribute();
        a->set_name("approximate");
        a->set_type(onnx::AttributeProto::STRING);
        a->set_s(v);
    };
    {
        ModelBuilder b(20, {-1, 3, 4, 5});
        b.floats("gamma", {4, 5});
        b.floats("beta", {4, 5});
        auto& ln = b.node("LayerNormalization", {"x", "gamma", "beta"}, {"ln"});
        ModelBuilder::i(ln, "axis", -2);
        ModelBuilder::f(ln, "epsilon", 1e-3f);
        b.node("Gelu", {"ln"}, {"g1"});
        approximate(b.node("Gelu", {"g1"}, {"g2"}), "tanh");
        b.node("Flatten", {"g2"}, {"f"});
        b.floats("fc", {60, 3});
        b.node("MatMul", {"f", "fc"}, {"y"});
        const OnnxModel model = b.import("y");
        CHECK(op_list(model.graph) == "LayerNormalization Gelu Gelu Flatten Linear");
        CHECK(model.graph.nodes()[0].op->describe() == "axis=2 epsilon=0.001");
        CHECK(model.graph.nodes()[2].op->describe() == "approximate=tanh");
        check_forward_and_explain(model, {2, 3, 4, 5});
    }
    {
        ModelBuilder b(17, {1, 4, 6});
        b.floats("gamma", {6});
        b.node("LayerNormalization", {"x", "gamma"}, {"y", "mean"});
        CHECK_THROWS_WITH_AS(b.import("mean"), doctest::Contains("the outputs Mean and InvStdDev are not supported"), Error);
    }
    {
        ModelBuilder b(17, {1, 4, 6});
        b.floats("gamma", {6});
        ModelBuilder::i(b.node("LayerNormalization", {"x", "gamma"}, {"y"}), "stash_type", 0);
        CHECK_THROWS_WITH_AS(b.import("y"), doctest::Contains("stash_type=0 is not supported (only 1, float32)"), Error);
    }
    {
        ModelBuilder b(17, {1, 4, 6});
        b.floats("gamma", {4});
        b.node("LayerNormalization", {"x", "gamma"}, {"y"});
        CHECK_THROWS_WITH_AS(b.import("y"), doctest::Contains("the scale [4] does not broadcast to the normalized axes [6]"),
                             Error);
    }
    {
        ModelBuilder b(17, {1, 4, 6});
        b.floats("gamma", {4, 6});
        ModelBuilder::i(b.node("LayerNormalization", {"x", "gamma"}, {"y"}), "axis", -3);
        CHECK_THROWS_WITH_AS(b.import("y"), doctest::Contains("over the batch axis (axis 0) is not supported"), Error);
    }
    {
        ModelBuilder b(20, {1, 4});
        approximate(b.node("Gelu", {"x"}, {"y"}), "fast");
        CHECK_THROWS_WITH_AS(b.import("y"), doctest::Contains("Gelu: approximate='fast' is not one of 'none', 'tanh'"), Error);
    }
    {
        ModelBuilder b(17, {1, 4});
        b.node("Gelu", {"x"}, {"y"});
        CHECK_THROWS_WITH_AS(b.import("y"), doctest::Contains("Gelu is supported from opset 20; this model has opset 17"), Error);
    }
}

TEST_CASE("onnx new ops: dynamo's as_strided view (Reshape to 1-D, Gather of every element in order) is a Reshape") {
    // torch 2.11's dynamo export of convnext_tiny with a fixed batch: ReduceMean → Reshape [-1] → Gather(axis 0)
    // with index [1, C, 1, 1] = 0, 1, ..., C-1 (aten.as_strided after AdaptiveAvgPool2d).
    const auto build = [](std::vector<int64_t> index) {
        ModelBuilder b(18, {1, 4, 3, 3});
        b.int64s("axes", {2, 3});
        b.node("ReduceMean", {"x", "axes"}, {"mean"});
        b.int64s("flat", {-1});
        b.node("Reshape", {"mean", "flat"}, {"line"});
        auto* t = b.m.mutable_graph()->add_initializer();
        t->set_name("index");
        t->set_data_type(onnx::TensorProto::INT64);
        for (int64_t d : {1, 4, 1, 1}) t->add_dims(d);
        for (int64_t v : index) t->add_int64_data(v);
        auto& g = b.node("Gather", {"line", "index"}, {"view"});
        ModelBuilder::i(g, "axis", 0);
        b.node("Flatten", {"view"}, {"f"});
        b.floats("fc", {3, 4});
        auto& gemm = b.node("Gemm", {"f", "fc"}, {"y"});
        ModelBuilder::i(gemm, "transB", 1);
        return b.import("y");
    };
    const OnnxModel model = build({0, 1, 2, 3});
    CHECK(op_list(model.graph) == "ReduceMean Reshape Reshape Flatten Linear");
    check_forward_and_explain(model, {1, 4, 3, 3});
    // Any other order is a real strided view: refused as before.
    CHECK_THROWS_WITH_AS(build({1, 0, 2, 3}), doctest::Contains("Gather with a rank-4 index [1, 4, 1, 1] is not supported"),
                         Error);
}

TEST_CASE("onnx new ops: Keras Cropping2D as tf2onnx writes it (Slice over every axis, INT32_MAX ends)") {
    // NASNetMobile's cropping2d after its zero_padding2d: axes [0, 2, 3, 1], starts [0, 1, 1, 0], ends INT32_MAX on
    // every axis; the batch and channel entries take everything (the batch is symbolic).
    ModelBuilder b(17, {-1, 2, 5, 5});
    b.int64s("starts", {0, 1, 1, 0});
    b.int64s("ends", {2147483647, 2147483647, 2147483647, 2147483647});
    b.int64s("slice_axes", {0, 2, 3, 1});
    b.node("Slice", {"x", "starts", "ends", "slice_axes"}, {"y"});
    const OnnxModel model = b.import("y");
    CHECK(op_list(model.graph) == "Slice");
    CHECK(model.graph.nodes()[0].op->describe() == "axis 2: 1:2147483647:1 axis 3: 1:2147483647:1 axis 1: 0:2147483647:1");
    check_forward_and_explain(model, {2, 2, 5, 5});
    // A batch entry that is not "everything" stays refused, in one line naming the axis.
    ModelBuilder c(17, {-1, 2, 5, 5});
    c.int64s("starts", {1});
    c.int64s("ends", {2147483647});
    c.int64s("slice_axes", {0});
    c.node("Slice", {"x", "starts", "ends", "slice_axes"}, {"y"});
    CHECK_THROWS_WITH_AS(c.import("y"), doctest::Contains("Slice along the batch axis (0) is not supported"), Error);
}

TEST_CASE("onnx new ops: zero Pad of H, W of a channels-last value (tf2onnx's NHWC ZeroPadding2D), not folded") {
    // MobileNetV3Small's expanded_conv_depthwise_pad: pads [0, 0, 0, 0, 0, 1, 1, 0] on [N, H, W, C] between Transposes.
    ModelBuilder b(17, {-1, 3, 5, 5});
    auto& t = b.node("Transpose", {"x"}, {"nhwc"});
    ModelBuilder::ints(t, "perm", {0, 2, 3, 1});
    b.int64s("pads", {0, 0, 0, 0, 0, 1, 1, 0});
    b.node("Pad", {"nhwc", "pads"}, {"padded"});
    auto& back = b.node("Transpose", {"padded"}, {"nchw"});
    ModelBuilder::ints(back, "perm", {0, 3, 1, 2});
    b.floats("w", {2, 3, 3, 3});
    b.node("Conv", {"nchw", "w"}, {"y"});
    const OnnxModel model = b.import("y");
    CHECK(op_list(model.graph) == "Transpose Pad Transpose Conv");
    CHECK(model.graph.nodes()[1].op->describe() == "p=0,0,1,1 on axes 1, 2 (NHWC)");
    check_forward_and_explain(model, {2, 3, 5, 5});
    // Padding the channels (or the batch) stays refused, in one line.
    ModelBuilder c(17, {-1, 3, 5, 5});
    c.int64s("pads", {0, 1, 0, 1, 0, 0, 0, 0});
    c.node("Pad", {"x", "pads"}, {"y"});
    CHECK_THROWS_WITH_AS(c.import("y"), doctest::Contains("Pad is supported on two adjacent spatial axes (2, 3 or 1, 2)"),
                         Error);
}
