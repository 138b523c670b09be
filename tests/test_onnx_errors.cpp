// Bad ONNX input: each broken file gives its specific error, never a crash or a hang.
#include <doctest/doctest.h>

#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "relprop/error.hpp"
#include "io/onnx_import.h"
#include "tests/fixtures.h"
#include "tests/onnx_edit.h"

using namespace relprop;
using relprop::test::attribute;
using relprop::test::fixture;
using relprop::test::fixture_path;
using relprop::test::initializer;
using relprop::test::node_of_type;
using relprop::test::read_file;

namespace {

OnnxModel import(const onnx::ModelProto& m) {
    return parse_onnx(m.SerializeAsString(), "bad.onnx");
}

}  // namespace

TEST_CASE("onnx errors: files that are not ONNX") {
    CHECK_THROWS_WITH_AS(load_onnx("/nonexistent/model.onnx"), doctest::Contains("/nonexistent/model.onnx: no such file"),
                         Error);
    CHECK_THROWS_WITH_AS(load_onnx(fixture_path("onnx")), doctest::Contains("is a directory"), Error);
    CHECK_THROWS_WITH_AS(parse_onnx("", "empty.onnx"), doctest::Contains("empty.onnx: the file is empty"), Error);
    CHECK_THROWS_WITH_AS(parse_onnx("this is a text file, not a model\n", "text.onnx"),
                         doctest::Contains("text.onnx: not a valid ONNX model"), Error);
    std::mt19937 rng(5);
    std::string noise(4096, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    CHECK_THROWS_AS(parse_onnx(noise, "noise.onnx"), Error);
    // Truncated anywhere: always a relprop::Error, never a crash.
    const std::string whole = read_file(fixture_path("onnx/tiny_resnet.onnx"));
    for (size_t cut : {size_t{1}, size_t{17}, whole.size() / 3, whole.size() / 2, whole.size() - 100, whole.size() - 1})
        CHECK_THROWS_AS(parse_onnx(whole.substr(0, cut), "cut.onnx"), Error);
    CHECK_THROWS_WITH_AS(parse_onnx(whole.substr(0, whole.size() / 2), "half.onnx"),
                         doctest::Contains("half.onnx: not a valid ONNX model"), Error);
}

TEST_CASE("onnx errors: unsupported op, domain and attributes") {
    onnx::ModelProto m = fixture("tiny_resnet");
    node_of_type(m, "Relu")->set_op_type("Softsign");
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("(Softsign): unsupported op 'Softsign'; supported ops: Conv, Gemm"),
                         Error);
    m = fixture("tiny_resnet");
    onnx::NodeProto* relu = node_of_type(m, "Relu");
    relu->set_domain("com.microsoft");
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("op from domain 'com.microsoft' is not supported"), Error);
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains(("node '" + relu->name() + "'").c_str()), Error);

    m = fixture("op_conv_asym_pads");
    auto* pad = attribute(*node_of_type(m, "Conv"), "auto_pad");
    pad->set_type(onnx::AttributeProto::STRING);
    pad->set_s("SOMETIMES");
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("auto_pad 'SOMETIMES' is not one of NOTSET"), Error);
    m = fixture("op_maxpool_ceil");
    auto* order = attribute(*node_of_type(m, "MaxPool"), "storage_order");
    order->set_type(onnx::AttributeProto::INT);
    order->set_i(1);
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("MaxPool storage_order=1 is not supported"), Error);
    m = fixture("op_conv_asym_pads");
    auto* strides = attribute(*node_of_type(m, "Conv"), "strides");
    strides->set_type(onnx::AttributeProto::FLOAT);
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("attribute 'strides' has type FLOAT, expected INTS"), Error);
    m = fixture("tiny_pad");
    auto* mode = attribute(*node_of_type(m, "Pad"), "mode");
    mode->set_type(onnx::AttributeProto::STRING);
    mode->set_s("reflect");
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("Pad mode 'reflect' is not supported"), Error);
    m = fixture("tiny_resnet");
    for (auto& o : *m.mutable_opset_import()) o.set_version(3);
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("opset 3 is not supported"), Error);
}

TEST_CASE("onnx errors: missing, non-finite, absurd and inconsistent initializers") {
    onnx::ModelProto m = fixture("op_conv_group");
    const std::string weight = node_of_type(m, "Conv")->input(1);
    m.mutable_graph()->mutable_initializer()->RemoveLast();
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains(("input '" + weight + "' is not an initializer, a graph input").c_str()),
                         Error);

    m = fixture("op_conv_group");
    onnx::TensorProto* w = initializer(m, weight);
    std::string raw = w->raw_data();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(raw.data() + 8, &nan, 4);
    w->set_raw_data(raw);
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains(("weight '" + weight + "': 1 of 108 values are NaN/Inf (first at index 2); "
                                                       "the model's weights are broken (allow them with "
                                                       "ImportOptions::allow_nonfinite or --allow-nonfinite)").c_str()),
                         Error);
    ImportOptions allow;
    allow.allow_nonfinite = true;
    CHECK(std::isnan(parse_onnx(m.SerializeAsString(), "nan.onnx", allow).graph.nodes()[0].op->params().at("weight")[2]));

    m = fixture("op_conv_group");
    w = initializer(m, weight);
    w->set_dims(0, int64_t{1} << 40);
    w->set_dims(1, int64_t{1} << 40);
    const std::string too_big = "bad.onnx: initializer '" + weight +
                                "' has shape [1099511627776, 1099511627776, 3, 3], more than the limit of 2147483648 "
                                "elements (raise ImportOptions::max_tensor_elements to import it)";
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains(too_big.c_str()), Error);
    w->set_dims(0, -3);
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("has a negative dimension in [-3, 1099511627776, 3, 3]"), Error);

    m = fixture("op_conv_group");
    w = initializer(m, weight);
    w->set_raw_data(w->raw_data().substr(0, 40));
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("its raw_data has 10 (truncated or corrupt file?)"), Error);

    m = fixture("op_conv_group");
    w = initializer(m, weight);
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("keeps its data in an external file"), Error);

    m = fixture("op_conv_group");
    w = initializer(m, weight);
    w->set_data_type(onnx::TensorProto::STRING);
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("has data type 8 (STRING)"), Error);
}

TEST_CASE("onnx errors: inputs and graph structure") {
    onnx::ModelProto m = fixture("op_conv_group");
    auto* dims = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
    dims->mutable_dim()->RemoveLast();  // [2, 6, 7] into a Conv
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("Conv expects a 4-D input [N, C, H, W], got [2, 6, 7]"), Error);

    m = fixture("op_conv_group");
    dims = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
    dims->mutable_dim(2)->set_dim_param("height");
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("has a symbolic dimension 2 ('height')"), Error);
    ImportOptions fixed;
    fixed.input_shape = {2, 6, 7, 9};
    CHECK(parse_onnx(m.SerializeAsString(), "x.onnx", fixed).graph.nodes().size() == 1);

    m = fixture("op_conv_group");
    m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("has element type INT64; relprop needs float32"), Error);

    m = fixture("op_add");
    *m.mutable_graph()->add_input() = m.graph().input(0);
    m.mutable_graph()->mutable_input(1)->set_name("second");
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("exactly one input, this one has 2"), Error);

    // Nodes out of order (a cycle, or just unsorted): the reader of a not-yet-produced value is named.
    m = fixture("op_concat_axis1");
    auto* nodes = m.mutable_graph()->mutable_node();
    nodes->SwapElements(0, nodes->size() - 1);
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("is not an initializer, a graph input or the output of an earlier"),
                         Error);

    m = fixture("op_add");
    m.mutable_graph()->mutable_output(0)->set_name("nowhere");
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("the graph output 'nowhere' is not produced by any node"), Error);

    m = fixture("tiny_resnet");
    node_of_type(m, "Gemm")->set_input(1, node_of_type(m, "Gemm")->input(0));  // weight from the data
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("must be a constant"), Error);
}

TEST_CASE("onnx errors: absurd sizes are refused before anything is allocated") {
    onnx::ModelProto m = fixture("op_conv_group");
    auto* pads = attribute(*node_of_type(m, "Conv"), "pads");
    pads->clear_ints();
    for (int k = 0; k < 4; ++k) pads->add_ints(int64_t{1} << 40);
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("attribute 'pads' has an out-of-range value 1099511627776"), Error);
    for (int k = 0; k < 4; ++k) pads->set_ints(k, int64_t{1} << 15);  // 6 x 65543 x 65545 per sample
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("per sample, more than the limit of 268435456 elements (raise "
                                                      "ImportOptions::max_value_elements to import it)"),
                         Error);

    // A constant subgraph that would make a huge tensor (ConstantOfShape of [2^20, 2^20]).
    m = fixture("op_reshape");
    onnx::NodeProto* reshape = node_of_type(m, "Reshape");
    onnx::NodeProto* make_shape = m.mutable_graph()->add_node();
    make_shape->set_op_type("Constant");
    make_shape->add_output("huge_shape");
    auto* value = make_shape->add_attribute();
    value->set_name("value");
    value->set_type(onnx::AttributeProto::TENSOR);
    value->mutable_t()->set_data_type(onnx::TensorProto::INT64);
    value->mutable_t()->add_dims(2);
    value->mutable_t()->add_int64_data(int64_t{1} << 20);
    value->mutable_t()->add_int64_data(int64_t{1} << 20);
    onnx::NodeProto* fill = m.mutable_graph()->add_node();
    fill->set_op_type("ConstantOfShape");
    fill->add_input("huge_shape");
    fill->add_output("huge");
    // Run them before the Reshape: move the two new nodes to the front.
    auto* nodes = m.mutable_graph()->mutable_node();
    for (int k = nodes->size() - 1; k > 1; --k) nodes->SwapElements(k, k - 2);
    (void)reshape;
    CHECK_THROWS_WITH_AS(import(m), doctest::Contains("would exceed the limit of 16777216 elements for constants computed "
                                                      "at import time (raise ImportOptions::max_folded_elements to import it)"),
                         Error);
}
