// The relprop command line, run as a user runs it: outputs, targets, heatmaps, and every kind of bad
// input with its message and exit code (0 success, 1 model/input error, 2 usage error).
#include <doctest/doctest.h>

#include <onnx/onnx_pb.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "relprop/image.hpp"
#include "relprop/npy.hpp"
#include "tests/cli_run.h"
#include "tests/fixtures.h"

using namespace relprop;
using relprop::test::fixture_path;
namespace fs = std::filesystem;

namespace {

using Result = relprop::test::CliResult;
using relprop::test::relprop_cli;
using relprop::test::temp_dir;

// y = x·B + C with B = (1, −1)ᵀ, C = −1: DESIGN.md's AlphaBeta check as an ONNX Gemm.
std::string write_gemm_model() {
    onnx::ModelProto m;
    m.set_ir_version(7);
    m.add_opset_import()->set_version(13);
    onnx::GraphProto* g = m.mutable_graph();
    g->set_name("gemm");
    auto* in = g->add_input();
    in->set_name("x");
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(1);
    tt->mutable_shape()->add_dim()->set_dim_value(2);
    auto* out = g->add_output();
    out->set_name("y");
    out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    auto* b = g->add_initializer();
    b->set_name("B");
    b->set_data_type(onnx::TensorProto::FLOAT);
    b->add_dims(2);
    b->add_dims(1);
    b->add_float_data(1);
    b->add_float_data(-1);
    auto* c = g->add_initializer();
    c->set_name("C");
    c->set_data_type(onnx::TensorProto::FLOAT);
    c->add_dims(1);
    c->add_float_data(-1);
    auto* node = g->add_node();
    node->set_op_type("Gemm");
    node->set_name("dense");
    node->add_input("x");
    node->add_input("B");
    node->add_input("C");
    node->add_output("y");
    const std::string path = (temp_dir() / "gemm.onnx").string();
    std::ofstream(path, std::ios::binary) << m.SerializeAsString();
    return path;
}

}  // namespace

TEST_CASE("cli: DESIGN.md's AlphaBeta hand calculation through the command line") {
    const std::string model = write_gemm_model();
    const std::string x = (temp_dir() / "x11.npy").string();
    write_npy(x, Tensor({1, 2}, {1, 1}));
    const std::string out = (temp_dir() / "r.npy").string();
    Result r = relprop_cli("explain " + model + " " + x + " --rule dense=alpha-beta:1,0 --init logit --out " + out);
    REQUIRE_MESSAGE(r.code == 0, r.output);
    Tensor rel = read_npy(out);
    CHECK(rel.shape() == Shape{1, 2});
    CHECK(rel[0] == doctest::Approx(-1.0).epsilon(1e-5));
    CHECK(rel[1] == doctest::Approx(0.0));
    r = relprop_cli("explain " + model + " " + x + " --rule Linear=alpha-beta:2,1 --init logit --out " + out);
    REQUIRE_MESSAGE(r.code == 0, r.output);
    rel = read_npy(out);
    CHECK(rel[0] == doctest::Approx(-2.0).epsilon(1e-5));
    CHECK(rel[1] == doctest::Approx(0.5).epsilon(1e-5));
}

TEST_CASE("cli: explain a .npy batch: --out shape, targets, JSON") {
    const std::string model = fixture_path("onnx/tiny_resnet.onnx"), x = fixture_path("onnx/tiny_resnet.input.npy");
    const std::string out = (temp_dir() / "resnet.npy").string();
    Result r = relprop_cli("explain " + model + " " + x + " --out " + out);
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("tiny_resnet.input_0: predicted class") != std::string::npos);
    const Tensor rel = read_npy(out);
    CHECK(rel.shape() == Shape{2, 3, 32, 32});
    r = relprop_cli("explain " + model + " " + x + " --target 7 --json");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("\"target\": 7") != std::string::npos);
    CHECK(r.output.find("\"timing\"") != std::string::npos);
    r = relprop_cli("explain " + model + " " + x + " --target 1,2 --json --method gradient");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("\"target\": 1") != std::string::npos);
    CHECK(r.output.find("\"target\": 2") != std::string::npos);
    r = relprop_cli("explain " + model + " " + x + " --composite epsilon-gamma-box --low -3 --high 3 --method lrp");
    CHECK_MESSAGE(r.code == 0, r.output);
}

TEST_CASE("cli: inspect and check") {
    const std::string model = fixture_path("onnx/tiny_densenet.onnx");
    Result r = relprop_cli("inspect " + model);
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("ChannelRelu") != std::string::npos);
    CHECK(r.output.find("densenet: BatchNorm") != std::string::npos);
    CHECK(r.output.find("Flat()  [composite (first layer)]") != std::string::npos);
    r = relprop_cli("inspect " + model + " --canonize none --composite epsilon-alpha2-beta1 --rule 'Conv=gamma'");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("BatchNorm") != std::string::npos);
    CHECK(r.output.find("Gamma(gamma=0.25)  [override 'Conv']") != std::string::npos);
    r = relprop_cli("check " + fixture_path("onnx/tiny_resnet.onnx") + " " + fixture_path("onnx/tiny_resnet.input.npy") +
                    " --zero-bias --composite epsilon-plus");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("in/out") != std::string::npos);
    CHECK(r.output.find("ratio 0.99") != std::string::npos);
}

TEST_CASE("cli: bad input gets its message and exit code") {
    const std::string model = fixture_path("onnx/tiny_resnet.onnx"), x = fixture_path("onnx/tiny_resnet.input.npy");
    const std::string text = (temp_dir() / "not_an_image.png").string();
    std::ofstream(text) << "hello\n";
    const std::string wrong = (temp_dir() / "wrong.npy").string();
    write_npy(wrong, Tensor({2, 3, 16, 16}));
    struct Case {
        std::string args;
        int code;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"", 2, "usage error"},
        {"explain", 2, "usage error"},
        {"frobnicate " + model, 2, "usage error"},
        {"explain /nonexistent.onnx " + x, 1, "/nonexistent.onnx: no such file"},
        {"explain " + model + " /nonexistent.npy", 1, "/nonexistent.npy: no such file or folder"},
        {"explain " + model + " " + wrong, 1, "the inputs are [2, 3, 16, 16] but the model takes [-1, 3, 32, 32]"},
        {"explain " + model + " " + x + " --method magic", 2, "usage error"},
        {"explain " + model + " " + x + " --composite lrp-magic", 1, "composite 'lrp-magic' not found"},
        {"explain " + model + " " + x + " --rule Conv=zminus", 1, "rule override 'Conv=zminus': expected SELECTOR=RULE"},
        {"explain " + model + " " + x + " --rule Conv=alpha-beta:3,1", 1, "alpha - beta must equal 1"},
        {"explain " + model + " " + x + " --rule nothing=flat", 1, "matches no node"},
        {"explain " + model + " " + x + " --target 99", 1, "target 99 is out of range"},
        {"explain " + model + " " + x + " --target 1,2,3", 1, "--target lists 3 classes for 2 samples"},
        {"explain " + model + " " + x + " --target cat", 1, "'cat' is not a class index"},
        {"explain " + model + " " + x + " --composite epsilon-gamma-box", 1, "needs --low and --high"},
        {"explain " + model + " " + x + " --cmap rainbow", 1, "unknown colormap 'rainbow'"},
        {"explain " + model + " " + text, 1, "not a readable image"},
        {"explain " + model + " " + x + " --device cuda:x", 1, "invalid device 'cuda:x'"},
        {"explain " + model + " " + x + " --canonize magic", 1, "canonization pass 'magic' not found"},
        {"explain " + model + " " + x + " --batch-size 0", 2, "usage error"},
        {"check " + model + " " + x + " --method gradient", 1, "has no rules to check"},
        {"explain " + x + " " + x, 1, "not a valid ONNX model"},
    };
    for (const Case& c : cases) {
        INFO("relprop " << c.args);
        const Result r = relprop_cli(c.args);
        CHECK(r.code == c.code);
        CHECK_MESSAGE(r.output.find(c.message) != std::string::npos, r.output);
        // One line that says what to fix (usage errors may add CLI11's own help line).
        if (c.code == 1) CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    }
}

TEST_CASE("cli: explain PNG images of the bundled demo model; heatmaps decode at the right size") {
    const std::string demo = std::string(RELPROP_FIXTURES_DIR) + "/../../tools/demo/";
    const std::string png = demo + "digit_229_0.png";
    const std::string heat = (temp_dir() / "zero.png").string(), out = (temp_dir() / "zero.npy").string();
    Result r = relprop_cli("explain " + demo + "digits.onnx " + png + " --no-preprocess --composite epsilon-plus --heatmap " +
                           heat + " --out " + out);
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("digit_229_0: predicted class 0") != std::string::npos);
    const Image img = load_image(heat);
    CHECK(img.width == 32);
    CHECK(img.height == 32);
    CHECK(img.channels == 3);
    CHECK(read_npy(out).shape() == Shape{1, 1, 32, 32});
    // The relevance of the PNG equals that of the same sample given as .npy (pixel/255 is the model input).
    const std::string dir = (temp_dir() / "maps").string();
    r = relprop_cli("explain " + demo + "digits.onnx " + demo + " --no-preprocess --heatmap " + dir +
                    " --heatmap-scale 4 --overlay --cmap coldnhot");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    int maps = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const Image m = load_image(entry.path().string());
        CHECK(m.width == 128);
        ++maps;
    }
    CHECK(maps == 6);
    // Images go through the ImageNet preprocessing by default: RGB mean/std do not fit a gray model, and
    // a 32×32 PNG cannot be cropped to 224.
    r = relprop_cli("explain " + demo + "digits.onnx " + png);
    CHECK(r.code == 1);
    CHECK(r.output.find("--mean/--std have 3 values but the model takes 1 channel(s)") != std::string::npos);
    r = relprop_cli("explain " + demo + "digits.onnx " + png + " --mean 0.5 --std 0.5");
    CHECK(r.code == 1);
    CHECK(r.output.find("the inputs are [1, 1, 224, 224] but the model takes [-1, 1, 32, 32] (for images: --resize") !=
          std::string::npos);
}

TEST_CASE("cli: every committed ONNX fixture through explain and check: a result or a clear error, never a crash") {
    // op_flatten_axis2 ([N,3,4,5] -> [N*3,20]) wrote past the end of the logits (one row per input sample
    // assumed) and crashed at exit; it was found by running the fixtures through the CLI on a GPU machine.
    const std::vector<std::string> names = relprop::test::onnx_fixture_names();
    REQUIRE(names.size() >= 20);
    int explained = 0;
    for (const std::string& name : names) {
        CAPTURE(name);
        const std::string model = fixture_path("onnx/" + name + ".onnx");
        const std::string input = fixture_path("onnx/" + name + ".input.npy");
        const std::string out = (temp_dir() / (name + ".npy")).string();
        for (const char* method : {"lrp", "gradient"}) {
            CAPTURE(method);
            const Result r = relprop_cli("explain " + model + " " + input + " --method " + method + " --out " + out);
            CHECK_MESSAGE((r.code == 0 || r.code == 1), r.output);  // -1: killed by a signal
            if (r.code == 0) {
                CHECK(read_npy(out).shape() == read_npy(input).shape());
                ++explained;
            } else {
                CHECK(r.output.rfind("relprop: error: ", 0) == 0);
            }
        }
        const Result c = relprop_cli("check " + model + " " + input);
        CHECK_MESSAGE((c.code == 0 || c.code == 1), c.output);
    }
    CHECK(explained >= 2 * static_cast<int>(names.size()) - 2);  // all but op_flatten_axis2
    const Result r = relprop_cli("explain " + fixture_path("onnx/op_flatten_axis2.onnx") + " " +
                                 fixture_path("onnx/op_flatten_axis2.input.npy"));
    CHECK(r.code == 1);
    CHECK(r.output.find("has 6 rows for 2 input sample(s): the command line explains models with one output row per "
                        "input sample") != std::string::npos);
}
