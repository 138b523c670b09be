// Parity with zennit: relprop's input relevance on the committed tiny models equals zennit's
// (tests/fixtures/zennit, made by tools/make_zennit_fixtures.py) under every composite and for the
// plain gradient. Canonization: "auto,-densenet" (zennit has no DenseNet canonizer; its references keep
// those BatchNorms with the Pass rule, as relprop does with that pass off), and "auto": the DenseNet
// pass moves a positive per-channel scale into the next layer, which changes none of these rules' results.
// The same for tiny models made of the blocks of MobileNetV2/V3, EfficientNet, RegNet, ShuffleNetV2 and ConvNeXt
// (tests/fixtures/zennit_blocks, made by tools/make_zennit_block_fixtures.py).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "rules/composite.h"
#include "rules/explainer.h"
#include "tests/fixtures.h"

using namespace relprop;
using relprop::test::fixture_path;

namespace {

struct Reference {
    std::string model, composite;
    std::vector<int64_t> targets;
    std::vector<std::string> onnx;
    double drift_l2 = 0, drift_max = 0;  // zennit float32 vs the same run in float64
    std::string needs;                    // a canonization pass the parity depends on ("needs PASS" in the notes)
};

// "... float32 rounding alone (...): relL2 1.6e-05, max abs 2.9e-05 x max|ref|"
void parse_drift(const std::string& notes, Reference& r) {
    const size_t l2 = notes.find("relL2 "), mx = notes.find("max abs ");
    if (l2 == std::string::npos || mx == std::string::npos) return;
    r.drift_l2 = std::stod(notes.substr(l2 + 6));
    r.drift_max = std::stod(notes.substr(mx + 8));
}

void parse_needs(const std::string& notes, Reference& r) {
    const size_t at = notes.find("needs ");
    if (at == std::string::npos) return;
    const size_t end = notes.find_first_of(";, ", at + 6);
    r.needs = notes.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string item; std::getline(in, item, sep);) out.push_back(item);
    return out;
}

std::vector<Reference> references(const std::string& dir) {
    std::ifstream in(fixture_path(dir + "/MANIFEST"));
    std::vector<Reference> refs;
    for (std::string line; std::getline(in, line);) {
        const auto f = split(line, '\t');
        if (f.size() < 4) continue;
        Reference r;
        r.model = f[0];
        r.composite = f[1];
        r.onnx = split(f[3], ',');
        for (const std::string& t : split(f[2], ',')) r.targets.push_back(std::stoll(t));
        if (f.size() > 4) parse_drift(f[4], r), parse_needs(f[4], r);
        refs.push_back(r);
    }
    return refs;
}


// Compares relprop with every reference of DIR/MANIFEST (ONNX fixtures in ONNX_DIR) under each pipeline; returns
// the number of references checked. LRP references whose notes say "needs PASS" are checked only when relprop has
// that canonization pass (it turns the export's decomposed activation back into the op zennit hooks; the gradient
// is the same either way).
int check_parity(const std::string& dir, const std::string& onnx_dir, const std::vector<std::string>& pipelines) {
    auto backend = make_backend("cpu");
    CompositeOptions options;
    options.low = {-3.0f};
    options.high = {3.0f};
    const auto passes = canonize_pass_names();
    int checked = 0;
    for (const Reference& ref : references(dir)) {
        const std::string needs = ref.composite == "gradient" ? "" : ref.needs;
        if (!needs.empty() && std::find(passes.begin(), passes.end(), needs) == passes.end()) {
            MESSAGE(dir << "/" << ref.model << "." << ref.composite << " not checked: needs the canonization pass "
                        << needs << ", which this build lacks");
            continue;
        }
        ++checked;
        const Tensor want = read_npy(fixture_path(dir + "/" + ref.model + "." + ref.composite + ".npy"));
        for (const std::string& fixture : ref.onnx)
        for (std::string pipeline : pipelines) {
            if (!needs.empty()) pipeline += "," + needs;
            INFO(fixture << " / " << ref.composite << " / canonize " << pipeline);
            const OnnxModel model = load_onnx(fixture_path(onnx_dir + "/" + fixture + ".onnx"));
            auto graph = std::make_shared<const Graph>(canonize(model.graph, pipeline).graph);
            Explainer explainer(graph, *backend);
            const Recording rec = explainer.forward(read_npy(fixture_path(onnx_dir + "/" + fixture + ".input.npy")));
            Explanation e;
            if (ref.composite == "gradient") {
                e = explainer.gradient(rec, ref.targets);
            } else {
                Plan plan(graph, assign_rules(*graph, ref.composite, options), *backend);
                e = explainer.explain(rec, plan, ref.targets);
            }
            REQUIRE(e.relevance.shape() == want.shape());
            double diff2 = 0, ref2 = 0, max_diff = 0, max_ref = 0;
            for (int64_t i = 0; i < want.numel(); ++i) {
                const double d = static_cast<double>(e.relevance[i]) - want[i];
                diff2 += d * d;
                ref2 += static_cast<double>(want[i]) * want[i];
                max_diff = std::max(max_diff, std::abs(d));
                max_ref = std::max(max_ref, std::abs(static_cast<double>(want[i])));
            }
            const double rel_l2 = std::sqrt(diff2 / ref2), rel_max = max_diff / max_ref;
            if (ref.drift_l2 > 1e-2) {
                // zennit disagrees with itself (float32 against float64 beyond 1e-2): the Flat composites on the
                // LayerNorm2d+GELU block, whose exact result is 0 — LayerNorm's gradient sums to 0 over the
                // channels of each pixel and Flat spreads every channel of a pixel over the same window — so both
                // are rounding noise. No parity: relprop's relevance must be finite and as small as that noise.
                double max_got = 0;
                for (int64_t i = 0; i < want.numel(); ++i) {
                    REQUIRE(std::isfinite(e.relevance[i]));
                    max_got = std::max(max_got, std::abs(static_cast<double>(e.relevance[i])));
                }
                std::printf("zennit parity %-19s %-26s %-15s no reference (zennit f32 vs f64 %.1e): max |R| %.1e, "
                            "zennit's %.1e\n", fixture.c_str(), ref.composite.c_str(), pipeline.c_str(), ref.drift_l2,
                            max_got, max_ref);
                CHECK(max_got <= 10 * max_ref);
                continue;
            }
            std::printf("zennit parity %-19s %-26s %-15s relative L2 %.1e, max abs %.1e x max|ref|\n",
                        fixture.c_str(), ref.composite.c_str(), pipeline.c_str(), rel_l2, rel_max);
            // 1e-5, unless float32 itself moves zennit's own result more than a third of that (the tiny
            // DenseNet: its transition's AvgPool divides by window sums of mixed-sign values that
            // nearly cancel): then three times zennit's own float32-vs-float64 difference.
            CHECK(rel_l2 <= std::max(1e-5, 3 * ref.drift_l2));
            CHECK(rel_max <= std::max(1e-5, 3 * ref.drift_max));
        }
    }
    return checked;
}

}  // namespace

TEST_CASE("zennit parity: every fixture under every composite and the gradient") {
    REQUIRE(references("zennit").size() == 18);
    CHECK(check_parity("zennit", "onnx", {"auto,-densenet", "auto"}) == 18);
}

// The blocks of MobileNet, EfficientNet, RegNet, ShuffleNet and ConvNeXt (tests/fixtures/zennit_blocks, made by
// tools/make_zennit_block_fixtures.py; each block's ONNX export lies beside its references).
TEST_CASE("zennit parity: post-2017 blocks under every composite and the gradient") {
    const auto refs = references("zennit_blocks");
    REQUIRE(refs.size() == 48);
    const int needs = static_cast<int>(std::count_if(refs.begin(), refs.end(), [](const Reference& r) {
        return !r.needs.empty();
    }));
    // hardswish13, silu, layernorm_gelu(13): x * HardSigmoid(x), x * Sigmoid(x), GELU's Erf arithmetic need
    // fuse-activations
    CHECK(needs == 24);
    CHECK(check_parity("zennit_blocks", "zennit_blocks", {"auto"}) >= 28);
}
