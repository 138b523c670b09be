// Malformed input, table-driven: broken ONNX models, .npy files, images and command-line arguments,
// each run through the relprop command line and expected to fail with its own message (one line on
// stderr) and exit code (1 model/input error, 2 usage error). Also: out of memory is a clean error.
#include <doctest/doctest.h>

#include <onnx/onnx_pb.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "relprop/error.hpp"
#include "relprop/tensor.hpp"
#include "relprop/heatmap.hpp"
#include "relprop/image.hpp"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "rules/explainer.h"
#include "tests/cli_run.h"
#include "tests/fixtures.h"
#include "tests/onnx_edit.h"
#include "tests/sanitizer.h"

using namespace relprop;
using namespace relprop::test;
namespace fs = std::filesystem;

namespace {

fs::path table_dir() { return scratch_dir("failure-table"); }

std::string write_bytes(const std::string& name, const std::string& bytes) {
    const std::string path = (table_dir() / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

std::string write_model(const std::string& name, const onnx::ModelProto& m) {
    return save_model((table_dir() / name).string(), m);
}

// A .npy file with a hand-written header (version 1.0, padded like numpy's) and raw data bytes.
std::string npy_bytes(const std::string& header_dict, const std::string& data) {
    std::string header = header_dict;
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    return out + header + data;
}

std::string floats_bytes(const std::vector<float>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

struct Row {
    std::string what;  // the kind of malformed input
    std::string args;  // after `relprop`
    int code;
    std::string message;  // substring of the output
};

}  // namespace

TEST_CASE("failure table: malformed models, arrays, images and arguments through the command line") {
    const std::string resnet = fixture_path("onnx/tiny_resnet.onnx");
    const std::string x = fixture_path("onnx/tiny_resnet.input.npy");  // [2, 3, 32, 32]
    const std::string conv = fixture_path("onnx/op_conv_group.onnx");   // input [2, 6, 7, 9], weight W [6, 2, 3, 3]
    const std::string conv_x = fixture_path("onnx/op_conv_group.input.npy");
    const std::string gemm = fixture_path("onnx/op_gemm_transb.onnx");
    const std::string gemm_x = fixture_path("onnx/op_gemm_transb.input.npy");
    const std::string demo = fixture_path("../../tools/demo/digits.onnx");  // input [-1, 1, 32, 32]
    const std::string digit = fixture_path("../../tools/demo/digit_229_0.png");

    // --- ONNX models ---
    const std::string empty_onnx = write_bytes("empty.onnx", "");
    const std::string whole = read_file(resnet);
    const std::string half_onnx = write_bytes("half.onnx", whole.substr(0, whole.size() / 2));
    onnx::ModelProto no_graph;
    no_graph.set_ir_version(7);
    const std::string no_graph_onnx = write_model("no_graph.onnx", no_graph);
    onnx::ModelProto m = fixture("tiny_resnet");
    for (auto& o : *m.mutable_opset_import()) o.set_version(3);
    const std::string opset3 = write_model("opset3.onnx", m);
    m = fixture("tiny_resnet");
    node_of_type(m, "Relu")->set_op_type("Softsign");
    const std::string softsign = write_model("softsign.onnx", m);
    m = fixture("op_conv_group");
    {
        onnx::TensorProto* w = initializer(m, "W");
        std::string raw = w->raw_data();
        const float values[3] = {std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY};
        std::memcpy(raw.data() + 5 * 4, values, sizeof values);  // indices 5, 6, 7
        w->set_raw_data(raw);
    }
    const std::string nan_weights = write_model("nan_weights.onnx", m);
    m = fixture("op_conv_group");
    initializer(m, "W")->set_dims(0, int64_t{1} << 40);
    const std::string huge_weight = write_model("huge_weight.onnx", m);
    m = fixture("op_conv_group");
    initializer(m, "W")->set_raw_data(initializer(m, "W")->raw_data().substr(0, 40));
    const std::string short_weight = write_model("short_weight.onnx", m);
    m = fixture("op_conv_group");
    initializer(m, "W")->set_data_location(onnx::TensorProto::EXTERNAL);
    const std::string external = write_model("external.onnx", m);
    m = fixture("op_conv_group");
    {
        auto* pads = attribute(*node_of_type(m, "Conv"), "pads");
        pads->set_type(onnx::AttributeProto::INTS);
        pads->clear_ints();
        for (int k = 0; k < 4; ++k) pads->add_ints(int64_t{1} << 15);
    }
    const std::string huge_value = write_model("huge_value.onnx", m);
    m = fixture("op_conv_group");
    attribute(*node_of_type(m, "Conv"), "strides")->set_type(onnx::AttributeProto::FLOAT);
    const std::string float_strides = write_model("float_strides.onnx", m);
    m = fixture("op_add");
    *m.mutable_graph()->add_input() = m.graph().input(0);
    m.mutable_graph()->mutable_input(1)->set_name("second");
    const std::string two_inputs = write_model("two_inputs.onnx", m);
    m = fixture("op_add");
    m.mutable_graph()->mutable_output(0)->set_name("nowhere");
    const std::string dangling = write_model("dangling_output.onnx", m);
    m = fixture("op_conv_group");
    m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
    const std::string int_input = write_model("int_input.onnx", m);
    m = fixture("op_conv_group");
    m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(2)->set_dim_param(
        "height");
    const std::string symbolic = write_model("symbolic.onnx", m);

    // --- .npy inputs for tiny_resnet (one sample: [3, 32, 32], 3072 values) ---
    Tensor one({1, 3, 32, 32});
    for (int64_t i : {17, 400, 3000}) one[i] = i == 400 ? INFINITY : std::numeric_limits<float>::quiet_NaN();
    const std::string nan_npy = (table_dir() / "nan.npy").string();
    write_npy(nan_npy, one);
    const std::string empty_npy = write_bytes("empty.npy", "");
    const std::string magic_npy = write_bytes("magic.npy", "PK\x03\x04 a zip file, not an array");
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 32, 32), }";
    const std::string short_npy = write_bytes("short.npy", npy_bytes(dict, floats_bytes(std::vector<float>(100))));
    const std::string trailing_npy =
        write_bytes("trailing.npy", npy_bytes(dict, floats_bytes(std::vector<float>(3072 + 1))));
    const std::string complex_npy =
        write_bytes("complex.npy", npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", std::string(16, '\0')));
    const std::string huge_npy = write_bytes(
        "huge.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", ""));
    const std::string badkey_npy = write_bytes(
        "badkey.npy", npy_bytes("{'descr': '<f4', 'order': 'C', 'shape': (3,), }", floats_bytes({1, 2, 3})));
    std::string past = npy_bytes(dict, "");
    past[8] = '\xff';
    past[9] = '\x7f';
    const std::string past_npy = write_bytes("header_past_end.npy", past);
    const std::string f64 = [] {
        const double big[1] = {1e300};
        return std::string(reinterpret_cast<const char*>(big), sizeof big);
    }();
    const std::string f64_npy =
        write_bytes("f64_overflow.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", f64));
    const std::string rank5_npy = (table_dir() / "rank5.npy").string();
    write_npy(rank5_npy, Tensor({1, 1, 3, 32, 32}));

    // --- images, for the digits model (32x32 gray) with --no-preprocess ---
    const std::string empty_png = write_bytes("empty.png", "");
    const std::string gif = write_bytes("anim.gif", std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 13));
    const std::string png_bytes = read_file(digit);
    const std::string cut_png = write_bytes("cut.png", png_bytes.substr(0, png_bytes.size() / 2));
    const std::string jpeg_header = write_bytes("header_only.jpg", std::string("\xff\xd8\xff\xe0\x00\x10JFIF\x00", 11));
    Image big;
    big.width = big.height = 64;
    big.channels = 1;
    big.pixels.assign(64 * 64, 100);
    const std::string big_png = (table_dir() / "big.png").string();
    write_png(big_png, big);
    const fs::path no_images = table_dir() / "no_images";
    fs::create_directories(no_images);
    write_bytes("no_images/readme.txt", "not an image\n");

    const std::string pre = " --no-preprocess";
    const std::vector<Row> rows = {
        // ONNX
        {"empty model", "inspect " + empty_onnx, 1, empty_onnx + ": the file is empty"},
        {"truncated model", "inspect " + half_onnx, 1, half_onnx + ": not a valid ONNX model (the protobuf data does not parse"},
        {"model without graph", "inspect " + no_graph_onnx, 1, "not an ONNX model (it has no graph)"},
        {"old opset", "inspect " + opset3, 1, "opset 3 is not supported (7 to 21)"},
        {"unsupported op", "inspect " + softsign, 1, "unsupported op 'Softsign'; supported ops: Conv, Gemm"},
        {"NaN/Inf weights", "inspect " + nan_weights, 1,
         "weight 'W': 3 of 108 values are NaN/Inf (first at index 5); the model's weights are broken"},
        {"absurd initializer", "inspect " + huge_weight, 1,
         "initializer 'W' has shape [1099511627776, 2, 3, 3], more than the limit of 2147483648 elements (raise "
         "ImportOptions::max_tensor_elements to import it)"},
        {"truncated initializer", "inspect " + short_weight, 1, "(truncated or corrupt file?)"},
        {"external data without a location", "inspect " + external, 1, "initializer tensor 'W' has external data without a 'location'"},
        {"huge activation", "inspect " + huge_value, 1,
         "per sample, more than the limit of 268435456 elements (raise ImportOptions::max_value_elements"},
        {"attribute of the wrong type", "inspect " + float_strides, 1, "attribute 'strides' has type FLOAT, expected INTS"},
        {"two inputs", "inspect " + two_inputs, 1, "relprop needs a model with exactly one input, this one has 2"},
        {"dangling output", "inspect " + dangling, 1, "the graph output 'nowhere' is not produced by any node"},
        {"integer input", "inspect " + int_input, 1, "has element type INT64; relprop needs float32"},
        {"symbolic spatial size", "inspect " + symbolic, 1, "has a symbolic dimension 2 ('height')"},
        {"folder as model", "inspect " + table_dir().string(), 1, "is a directory, not an ONNX file"},
        // .npy
        {"NaN/Inf input", "explain " + resnet + " " + nan_npy, 1,
         "input '" + nan_npy + "': 3 of 3072 values are NaN/Inf (first at index 17); pass --allow-nonfinite to explain anyway"},
        {"empty .npy", "explain " + resnet + " " + empty_npy, 1, "empty file, not a .npy file"},
        {"not .npy", "explain " + resnet + " " + magic_npy, 1, "not a .npy file: bad magic"},
        {"truncated .npy", "explain " + resnet + " " + short_npy, 1,
         short_npy + " is truncated: expected 12288 bytes of data, found 400"},
        {"trailing bytes", "explain " + resnet + " " + trailing_npy, 1, "has 4 trailing bytes after the data"},
        {"complex dtype", "explain " + resnet + " " + complex_npy, 1, "unsupported dtype '<c8' (complex)"},
        {"absurd .npy shape", "explain " + resnet + " " + huge_npy, 1,
         "shape [1099511627776] has 1099511627776 elements, more than the limit of 2147483648"},
        {"unknown header key", "explain " + resnet + " " + badkey_npy, 1, badkey_npy + ": "},
        {"header past the end", "explain " + resnet + " " + past_npy, 1, "runs past the end of the file"},
        {"float64 beyond float32", "explain " + resnet + " " + f64_npy, 1, "float64 value 1.0000000000000001e+300"},
        {"input of the wrong rank", "explain " + resnet + " " + rank5_npy, 1,
         "shape [1, 1, 3, 32, 32] does not fit the model input [-1, 3, 32, 32]"},
        {"input of the wrong size", "explain " + conv + " " + x, 1, "the inputs are [2, 3, 32, 32] but the model takes [2, 6, 7, 9]"},
        // images
        {"empty image", "explain " + demo + " " + empty_png + pre, 1, empty_png + ": the file is empty, not an image"},
        {"GIF", "explain " + demo + " " + gif + pre, 1, "not a readable image (not a PNG, JPEG or BMP file"},
        {"truncated PNG", "explain " + demo + " " + cut_png + pre, 1,
         cut_png + ": not a readable image (corrupt or cut short PNG: chunk 'IDAT' at byte 33 declares "},
        {"JPEG header only", "explain " + demo + " " + jpeg_header + pre, 1, jpeg_header + ": not a readable image (stb: "},
        {"image of the wrong size", "explain " + demo + " " + big_png + pre, 1,
         "the inputs are [1, 1, 64, 64] but the model takes [-1, 1, 32, 32]"},
        {"image for a dense model", "explain " + gemm + " " + digit, 1, "images need a model whose input is [N, C, H, W]"},
        {"folder without images", "explain " + demo + " " + no_images.string(), 1, "the folder has no PNG/JPEG/BMP images"},
        // arguments
        {"negative resize", "explain " + demo + " " + digit + " --resize -1", 1, "--resize and --crop must be >= 0"},
        {"zero std", "explain " + demo + " " + digit + " --mean 0.5 --std 0", 1, "--std: a standard deviation of 0"},
        {"scale 1/0", "explain " + demo + " " + digit + pre + " --scale 1/0", 1, "--scale: division by zero in '1/0'"},
        {"mean not a number", "explain " + demo + " " + digit + " --mean abc", 1, "--mean: 'abc' is not a number"},
        {"heatmap scale", "explain " + demo + " " + digit + pre + " --heatmap-scale 100", 1, "--heatmap-scale must be 1 to 64"},
        {"unknown --init", "explain " + resnet + " " + x + " --init magic", 2, "usage error"},
        {"epsilon not a number", "explain " + resnet + " " + x + " --epsilon small", 2, "usage error"},
        {"bad --high", "explain " + resnet + " " + x + " --composite epsilon-gamma-box --low 0 --high abc", 1,
         "--high: 'abc' is not a number"},
        {"heatmap of a dense model", "explain " + gemm + " " + gemm_x + " --heatmap " + (table_dir() / "h.png").string(), 1,
         "--heatmap needs an image-shaped input [N, C, H, W]"},
        {"unwritable --out", "explain " + resnet + " " + x + " --out /nonexistent/dir/r.npy", 1,
         "/nonexistent/dir/r.npy: cannot write .npy file"},
        {"unknown flag", "explain " + resnet + " " + x + " --allow-everything", 2, "usage error"},
    };
    CHECK(rows.size() >= 30);
    for (const Row& row : rows) {
        INFO(row.what << ": relprop " << row.args);
        const CliResult r = relprop_cli(row.args);
        CHECK(r.code == row.code);
        CHECK_MESSAGE(r.output.find(row.message) != std::string::npos, r.output);
        if (row.code == 1) CHECK_MESSAGE(std::count(r.output.begin(), r.output.end(), '\n') == 1, r.output);
    }

    // --allow-nonfinite lets the same files through.
    CliResult r = relprop_cli("inspect " + nan_weights + " --allow-nonfinite");
    CHECK_MESSAGE(r.code == 0, r.output);
    r = relprop_cli("explain " + resnet + " " + nan_npy + " --allow-nonfinite --method gradient --target 0");
    CHECK_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("nan: predicted class") != std::string::npos);
}

TEST_CASE("failure table: the library checks inputs and limits with the numbers") {
    // Node count limit, with the numbers and the option to raise it.
    ImportOptions small;
    small.max_nodes = 3;
    const std::string tiny = read_file(fixture_path("onnx/tiny_resnet.onnx"));
    onnx::ModelProto m = fixture("tiny_resnet");
    CHECK_THROWS_WITH_AS(parse_onnx(tiny, "tiny_resnet.onnx", small),
                         doctest::Contains(("tiny_resnet.onnx: the graph has " + std::to_string(m.graph().node_size()) +
                                            " nodes, more than the limit of 3 (raise ImportOptions::max_nodes to import it)")
                                               .c_str()),
                         Error);
    ImportOptions few_bytes;
    few_bytes.max_parameter_bytes = 1000;
    CHECK_THROWS_WITH_AS(load_onnx_buffer(tiny.data(), tiny.size(), few_bytes),
                         doctest::Contains("ONNX buffer: the initializers hold at least "), Error);
    CHECK_THROWS_WITH_AS(load_onnx_buffer(tiny.data(), tiny.size(), few_bytes),
                         doctest::Contains("more than the limit of 1000 (raise ImportOptions::max_parameter_bytes"), Error);
    CHECK(load_onnx_buffer(tiny.data(), tiny.size()).graph.nodes().size() ==
          load_onnx(fixture_path("onnx/tiny_resnet.onnx")).graph.nodes().size());

    // Explainer::forward: an input of the wrong shape names both shapes; NaN/Inf is counted.
    auto graph = std::make_shared<const Graph>(load_onnx(fixture_path("onnx/tiny_resnet.onnx")).graph);
    std::unique_ptr<Backend> backend = make_backend("cpu");
    Explainer explainer(graph, *backend);
    const std::string input = graph->values()[graph->inputs()[0]].name;
    CHECK_THROWS_WITH_AS(explainer.forward(Tensor({1, 3, 16, 16})),
                         doctest::Contains(("input '" + input + "' has shape [1, 3, 16, 16] but the model expects [-1, 3, 32, "
                                            "32] (-1: any batch size)")
                                               .c_str()),
                         Error);
    Tensor x({2, 3, 32, 32});
    x[100] = -INFINITY;
    x[6000] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH_AS(explainer.forward(x),
                         doctest::Contains(("input '" + input + "': 2 of 6144 values are NaN/Inf (first at index 100); pass "
                                            "allow_nonfinite to Explainer::forward")
                                               .c_str()),
                         Error);
    CHECK_NOTHROW(explainer.forward(x, true));

    // Image resizing: an extreme aspect ratio cannot blow a small image up to gigapixels.
    CHECK_THROWS_WITH_AS(resized_size(1, 1 << 16, 256),
                         doctest::Contains("resizing 1x65536 to shorter side 256 gives 4294967296 pixels, more than the "
                                           "67108864 allowed"),
                         Error);
}

TEST_CASE("failure table: out of memory is a relprop::Error, in the library and on the command line") {
    // An allocation whose byte count overflows size_t is refused before it is tried.
    CHECK_THROWS_WITH_AS(Tensor({int64_t{1} << 62}),
                         doctest::Contains("out of memory: a tensor of shape [4611686018427387904] needs"), Error);
#ifdef RELPROP_UNDER_ASAN
    // AddressSanitizer reserves terabytes of address space for its shadow memory, so an address-space
    // limit (RLIMIT_AS, ulimit -v) cannot be used under it; and its allocator aborts on a failed
    // allocation instead of throwing std::bad_alloc.
    MESSAGE("skipped under AddressSanitizer: out-of-memory with an address-space limit");
#else
    // A real failed allocation: 4 GiB in a child process limited to 1 GiB of address space.
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        rlimit limit{int64_t{1} << 30, int64_t{1} << 30};
        setrlimit(RLIMIT_AS, &limit);
        int code = 3;
        try {
            Tensor t({int64_t{1} << 30});
            code = 2;
        } catch (const Error& e) {
            code = std::string(e.what()) == "out of memory: a tensor of shape [1073741824] needs 4096 MiB" ? 0 : 1;
        } catch (...) {
            code = 4;
        }
        _exit(code);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    // The command line under `ulimit -v`: a conv whose output needs 2 x 6 x 4005 x 4007 floats (734 MiB,
    // within the per-value limit) in 500 MB of address space beyond the shared libraries the CLI maps (a
    // normal run of the model needs < 300 MB; a CUDA build maps ~1 GB of cuBLAS/cuDNN libraries).
    onnx::ModelProto m = fixture("op_conv_group");
    auto* pads = attribute(*node_of_type(m, "Conv"), "pads");
    pads->clear_ints();
    for (int k = 0; k < 4; ++k) pads->add_ints(2000);
    const std::string model = write_model("padded.onnx", m);
    const CliResult r = relprop_cli("explain " + model + " " + fixture_path("onnx/op_conv_group.input.npy") +
                                        " --method gradient",
                                    "libs_kb=$(ldd " + std::string(RELPROP_CLI) +
                                        " | awk '/=> \\//{print $3}' | xargs du -Lk | awk '{s += $1} END {print s}'); "
                                        "ulimit -v $((libs_kb + 500000)); ");
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.output.find("relprop: error: node") != std::string::npos, r.output);
    CHECK_MESSAGE(r.output.find("(Conv), forward: out of memory: a tensor of shape [2, 6, 4005, 4007] needs 734 MiB") !=
                      std::string::npos,
                  r.output);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
#endif
}
