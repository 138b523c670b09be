#include "tools/cli/inputs.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "relprop/error.hpp"
#include "engine/finite.h"
#include "relprop/image.hpp"
#include "relprop/npy.hpp"

namespace relprop::cli {

namespace fs = std::filesystem;

namespace {

bool is_image_name(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

// An 8-bit picture of a [C, H, W] (or [F]) sample, min-max scaled (for overlays of .npy inputs).
Image picture_of(const Tensor& sample) {
    Image img;
    if (sample.rank() != 3) return img;
    const int64_t c = sample.dim(0), h = sample.dim(1), w = sample.dim(2);
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < sample.numel(); ++i) {
        lo = std::min(lo, sample[i]);
        hi = std::max(hi, sample[i]);
    }
    img.width = static_cast<int>(w);
    img.height = static_cast<int>(h);
    img.channels = c == 3 ? 3 : 1;
    img.pixels.resize(static_cast<size_t>(w * h * img.channels));
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            for (int k = 0; k < img.channels; ++k) {
                double v = 0;
                if (img.channels == 3) {
                    v = sample[(k * h + y) * w + x];
                } else {
                    for (int64_t ch = 0; ch < c; ++ch) v += sample[(ch * h + y) * w + x];
                    v /= static_cast<double>(c);
                }
                const double u = hi > lo ? (v - lo) / (hi - lo) : 0.5;
                img.pixels[static_cast<size_t>((y * w + x) * img.channels + k)] =
                    static_cast<uint8_t>(std::lround(std::clamp(u, 0.0, 1.0) * 255));
            }
    return img;
}

}  // namespace

Tensor slice_batch(const Tensor& t, int64_t first, int64_t count) {
    const int64_t per = t.numel() / t.dim(0);
    Shape s = t.shape();
    s[0] = count;
    Tensor out(s);
    std::memcpy(out.data(), t.data() + first * per, sizeof(float) * static_cast<size_t>(count * per));
    return out;
}

std::vector<std::string> list_inputs(const InputOptions& options) {
    std::vector<std::string> files;
    for (const std::string& in : options.inputs) {
        const fs::path p(in);
        std::error_code ec;
        if (!fs::exists(p, ec)) throw Error(in + ": no such file or folder");
        if (fs::is_directory(p, ec)) {
            std::vector<fs::path> found;
            for (const auto& entry : fs::directory_iterator(p, ec))
                if (entry.is_regular_file() && is_image_name(entry.path())) found.push_back(entry.path());
            if (found.empty()) throw Error(in + ": the folder has no PNG/JPEG/BMP images");
            std::sort(found.begin(), found.end());
            for (const fs::path& f : found) files.push_back(f.string());
        } else {
            files.push_back(in);
        }
    }
    return files;
}

Batch load_inputs(const InputOptions& options, const Shape& model_input, bool allow_nonfinite) {
    return load_files(list_inputs(options), options, model_input, allow_nonfinite);
}

Batch load_files(const std::vector<std::string>& names, const InputOptions& options, const Shape& model_input,
                 bool allow_nonfinite) {
    if (names.empty()) throw Error("no inputs");
    const std::vector<fs::path> files(names.begin(), names.end());
    const Preprocess pre = preprocess_of(options);
    std::vector<Tensor> samples;  // each [1, ...]
    Batch batch;
    bool images = false;
    for (const fs::path& f : files) {
        if (f.extension() == ".npy") {
            Tensor t = read_npy(f.string());
            if (!allow_nonfinite)
                require_finite(t, "input '" + f.string() + "'", "pass --allow-nonfinite to explain anyway");
            if (t.rank() + 1 == model_input.size()) {  // a single sample without the batch axis
                Shape s = t.shape();
                s.insert(s.begin(), 1);
                t = t.reshaped(s);
            }
            if (t.rank() != model_input.size() || t.dim(0) < 1)
                throw Error(f.string() + ": shape " + shape_str(t.shape()) + " does not fit the model input " +
                            shape_str(model_input));
            for (int64_t i = 0; i < t.dim(0); ++i) {
                Tensor one = slice_batch(t, i, 1);
                batch.names.push_back(t.dim(0) == 1 ? f.stem().string() : f.stem().string() + "_" + std::to_string(i));
                batch.sources.push_back(f.string());
                Shape chw(one.shape().begin() + 1, one.shape().end());
                const bool nhwc = image_layout(model_input) == ImageLayout::NHWC;
                batch.shown.push_back(picture_of(nhwc ? to_channels_first(one.reshaped(chw)) : one.reshaped(chw)));
                samples.push_back(one);
            }
        } else {
            if (model_input.size() != 4)
                throw Error(f.string() + ": images need a model whose input is [N, C, H, W] or [N, H, W, C]; this one "
                            "takes " + shape_str(model_input));
            images = true;
            const int64_t c = image_channels(model_input);
            for (const auto* v : {&pre.mean, &pre.std})
                if (pre.enabled && v->size() != 1 && static_cast<int64_t>(v->size()) != c)
                    throw Error("--mean/--std have " + std::to_string(v->size()) + " values but the model takes " +
                                std::to_string(c) + " channel(s): give 1 or " + std::to_string(c) +
                                " values each, or --no-preprocess for images already at the model's size");
            const Image img = load_image(f.string());
            const Tensor chw = image_to_tensor(img, c, pre);
            batch.names.push_back(f.stem().string());
            batch.sources.push_back(f.string());
            batch.shown.push_back(tensor_to_image(chw, pre));
            // in the model's layout: [C, H, W], or [H, W, C] for an NHWC model
            const Tensor sample = image_layout(model_input) == ImageLayout::NHWC ? to_channels_last(chw) : chw;
            Shape s = sample.shape();
            s.insert(s.begin(), 1);
            samples.push_back(sample.reshaped(s));
        }
    }
    Shape total = samples.at(0).shape();
    total[0] = 0;
    for (const Tensor& s : samples) {
        if (!std::equal(s.shape().begin() + 1, s.shape().end(), total.begin() + 1))
            throw Error("the inputs differ in shape: " + shape_str(samples[0].shape()) + " and " + shape_str(s.shape()) +
                        " (images: see --resize/--crop)");
        total[0] += 1;
    }
    for (size_t d = 1; d < total.size(); ++d)
        if (d >= model_input.size() || total[d] != model_input[d])
            throw Error("the inputs are " + shape_str(total) + " but the model takes " + shape_str(model_input) +
                        (images ? " (for images: --resize and --crop set the size; --no-preprocess keeps it)" : ""));
    batch.data = Tensor(total);
    const int64_t per = samples[0].numel();
    for (size_t i = 0; i < samples.size(); ++i)
        std::memcpy(batch.data.data() + static_cast<int64_t>(i) * per, samples[i].data(), sizeof(float) * per);
    return batch;
}

}  // namespace relprop::cli
