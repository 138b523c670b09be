// Parity with zennit: relprop's input relevance on the committed tiny models equals zennit's
// (tests/fixtures/zennit, made by tools/make_zennit_fixtures.py) under every composite and for the
// plain gradient. Canonization: "auto,-densenet" (zennit has no DenseNet canonizer; its references keep
// those BatchNorms with the Pass rule, as relprop does with that pass off), and "auto": the DenseNet
// pass moves a positive per-channel scale into the next layer, which changes none of these rules' results.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "io/npy.h"
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
};

// "... float32 rounding alone (...): relL2 1.6e-05, max abs 2.9e-05 x max|ref|"
void parse_drift(const std::string& notes, Reference& r) {
    const size_t l2 = notes.find("relL2 "), mx = notes.find("max abs ");
    if (l2 == std::string::npos || mx == std::string::npos) return;
    r.drift_l2 = std::stod(notes.substr(l2 + 6));
    r.drift_max = std::stod(notes.substr(mx + 8));
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string item; std::getline(in, item, sep);) out.push_back(item);
    return out;
}

std::vector<Reference> references() {
    std::ifstream in(fixture_path("zennit/MANIFEST"));
    std::vector<Reference> refs;
    for (std::string line; std::getline(in, line);) {
        const auto f = split(line, '\t');
        if (f.size() < 4) continue;
        Reference r{f[0], f[1], {}, split(f[3], ',')};
        for (const std::string& t : split(f[2], ',')) r.targets.push_back(std::stoll(t));
        if (f.size() > 4) parse_drift(f[4], r);
        refs.push_back(r);
    }
    return refs;
}

}  // namespace

TEST_CASE("zennit parity: every fixture under every composite and the gradient") {
    const auto refs = references();
    REQUIRE(refs.size() == 18);
    auto backend = make_backend("cpu");
    CompositeOptions options;
    options.low = {-3.0f};
    options.high = {3.0f};
    for (const Reference& ref : refs) {
        const Tensor want = read_npy(fixture_path("zennit/" + ref.model + "." + ref.composite + ".npy"));
        for (const std::string& fixture : ref.onnx)
        for (const std::string pipeline : {"auto,-densenet", "auto"}) {
            INFO(fixture << " / " << ref.composite << " / canonize " << pipeline);
            const OnnxModel model = load_onnx(fixture_path("onnx/" + fixture + ".onnx"));
            auto graph = std::make_shared<const Graph>(canonize(model.graph, pipeline).graph);
            Explainer explainer(graph, *backend);
            const Recording rec = explainer.forward(read_npy(fixture_path("onnx/" + fixture + ".input.npy")));
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
            std::printf("zennit parity %-19s %-26s %-15s relative L2 %.1e, max abs %.1e x max|ref|\n",
                        fixture.c_str(), ref.composite.c_str(), pipeline.c_str(), rel_l2, rel_max);
            // 1e-5, unless float32 itself moves zennit's own result more than a third of that (the tiny
            // DenseNet: its transition's AvgPool divides by window sums of mixed-sign values that
            // nearly cancel): then three times zennit's own float32-vs-float64 difference.
            CHECK(rel_l2 <= std::max(1e-5, 3 * ref.drift_l2));
            CHECK(rel_max <= std::max(1e-5, 3 * ref.drift_max));
        }
    }
}
