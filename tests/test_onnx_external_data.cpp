// ONNX external data: a model exported by PyTorch's dynamo exporter (torch.onnx.export(..., dynamo=True),
// PyTorch ≥ 2.9's default; tests/fixtures/dynamo, made by tools/make_dynamo_fixture.py) keeps its weights in
// tiny_cnn.onnx.data next to the model. It imports from its path (the CLI's way) and from memory with
// ImportOptions::external_data_dir, gives torch's logits and input gradient, and every way the data file
// can be wrong or hostile is one clear Error: a location outside the model's folder or absolute, a missing
// or short file, a length that does not match the shape, an offset that is not a number.
#include <doctest/doctest.h>

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "io/onnx_import.h"
#include "relprop/error.hpp"
#include "relprop/npy.hpp"
#include "rules/explainer.h"
#include "tests/cli_run.h"
#include "tests/fixtures.h"
#include "tests/onnx_edit.h"
#include "tests/seeded_tensor.h"

using namespace relprop;
using relprop::test::fixture_path;
using relprop::test::relative_l2;
namespace fs = std::filesystem;

namespace {

const std::string kModel = fixture_path("dynamo/tiny_cnn.onnx");

std::vector<int64_t> torch_targets() {
    const Tensor t = read_npy(fixture_path("dynamo/target.npy"));
    std::vector<int64_t> out;
    for (int64_t i = 0; i < t.numel(); ++i) out.push_back(static_cast<int64_t>(t[i]));
    return out;
}

// The logits and target-logit gradient of the model against torch's, through `pipeline`.
void check_against_torch(const OnnxModel& model, const std::string& pipeline) {
    auto backend = make_backend("cpu");
    auto graph = std::make_shared<const Graph>(canonize(model.graph, pipeline).graph);
    Explainer explainer(graph, *backend);
    const Recording rec = explainer.forward(read_npy(fixture_path("dynamo/input.npy")));
    const Tensor logits = read_npy(fixture_path("dynamo/output.npy"));
    REQUIRE(rec.output.shape() == logits.shape());
    CHECK(relative_l2(logits, rec.output) <= 1e-6);
    const Explanation e = explainer.gradient(rec, torch_targets());
    const Tensor grad = read_npy(fixture_path("dynamo/gradient.npy"));
    REQUIRE(e.relevance.shape() == grad.shape());
    CHECK(relative_l2(grad, e.relevance) <= 1e-5);
}

// The dynamo fixture with its first external tensor's entry `key` set to `value` (added if missing),
// saved with a copy of the data file in a fresh folder; returns the model's path.
fs::path edited_copy(const std::string& folder, const std::string& key, const std::string& value) {
    onnx::ModelProto m;
    REQUIRE(m.ParseFromString(test::read_file(kModel)));
    onnx::TensorProto* t = nullptr;
    for (auto& init : *m.mutable_graph()->mutable_initializer())
        if (!t && init.data_location() == onnx::TensorProto::EXTERNAL) t = &init;
    REQUIRE(t != nullptr);
    bool found = false;
    for (auto& kv : *t->mutable_external_data())
        if (kv.key() == key) kv.set_value(value), found = true;
    if (!found) {
        auto* kv = t->add_external_data();
        kv->set_key(key);
        kv->set_value(value);
    }
    const fs::path dir = test::scratch_dir(folder);
    fs::copy_file(kModel + ".data", dir / "tiny_cnn.onnx.data", fs::copy_options::overwrite_existing);
    test::save_model((dir / "tiny_cnn.onnx").string(), m);
    return dir / "tiny_cnn.onnx";
}

}  // namespace

TEST_CASE("external data: a dynamo export imports from its path and gives torch's logits and gradient") {
    const OnnxModel model = load_onnx(kModel);
    CHECK(model.opset >= 18);
    CHECK(model.producer.rfind("pytorch 2.", 0) == 0);
    check_against_torch(model, "none");
    check_against_torch(model, "auto");
    // The CLI reads it the same way, from any working directory.
    const auto r = test::relprop_cli("explain " + kModel + " " + fixture_path("dynamo/input.npy") + " --out " +
                                     (test::scratch_dir("dynamo-cli") / "r.npy").string());
    CHECK_MESSAGE(r.code == 0, r.output);
    CHECK(read_npy((test::scratch_dir("dynamo-cli") / "r.npy").string()).shape() == Shape{3, 3, 16, 16});
}

TEST_CASE("external data: from memory it needs ImportOptions::external_data_dir") {
    const std::string bytes = test::read_file(kModel);
    CHECK_THROWS_WITH_AS(load_onnx_buffer(bytes.data(), bytes.size()),
                         "ONNX buffer: initializer tensor 'features.0.weight' keeps its data in an external file, and a "
                         "model read from memory has no folder to find it in: load the model from its path, or give the data "
                         "file's folder (ImportOptions::external_data_dir; Python: Model(..., external_data_dir=...))",
                         Error);
    ImportOptions options;
    options.external_data_dir = fs::path(kModel).parent_path().string();
    check_against_torch(load_onnx_buffer(bytes.data(), bytes.size(), options), "auto");
}

TEST_CASE("external data: hostile and broken locations, offsets and lengths are refused by name") {
    const auto message = [](const fs::path& model) {
        try {
            load_onnx(model.string());
        } catch (const Error& e) {
            const std::string m = e.what();
            return m.substr(m.find(": ") + 2);  // without the path of the scratch copy
        }
        return std::string("imported");
    };
    CHECK(message(edited_copy("ext-abs", "location", "/etc/passwd")) ==
          "initializer tensor 'features.0.weight' keeps its data at the absolute path '/etc/passwd'; ONNX external "
          "data must be a path relative to the model's folder");
    CHECK(message(edited_copy("ext-up", "location", "sub/../../tiny_cnn.onnx.data")) ==
          "initializer tensor 'features.0.weight' keeps its data at 'sub/../../tiny_cnn.onnx.data', outside the "
          "model's folder; ONNX external data must stay inside it");
    const fs::path missing = edited_copy("ext-missing", "location", "weights.bin");
    CHECK(message(missing) == "initializer tensor 'features.0.weight' keeps its data in '" +
                                  (missing.parent_path() / "weights.bin").string() +
                                  "', which does not exist (an ONNX model with external data needs its data "
                                  "file(s) next to it)");
    CHECK(message(edited_copy("ext-len", "length", "865")) ==
          "initializer tensor 'features.0.weight' declares 865 bytes of external data; its shape and type need 864");
    CHECK(message(edited_copy("ext-off", "offset", "-8")) ==
          "initializer tensor 'features.0.weight': external data offset '-8' is not a whole number");
    CHECK(message(edited_copy("ext-far", "offset", "99999999999999999999")) ==
          "initializer tensor 'features.0.weight': external data offset '99999999999999999999' is too large");
    CHECK(message(edited_copy("ext-past", "offset", "4000")) ==
          "initializer tensor 'features.0.weight' needs 864 bytes at offset 4000 of 'tiny_cnn.onnx.data', which has "
          "4512 bytes (truncated or wrong data file?)");
    // A data file cut short (an interrupted copy): the last tensor is named.
    const fs::path cut = edited_copy("ext-cut", "offset", "0");
    fs::resize_file(cut.parent_path() / "tiny_cnn.onnx.data", 4000);
    CHECK(message(cut).find("needs 1024 bytes at offset 3168 of 'tiny_cnn.onnx.data', which has 4000 bytes "
                            "(truncated or wrong data file?)") != std::string::npos);
    // Unchanged, the copy imports (the edits above are what is refused).
    CHECK(message(edited_copy("ext-same", "offset", "0")) == "imported");
}

TEST_CASE("dynamo export: nodes are named after their PyTorch modules, so rules select them by name") {
    const OnnxModel model = load_onnx(kModel);
    std::vector<std::string> names;
    for (const Node& n : model.graph.nodes()) names.push_back(n.name);
    // Conv and Gemm after their weights (the exporter folded features.1/features.5 BatchNorms into the Convs
    // and left them the BatchNorm's scope); the rest after the innermost module; a top-level operation
    // (flatten) keeps the exporter's name.
    CHECK(names == std::vector<std::string>{"features.0/Conv", "features.2/Relu", "features.3/MaxPool", "features.4/Conv",
                                            "features.6/Clip", "features.7/Conv", "features.8/Sigmoid", "features.8/Mul",
                                            "pool/ReduceMean", "node_Reshape_29", "classifier/Gemm"});
    const auto r = test::relprop_cli("inspect " + kModel + " --rule 'features.4*=gamma' --rule 'classifier/*=epsilon:0.5'");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(r.output.find("features.4/Conv     Conv           [1, 16, 8, 8]       Gamma(gamma=0.25)") != std::string::npos);
    CHECK(r.output.find("classifier/Gemm     Linear         [1, 5]              Epsilon(epsilon=0.5)") != std::string::npos);
    CHECK(r.output.find("10 nodes named '<module>/<OpType>' after their PyTorch module") != std::string::npos);
}
