// The options `relprop explain`, `check` and `inspect` share, their registration with CLI11, and
// the parsing of their values (lists, targets, fractions).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "relprop/image.hpp"

namespace relprop::cli {

struct ModelOptions {
    std::string model;
    std::string canonize = "auto";
    std::string composite = "epsilon-plus-flat";
    std::vector<std::string> rules;  // SELECTOR=RULE
    std::string low, high;           // one value or a comma list (epsilon-gamma-box)
    float epsilon = 1e-6f;
    bool zero_bias = false;
    std::string device = "cpu";
    bool allow_nonfinite = false;  // NaN/Inf in weights or inputs: explain anyway instead of refusing
};

struct InputOptions {
    std::vector<std::string> inputs;
    int resize = 256;
    int crop = 224;
    std::string mean = "0.485,0.456,0.406";
    std::string std = "0.229,0.224,0.225";
    std::string scale = "1/255";
    std::string preprocess;  // a preset (relprop/image.hpp preprocess_preset) instead of --mean/--std/--scale
    bool no_preprocess = false;
};

struct ExplainOptions {
    std::string method = "lrp";
    std::string target = "argmax";
    std::string init = "onehot";
    std::string explain_output = "logits";  // a model ending in a Softmax: logits (its input) or probabilities
    int batch_size = 16;
    // smoothgrad
    float noise_level = 0.1f;
    int samples = 20;
    uint64_t seed = 0;
    // integrated-gradients
    int steps = 20;
    std::string baseline = "0";  // a value, or a .npy shaped like one input sample
    // occlusion
    std::string window = "8";    // H,W (or one size for both)
    std::string stride = "";     // default: the window
    float fill = 0.0f;
    std::string occlusion_mode = "remove";
    // smoothgrad / integrated-gradients: average the composite's LRP instead of the gradient
    bool with_rules = false;
};

void add_model_options(CLI::App& app, ModelOptions& o, bool with_rules);
void add_input_options(CLI::App& app, InputOptions& o);
void add_explain_options(CLI::App& app, ExplainOptions& o);

// "0.1,0.2" → {0.1, 0.2}; throws relprop::Error naming the option.
std::vector<float> parse_floats(const std::string& text, const std::string& option);
// "1/255" or "0.0039" → a number.
float parse_fraction(const std::string& text, const std::string& option);
// "argmax" → {}, "3" → {3}, "3,5" → {3, 5}.
std::vector<int64_t> parse_targets(const std::string& text);
Preprocess preprocess_of(const InputOptions& o);

}  // namespace relprop::cli
