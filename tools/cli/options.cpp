#include "tools/cli/options.h"

#include <cmath>
#include <sstream>

#include "canonize/pipeline.h"
#include "relprop/error.hpp"
#include "relprop/attributor.hpp"
#include "rules/composite.h"

namespace relprop::cli {

namespace {

std::string join(const std::vector<std::string>& items) {
    std::string s;
    for (const std::string& i : items) s += (s.empty() ? "" : ", ") + i;
    return s;
}

float number(const std::string& text, const std::string& option) {
    try {
        size_t used = 0;
        const float v = std::stof(text, &used);
        if (used == text.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    throw Error(option + ": '" + text + "' is not a number");
}

}  // namespace

void add_model_options(CLI::App& app, ModelOptions& o, bool with_rules) {
    app.add_option("model", o.model, "the ONNX model (.onnx)")->required();
    app.add_flag("--allow-nonfinite", o.allow_nonfinite,
                 "accept NaN/Inf in the model's weights and in the inputs (refused by default, naming the tensor)");
    app.add_option("--canonize", o.canonize,
                   "canonization: auto, none, or passes (" + join(canonize_pass_names()) +
                       "), e.g. auto,-densenet (default auto)");
    app.add_option("--composite", o.composite, "rule preset: " + join(composite_names()) + " (default epsilon-plus-flat)");
    app.add_option("--rule", o.rules,
                   "override, repeatable: SELECTOR=RULE[:ARGS]; SELECTOR = op type (Conv, Linear, ...), node-name glob, "
                   "#index or first; e.g. --rule Conv=epsilon:0.25 --rule 'layer4.*=gamma'");
    if (!with_rules) return;
    app.add_option("--low", o.low, "epsilon-gamma-box: lowest input value, one or per channel (a,b,c); default from "
                                   "the image preprocessing");
    app.add_option("--high", o.high, "epsilon-gamma-box: highest input value (like --low)");
    app.add_option("--epsilon", o.epsilon, "epsilon of the dense layers' Epsilon rule (default 1e-6)");
    app.add_flag("--zero-bias", o.zero_bias, "drop the biases in every LRP rule (zennit's zero_params=['bias'])");
    app.add_option("--device", o.device, "cpu, cuda, cuda:N or auto (default cpu)");
}

void add_input_options(CLI::App& app, InputOptions& o) {
    app.add_option("inputs", o.inputs, "inputs: .npy files (float32, N×C×H×W or N×F), images (PNG/JPEG) or folders of images")
        ->required();
    app.add_option("--resize", o.resize, "images: shorter side resized to this (default 256; 0 = keep)");
    app.add_option("--crop", o.crop, "images: center crop to this square (default 224; 0 = none)");
    app.add_option("--mean", o.mean, "images: per-channel mean subtracted after scaling (default ImageNet's)");
    app.add_option("--std", o.std, "images: per-channel std divided by (default ImageNet's)");
    app.add_option("--scale", o.scale, "images: pixel value factor (default 1/255)");
    app.add_option("--preprocess", o.preprocess,
                   "images: torch (the default mean/std), keras-caffe (BGR, minus 103.939,116.779,123.68), keras-tf "
                   "(pixel/127.5 - 1) or none (pixels 0..255); instead of --mean/--std/--scale");
    app.add_flag("--no-preprocess", o.no_preprocess, "images: no resize, crop or mean/std; only pixel × --scale");
}

void add_explain_options(CLI::App& app, ExplainOptions& o) {
    app.add_option("--method", o.method, join(method_names()) + " (default lrp)")->check(CLI::IsMember(method_names()));
    app.add_option("--noise-level", o.noise_level, "smoothgrad: noise sigma / (max - min) of each input (default 0.1)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--samples", o.samples, "smoothgrad: gradients averaged, the last without noise (default 20)")
        ->check(CLI::PositiveNumber);
    app.add_option("--seed", o.seed, "smoothgrad: seed of the noise (default 0)");
    app.add_option("--steps", o.steps, "integrated-gradients: points on the path from the baseline (default 20)")
        ->check(CLI::PositiveNumber);
    app.add_option("--baseline", o.baseline,
                   "integrated-gradients: a value (default 0), or a .npy shaped like one input sample");
    app.add_option("--window", o.window, "occlusion: window H,W over each input (one number: square; default 8)");
    app.add_option("--stride", o.stride, "occlusion: stride H,W (default: the window)");
    app.add_option("--fill", o.fill, "occlusion: the value occluded inputs take (default 0)");
    app.add_option("--occlusion-mode", o.occlusion_mode,
                   "occlusion: remove (f(x) - f(x without the window), default) or keep (f(only the window), zennit's)")
        ->check(CLI::IsMember({"remove", "keep"}));
    app.add_flag("--with-rules", o.with_rules,
                 "smoothgrad, integrated-gradients: average the composite's LRP instead of the plain gradient");
    app.add_option("--target", o.target, "argmax, a class N, or one per sample N,M,... (default argmax)");
    app.add_option("--init", o.init, "output relevance: onehot or logit (one-hot × logit) (default onehot)")
        ->check(CLI::IsMember({"onehot", "logit"}));
    app.add_option("--explain-output", o.explain_output,
                   "a model ending in a Softmax: explain its logits (the Softmax's input; default) or its "
                   "probabilities (the Softmax kept, gradient rule)")
        ->check(CLI::IsMember({"logits", "probabilities"}));
    app.add_option("--batch-size", o.batch_size, "samples per forward/reverse pass (default 16)")
        ->check(CLI::PositiveNumber);
}

std::vector<float> parse_floats(const std::string& text, const std::string& option) {
    std::vector<float> out;
    std::istringstream in(text);
    for (std::string item; std::getline(in, item, ',');) out.push_back(number(item, option));
    if (out.empty()) throw Error(option + ": expected a number or a comma-separated list");
    return out;
}

float parse_fraction(const std::string& text, const std::string& option) {
    const size_t slash = text.find('/');
    if (slash == std::string::npos) return number(text, option);
    const float den = number(text.substr(slash + 1), option);
    if (den == 0.0f) throw Error(option + ": division by zero in '" + text + "'");
    return number(text.substr(0, slash), option) / den;
}

std::vector<int64_t> parse_targets(const std::string& text) {
    if (text == "argmax") return {};
    std::vector<int64_t> out;
    std::istringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
        try {
            size_t used = 0;
            const long long v = std::stoll(item, &used);
            if (used != item.size() || v < 0) throw std::invalid_argument(item);
            out.push_back(v);
        } catch (const std::exception&) {
            throw Error("--target: '" + item + "' is not a class index (use argmax, N or N,M,...)");
        }
    }
    if (out.empty()) throw Error("--target: expected argmax, N or N,M,...");
    return out;
}

Preprocess preprocess_of(const InputOptions& o) {
    Preprocess p;
    const InputOptions defaults;
    if (!o.preprocess.empty()) {
        if (o.mean != defaults.mean || o.std != defaults.std || o.scale != defaults.scale)
            throw Error("--preprocess " + o.preprocess + " sets the mean, std and scale: drop --mean/--std/--scale");
        p = preprocess_preset(o.preprocess);
    } else {
        p.mean = parse_floats(o.mean, "--mean");
        p.std = parse_floats(o.std, "--std");
        for (float s : p.std)
            if (s == 0.0f) throw Error("--std: a standard deviation of 0");
        p.scale = parse_fraction(o.scale, "--scale");
    }
    p.enabled = !o.no_preprocess;
    if (o.resize < 0 || o.crop < 0) throw Error("--resize and --crop must be >= 0");
    p.resize = o.resize;
    p.crop = o.crop;
    return p;
}

}  // namespace relprop::cli
