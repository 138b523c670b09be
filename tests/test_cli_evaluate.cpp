// `relprop evaluate` on the bundled demo: the summary and JSON, curves.csv, the plot, file: maps from
// `explain --out-dir`, --out-dir resume, and bad input (one line, exit 1, nothing written).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "relprop/image.hpp"
#include "relprop/npy.hpp"
#include "tests/cli_run.h"
#include "tests/fixtures.h"
#include "tests/onnx_builder.h"

using namespace relprop;
using relprop::test::ModelBuilder;
using relprop::test::relprop_cli;
using relprop::test::temp_dir;
namespace fs = std::filesystem;

namespace {

const std::string kDemo = relprop::test::demo_dir();
const std::string kRun = "evaluate " + kDemo + "digits.onnx " + kDemo + " --no-preprocess ";

// The "mean" AOPC(MoRF) of `method` in the JSON's summary.
double summary_value(const std::string& json, const std::string& method, const std::string& key) {
    const size_t at = json.find("{\"method\": \"" + method + "\", \"metric\": \"pixel-flipping\", \"samples\"");
    REQUIRE(at != std::string::npos);
    const size_t k = json.find("\"" + key + "\": ", at);
    REQUIRE(k != std::string::npos);
    return std::stod(json.substr(k + key.size() + 4));
}

size_t line_count(const fs::path& p) {
    std::ifstream in(p);
    size_t n = 0;
    for (std::string l; std::getline(in, l);) ++n;
    return n;
}

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

}  // namespace

TEST_CASE("cli evaluate: the demo's MoRF curves of LRP and the gradient fall faster than random's") {
    const fs::path csv = temp_dir() / "ev_curves.csv", png = temp_dir() / "ev_plot.png";
    const auto r = relprop_cli(kRun + "--methods lrp:epsilon-plus-flat,gradient,random --step 16 --json --curves " +
                               csv.string() + " --plot " + png.string());
    INFO(r.output);
    REQUIRE(r.code == 0);
    const double lrp = summary_value(r.output, "lrp:epsilon-plus-flat", "aopc_morf"),
                 grad = summary_value(r.output, "gradient", "aopc_morf"),
                 rnd = summary_value(r.output, "random", "aopc_morf");
    CHECK(lrp > rnd + 1.0);
    CHECK(grad > rnd + 1.0);
    CHECK(summary_value(r.output, "lrp:epsilon-plus-flat", "abpc") > summary_value(r.output, "random", "abpc"));
    // 3 methods × 6 digits × 2 orders × (1024/16 + 1) points, and the header.
    CHECK(line_count(csv) == 1 + 3 * 6 * 2 * 65);
    std::ifstream in(csv);
    std::string header, first;
    std::getline(in, header);
    std::getline(in, first);
    CHECK(header == "method,metric,order,input,sample,target,step,fraction,logit");
    CHECK(first.rfind("lrp:epsilon-plus-flat,pixel-flipping,morf,digit_135_5,0,5,0,0,", 0) == 0);
    const Image img = load_image(png.string());
    CHECK(img.width == 900);
    CHECK(img.height == 540);

    // The table on stdout.
    const auto t = relprop_cli(kRun + "--methods gradient,random --step 64");
    REQUIRE(t.code == 0);
    CHECK(t.output.find("pixel-flipping (mean +- standard error over 6 samples)") != std::string::npos);
    CHECK(t.output.find("AOPC(MoRF)") != std::string::npos);
}

TEST_CASE("cli evaluate: file:DIR maps from explain --out-dir give the same curves as the method itself") {
    const fs::path maps = temp_dir() / "ev_maps";
    auto r = relprop_cli("explain " + kDemo + "digits.onnx " + kDemo + " --no-preprocess --method gradient --out-dir " +
                         maps.string());
    REQUIRE(r.code == 0);
    r = relprop_cli(kRun + "--methods gradient,file:" + maps.string() +
                    " --metric region-perturbation --patch 4 --step 4 --json");
    INFO(r.output);
    REQUIRE(r.code == 0);
    const size_t g = r.output.find("{\"method\": \"gradient\", \"metric\": \"region-perturbation\", \"samples\"");
    const size_t f = r.output.find("{\"method\": \"file:" + maps.string() + "\", \"metric\": \"region-perturbation\"");
    REQUIRE(g != std::string::npos);
    REQUIRE(f != std::string::npos);
    // The same numbers after the method name.
    const std::string a = r.output.substr(r.output.find("\"samples\"", g), 200);
    const std::string b = r.output.substr(r.output.find("\"samples\"", f), 200);
    CHECK(a == b);
}

TEST_CASE("cli evaluate: --out-dir resumes: a removed sample is redone, other settings are refused") {
    const fs::path dir = temp_dir() / "ev_out";
    fs::remove_all(dir);
    const std::string args = kRun + "--methods gradient,random:3 --step 32 --out-dir " + dir.string();
    auto r = relprop_cli(args);
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK(r.output.find("6 of 6 samples evaluated in this run") != std::string::npos);
    CHECK(fs::exists(dir / "curves.csv"));
    CHECK(fs::exists(dir / "plot.pixel-flipping.png"));
    CHECK(fs::exists(dir / "samples" / "digit_18_8.csv"));
    std::ifstream s1(dir / "summary.json");
    const std::string before((std::istreambuf_iterator<char>(s1)), {});
    fs::remove(dir / "samples" / "digit_18_8.csv");
    r = relprop_cli(args);
    REQUIRE(r.code == 0);
    CHECK(r.output.find("1 of 6 samples evaluated in this run") != std::string::npos);
    std::ifstream s2(dir / "summary.json");
    const std::string after((std::istreambuf_iterator<char>(s2)), {});
    // The same scores (the timing differs).
    CHECK(before.substr(0, before.find("\"timing\"")) == after.substr(0, after.find("\"timing\"")));
    r = relprop_cli(kRun + "--methods gradient,random:3 --step 16 --out-dir " + dir.string());
    CHECK(r.code == 1);
    CHECK(r.output.find("holds an evaluation with other settings") != std::string::npos);
}

TEST_CASE("cli evaluate and inspect: a model ending in Softmax is explained and perturbed by its logits by default") {
    // x [N, 1, 2, 3] -> Flatten -> Gemm (class 0: w = (3, -1, 2, 0.5, -2, 1), class 1: 0) -> Softmax 'prob';
    // x = (1, 2, 1, 4, 1, 3): w·x = (3, -2, 2, 2, -2, 3), logit 6; input-x-gradient's MoRF curve at one pixel per
    // step is 6, 3, 0, -2, -4, -2, 0 on the logit: AOPC(MoRF) = 41/7.
    ModelBuilder b(13, {-1, 1, 2, 3});
    b.node("Flatten", {"x"}, {"flat"});
    b.floats("W", {2, 6}, {3, -1, 2, 0.5f, -2, 1, 0, 0, 0, 0, 0, 0});
    ModelBuilder::i(b.node("Gemm", {"flat", "W"}, {"logits"}), "transB", 1);
    ModelBuilder::i(b.node("Softmax", {"logits"}, {"prob"}), "axis", 1);
    const std::string model = b.save((temp_dir() / "ev_softmax.onnx").string(), "prob");
    const std::string x = (temp_dir() / "ev_softmax_x.npy").string();
    write_npy(x, Tensor({1, 1, 2, 3}, {1, 2, 1, 4, 1, 3}));
    const std::string run = "evaluate " + model + " " + x + " --methods input-x-gradient --step 1 --target 0 ";

    auto r = relprop_cli(run);
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("the curves record the logits: the input of the final Softmax 'prob' (--explain-output "
                        "probabilities keeps the Softmax)") != std::string::npos);
    r = relprop_cli(run + "--json");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("\"explained_output\": \"logits\"") != std::string::npos);
    CHECK(summary_value(r.output, "input-x-gradient", "aopc_morf") == doctest::Approx(41.0 / 7));
    // The probabilities: the curve is sigmoid(6, 3, 0, -2, -4, -2, 0), AOPC(MoRF) = mean of sigma(6) - sigma(f_k).
    r = relprop_cli(run + "--json --explain-output probabilities");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("\"explained_output\": \"probabilities\"") != std::string::npos);
    double aopc = 0;
    for (double f : {6.0, 3.0, 0.0, -2.0, -4.0, -2.0, 0.0}) aopc += (1 / (1 + std::exp(-6.0)) - 1 / (1 + std::exp(-f))) / 7;
    CHECK(summary_value(r.output, "input-x-gradient", "aopc_morf") == doctest::Approx(aopc));

    r = relprop_cli("inspect " + model);
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("explained output: the logits: the input of the final Softmax 'prob'; the Softmax is left out "
                        "of explanations by default (explain/evaluate --explain-output probabilities keep it") !=
          std::string::npos);
    r = relprop_cli("inspect " + kDemo + "digits.onnx");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("explained output: the model's output") != std::string::npos);
}

TEST_CASE("cli evaluate: bad input is one line, exit code 1, and nothing written") {
    const fs::path csv = temp_dir() / "ev_bad.csv";
    fs::remove(csv);
    auto r = relprop_cli(kRun + "--methods gradient,saliency --curves " + csv.string());
    CHECK(r.code == 1);
    CHECK(one_line(r.output));
    CHECK(r.output.find("unknown method 'saliency'") != std::string::npos);
    r = relprop_cli(kRun + "--methods lrp:nope --curves " + csv.string());
    CHECK(r.code == 1);
    CHECK(one_line(r.output));
    r = relprop_cli(kRun + "--methods gradient --step 2000 --curves " + csv.string());
    CHECK(r.code == 1);
    CHECK(r.output == "relprop: error: evaluate: a step of 2000 pixels is larger than the image (32x32 = 1024 pixels)\n");
    r = relprop_cli(kRun + "--methods gradient --metric region-perturbation --patch 40 --curves " + csv.string());
    CHECK(r.code == 1);
    CHECK(one_line(r.output));
    // A file: map of the wrong shape, and a missing one.
    const fs::path maps = temp_dir() / "ev_bad_maps";
    fs::create_directories(maps);
    for (const char* name : {"digit_135_5", "digit_175_3", "digit_18_8", "digit_190_3", "digit_229_0"})
        write_npy((maps / (std::string(name) + ".npy")).string(), Tensor({1, 1, 32, 32}));
    write_npy((maps / "digit_52_7.npy").string(), Tensor({1, 1, 16, 16}));
    r = relprop_cli(kRun + "--methods file:" + maps.string() + " --curves " + csv.string());
    CHECK(r.code == 1);
    CHECK(one_line(r.output));
    CHECK(r.output.find("digit_52_7.npy is [1, 1, 16, 16] but input 'digit_52_7' is [1, 1, 32, 32]") != std::string::npos);
    fs::remove(maps / "digit_52_7.npy");
    r = relprop_cli(kRun + "--methods file:" + maps.string() + " --curves " + csv.string());
    CHECK(r.code == 1);
    CHECK(r.output.find("digit_52_7.npy does not exist") != std::string::npos);
    CHECK(!fs::exists(csv));
    CHECK(!fs::exists(csv.string() + ".tmp"));
    r = relprop_cli(kRun + "--methods gradient --metric nope");
    CHECK(r.code == 2);
}

TEST_CASE("cli evaluate: outputs never land on inputs (issue 14's rules): refused before anything is written") {
    // A copy of the demo folder: the model and the six digits.
    const fs::path demo = temp_dir() / "ev_safety_demo";
    fs::remove_all(demo);
    fs::create_directories(demo);
    for (const auto& e : fs::directory_iterator(kDemo))
        if (e.path().extension() == ".png" || e.path().extension() == ".onnx") fs::copy_file(e.path(), demo / e.path().filename());
    const std::string run = "evaluate " + (demo / "digits.onnx").string() + " " + demo.string() +
                            " --no-preprocess --step 256 ";
    const auto files_in = [&] { return std::distance(fs::directory_iterator(demo), fs::directory_iterator{}); };
    const auto before = files_in();
    const std::string digit = (demo / "digit_18_8.png").string();
    const std::string bytes_before = [&] {
        std::ifstream in(digit, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();

    auto r = relprop_cli(run + "--methods random --out-dir " + demo.string());
    CHECK(r.code == 1);
    CHECK(r.output.find("--out-dir " + demo.string() + " is the input folder") != std::string::npos);
    r = relprop_cli(run + "--methods random --plot " + digit);
    CHECK(r.code == 1);
    CHECK(r.output.find("--plot " + digit + " is the input") != std::string::npos);
    r = relprop_cli(run + "--methods random --curves " + (demo / "digits.onnx").string());
    CHECK(r.code == 1);
    CHECK(r.output.find("is the model") != std::string::npos);
    CHECK(files_in() == before);
    std::ifstream in(digit, std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == bytes_before);

    // The maps folder of a file:DIR method is an input too: evaluate's run.json would replace explain's.
    const fs::path maps = temp_dir() / "ev_safety_maps";
    fs::remove_all(maps);
    r = relprop_cli("explain " + (demo / "digits.onnx").string() + " " + demo.string() +
                    " --no-preprocess --out-dir " + maps.string());
    REQUIRE_MESSAGE(r.code == 0, r.output);
    r = relprop_cli(run + "--methods file:" + maps.string() + " --out-dir " + maps.string());
    CHECK(r.code == 1);
    CHECK(r.output.find("--out-dir " + maps.string() + " is the input folder " + maps.string()) != std::string::npos);
    CHECK(!fs::exists(maps / "summary.json"));
}
