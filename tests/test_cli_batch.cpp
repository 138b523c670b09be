// The command line's gradient-family methods and its folder batch mode (--out-dir): outputs per input,
// the CSV/JSON index, resuming, and refusing to mix settings.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "relprop/npy.hpp"
#include "tests/cli_run.h"
#include "tests/fixtures.h"

using namespace relprop;
using relprop::test::relprop_cli;
using relprop::test::temp_dir;
namespace fs = std::filesystem;

namespace {

const std::string kDemo = relprop::test::demo_dir();

std::vector<std::string> lines_of(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

// The number after "key": in a JSON text (the first occurrence after `from`).
double json_value(const std::string& json, const std::string& key, size_t from = 0) {
    const size_t at = json.find("\"" + key + "\": ", from);
    REQUIRE(at != std::string::npos);
    return std::stod(json.substr(at + key.size() + 4));
}

}  // namespace

TEST_CASE("cli: smoothgrad without noise is the gradient; integrated gradients is complete; occlusion runs") {
    const std::string model = kDemo + "digits.onnx", x = kDemo + "digits_batch.npy";
    const std::string g = (temp_dir() / "m_grad.npy").string(), s = (temp_dir() / "m_sg.npy").string();
    auto r = relprop_cli("explain " + model + " " + x + " --method gradient --target 3 --out " + g);
    REQUIRE(r.code == 0);
    r = relprop_cli("explain " + model + " " + x + " --method smoothgrad --noise-level 0 --samples 3 --target 3 --out " + s);
    REQUIRE(r.code == 0);
    CHECK(test::max_rel_error(read_npy(s), read_npy(g)) < 1e-6);

    // Integrated gradients from a zero baseline: the relevance sums to f(x) − f(0) (2 % at 64 steps).
    const std::string zero = (temp_dir() / "m_zero.npy").string();
    write_npy(zero, Tensor({1, 1, 32, 32}));
    r = relprop_cli("explain " + model + " " + zero + " --method gradient --target 3 --json");
    REQUIRE(r.code == 0);
    const double f0 = json_value(r.output, "target_logit");
    r = relprop_cli("explain " + model + " " + kDemo + "digit_175_3.png --no-preprocess --method integrated-gradients "
                    "--steps 64 --target 3 --json");
    REQUIRE(r.code == 0);
    const double fx = json_value(r.output, "target_logit"), sum = json_value(r.output, "relevance_sum");
    INFO("f(x) ", fx, ", f(0) ", f0, ", sum ", sum);
    CHECK(std::abs(fx - f0) > 1.0);
    CHECK(std::abs(sum - (fx - f0)) < 0.02 * std::abs(fx - f0));

    const std::string o = (temp_dir() / "m_occ.npy").string();
    r = relprop_cli("explain " + model + " " + x + " --method occlusion --window 4 --stride 4 --out " + o);
    REQUIRE(r.code == 0);
    const Tensor occ = read_npy(o);
    CHECK(occ.shape() == Shape{6, 1, 32, 32});
    // Window 4, stride 4: constant on each 4×4 block.
    CHECK(occ[0] == occ[3 * 32 + 3]);
    r = relprop_cli("explain " + model + " " + x + " --method occlusion --window 0");
    CHECK(r.code == 1);
    CHECK(r.output.find("--window: '0' is not a list of sizes >= 1") != std::string::npos);
    r = relprop_cli("explain " + model + " " + x + " --method gradient --with-rules");
    CHECK(r.code == 1);
    CHECK(r.output.find("--with-rules applies to --method smoothgrad and integrated-gradients") != std::string::npos);
    r = relprop_cli("explain " + model + " " + x + " --method lime");
    CHECK(r.code == 2);
}

TEST_CASE("cli: --out-dir writes an output pair per image and an index, and resumes") {
    const std::string model = kDemo + "digits.onnx";
    const fs::path images = temp_dir() / "batch_in", out = temp_dir() / "batch_out";
    fs::remove_all(images);
    fs::remove_all(out);
    fs::create_directories(images);
    std::vector<std::string> pngs;
    for (const auto& e : fs::directory_iterator(kDemo))
        if (e.path().extension() == ".png") pngs.push_back(e.path().filename().string());
    std::sort(pngs.begin(), pngs.end());
    REQUIRE(pngs.size() == 6);
    for (size_t i = 0; i < 4; ++i) fs::copy_file(kDemo + pngs[i], images / pngs[i]);

    const std::string args = "explain " + model + " " + images.string() + " --no-preprocess --batch-size 3 --out-dir " +
                             out.string();
    auto r = relprop_cli(args);
    REQUIRE(r.code == 0);
    CHECK(r.output.find("explained 4 input(s), 0 already done") != std::string::npos);
    std::vector<std::string> csv = lines_of(out / "index.csv");
    REQUIRE(csv.size() == 5);
    CHECK(csv[0] == "input,sample,name,prediction,target,target_logit,relevance_sum,relevance,heatmap");
    for (size_t i = 0; i < 4; ++i) {
        const std::string stem = fs::path(pngs[i]).stem().string();
        CHECK(fs::exists(out / (stem + ".npy")));
        CHECK(fs::exists(out / (stem + ".png")));
        CHECK(read_npy((out / (stem + ".npy")).string()).shape() == Shape{1, 1, 32, 32});
    }
    // The same relevance as explaining that image alone.
    const std::string alone = (temp_dir() / "alone.npy").string();
    REQUIRE(relprop_cli("explain " + model + " " + kDemo + pngs[2] + " --no-preprocess --out " + alone).code == 0);
    const std::string stem2 = fs::path(pngs[2]).stem().string();
    CHECK(test::max_rel_error(read_npy((out / (stem2 + ".npy")).string()), read_npy(alone)) < 1e-5);
    // The digit in the file name is the model's prediction (the demo images are classified right).
    const std::string json = [&] {
        std::ifstream in(out / "index.json");
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }();
    const size_t at = json.find("\"name\": \"" + stem2 + "\"");
    REQUIRE(at != std::string::npos);
    CHECK(static_cast<int>(json_value(json, "prediction", at)) == stem2.back() - '0');

    // Nothing new: nothing explained. Two more images and one output removed: exactly those three.
    r = relprop_cli(args);
    CHECK(r.output.find("explained 0 input(s), 4 already done") != std::string::npos);
    for (size_t i = 4; i < 6; ++i) fs::copy_file(kDemo + pngs[i], images / pngs[i]);
    fs::remove(out / (fs::path(pngs[0]).stem().string() + ".png"));
    r = relprop_cli(args);
    REQUIRE(r.code == 0);
    CHECK(r.output.find("explained 3 input(s), 3 already done") != std::string::npos);
    csv = lines_of(out / "index.csv");
    CHECK(csv.size() == 7);
    CHECK(std::set<std::string>(csv.begin(), csv.end()).size() == 7);  // no input twice
    CHECK(fs::exists(out / (fs::path(pngs[0]).stem().string() + ".png")));

    // Other settings into the same folder are refused; --out-dir does not combine with --out.
    r = relprop_cli(args + " --composite epsilon-plus");
    CHECK(r.code == 1);
    CHECK(r.output.find("holds results of other settings") != std::string::npos);
    r = relprop_cli(args + " --out x.npy");
    CHECK(r.code == 1);
    CHECK(r.output.find("--out-dir writes every output itself") != std::string::npos);
    // A .npy batch is one input: its samples are stem_0 ... stem_5; one output missing redoes the file.
    const fs::path npy_out = temp_dir() / "batch_npy";
    fs::remove_all(npy_out);
    const std::string npy_args = "explain " + model + " " + kDemo + "digits_batch.npy --out-dir " + npy_out.string();
    REQUIRE(relprop_cli(npy_args).code == 0);
    CHECK(lines_of(npy_out / "index.csv").size() == 7);
    CHECK(read_npy((npy_out / "digits_batch_5.npy").string()).shape() == Shape{1, 1, 32, 32});
    fs::remove(npy_out / "digits_batch_3.png");
    r = relprop_cli(npy_args);
    CHECK(r.output.find("explained 1 input(s), 0 already done") != std::string::npos);
    CHECK(lines_of(npy_out / "index.csv").size() == 7);
    CHECK(fs::exists(npy_out / "digits_batch_3.png"));

    r = relprop_cli(args + " --target 1,2");
    CHECK(r.code == 1);
    CHECK(r.output.find("--out-dir takes --target argmax or one class") != std::string::npos);
}
