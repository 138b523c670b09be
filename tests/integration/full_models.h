// The full torchvision exports the integration tests look for: $RELPROP_FULL_FIXTURES or
// tests/fixtures/full in the source tree (made by `tools/make_onnx_fixtures.py --full DIR --full-models all
// --full-opsets 13,17 --full-references`; not committed).
#pragma once

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace relprop::test {

struct FullModel {
    std::string name;
    /// Opsets exported: 13 is NAME.onnx, any other N is NAME.opsetN.onnx.
    std::vector<int> opsets;
    /// "SELECTOR=RULE" overrides that give relprop zennit's rule map for this model, where it differs from
    /// relprop's default composite only because torchvision calls the op as a function, which zennit leaves
    /// under autograd's gradient: `x + f(x)` residuals (relprop: Norm), F.relu (Pass),
    /// F.avg_pool2d / F.adaptive_avg_pool2d / x.mean([2,3]) (Norm).
    std::vector<std::string> zennit_overrides;
};

/// The models of the integration tests. The first four are checked for the forward and finite relevance
/// under every composite; the others also against onnxruntime, torch autograd and zennit when their
/// reference files are there (tools/full_references.py).
inline std::vector<FullModel> full_models() {
    return {
        {"vgg16", {13}, {}},
        {"resnet18", {13}, {}},
        {"resnet50", {13}, {}},
        {"densenet121", {13}, {}},
        {"mobilenet_v2", {13, 17}, {"Add=gradient", "GlobalAvgPool=gradient"}},  // residual +, F.adaptive_avg_pool2d
        {"mobilenet_v3_small", {13, 17}, {"Add=gradient"}},                        // residual +=
        {"efficientnet_b0", {13, 17}, {"Add=gradient"}},                           // residual +=
        {"regnet_y_400mf", {13, 17}, {"Add=gradient"}},                            // x + f(x)
        {"mnasnet1_0", {13, 17}, {"Add=gradient", "ReduceMean=gradient"}},         // layers(x) + x, x.mean([2, 3])
        {"shufflenet_v2_x1_0", {13, 17}, {"ReduceMean=gradient"}},                 // x.mean([2, 3])
        {"convnext_tiny", {13, 17}, {"Add=gradient"}},                             // result += input
        {"googlenet", {13, 17}, {"Relu=gradient"}},                                // F.relu in BasicConv2d
        {"inception_v3", {13, 17}, {"Relu=gradient", "AvgPool=gradient"}},         // F.relu, F.avg_pool2d
        {"squeezenet1_1", {13, 17}, {}},
        {"alexnet", {13, 17}, {}},
        {"resnext50_32x4d", {13}, {"Add=gradient"}},                               // out += identity
    };
}

inline std::string full_model_stem(const std::string& name, int opset) {
    return opset == 13 ? name : name + ".opset" + std::to_string(opset);
}

inline std::string full_model_path(const std::string& stem, const std::string& suffix) {
    const char* dir = std::getenv("RELPROP_FULL_FIXTURES");
    return (dir ? std::string(dir) : std::string(RELPROP_FIXTURES_DIR) + "/full") + "/" + stem + suffix;
}

/// The `key value` lines of NAME.references.txt (tools/full_references.py); empty when the file is absent.
inline std::map<std::string, std::string> full_model_references(const std::string& name) {
    std::map<std::string, std::string> out;
    std::ifstream in(full_model_path(name, ".references.txt"));
    for (std::string line; std::getline(in, line);) {
        const size_t space = line.find(' ');
        if (space != std::string::npos) out[line.substr(0, space)] = line.substr(space + 1);
    }
    return out;
}

}  // namespace relprop::test
