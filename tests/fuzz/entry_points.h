// The entry points the fuzz targets drive, shared with tests/test_fuzz_regressions.cpp so that every
// committed crashing input is replayed through exactly the code that crashed. Each returns normally or
// throws relprop::Error; anything else (another exception, a crash, a sanitizer report) is a bug.
// Limits are smaller than the defaults so that one input stays fast and small under the fuzzer.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <string>

#include "canonize/pipeline.h"
#include "engine/backend.h"
#include "relprop/image.hpp"
#include "engine/finite.h"
#include "relprop/npy.hpp"
#include "io/onnx_import.h"
#include "rules/composite.h"
#include "rules/explainer.h"

namespace relprop::fuzz {

// ONNX bytes → import; a model that imports and is small is canonized, run forward and explained
// (gradient, and LRP with the epsilon-plus-flat composite).
inline void onnx_entry(const uint8_t* data, size_t size) {
    ImportOptions options;
    options.max_tensor_elements = int64_t{1} << 22;
    options.max_parameter_bytes = int64_t{64} << 20;
    options.max_nodes = 10'000;
    options.max_value_elements = int64_t{1} << 22;
    options.max_folded_elements = int64_t{1} << 20;
    OnnxModel model = load_onnx_buffer(data, size, options);
    const Graph& g = model.graph;
    Shape in = g.input_shapes().at(0);
    if (!in.empty() && in[0] == -1) in[0] = 1;
    int64_t work = shape_numel(in);
    for (const Value& v : g.values()) work += v.shape.empty() ? 0 : shape_numel(v.shape);
    if (work > (int64_t{1} << 18)) return;  // imported fine; too big to run on every input
    auto graph = std::make_shared<const Graph>(canonize(model.graph, "auto").graph);
    std::unique_ptr<Backend> backend = make_backend("cpu");
    Explainer explainer(graph, *backend);
    Tensor x(in);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(i % 7) - 3.0f;
    const Recording rec = explainer.forward(x);
    explainer.gradient(rec);
    const Plan plan(graph, assign_rules(*graph, "epsilon-plus-flat"), *backend);
    explainer.explain(rec, plan);
}

// .npy bytes → a float32 tensor.
inline void npy_entry(const uint8_t* data, size_t size) {
    const Tensor t = parse_npy(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npy", int64_t{1} << 24);
    (void)count_nonfinite(t);
}

// Image bytes → pixels → a preprocessed [3, 24, 24] tensor (resize, crop, normalize). Images whose
// resized size is large (extreme aspect ratios, allowed up to 2^26 pixels) are only cropped, to keep
// every input fast.
inline void image_entry(const uint8_t* data, size_t size) {
    const Image img = decode_image(std::string(reinterpret_cast<const char*>(data), size), "fuzz.img", int64_t{1} << 22);
    Preprocess p;
    p.resize = 32;
    p.crop = 24;
    if (img.width > 0 && img.height > 0) {
        const auto [w, h] = resized_size(img.width, img.height, p.resize);
        if (int64_t{w} * h > (int64_t{1} << 16)) p.resize = 0;
        if (p.resize == 0 && std::min(img.width, img.height) < p.crop) p.crop = std::min(img.width, img.height);
    }
    (void)image_to_tensor(img, 3, p);
}

}  // namespace relprop::fuzz
