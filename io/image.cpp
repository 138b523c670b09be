#include "relprop/image.hpp"

#include <array>

#include <stb_image.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <system_error>

#include "relprop/error.hpp"
#include "io/image_guard.h"

namespace relprop {

namespace {

namespace fs = std::filesystem;

void check_image(const Image& img, const char* what) {
    if (img.width <= 0 || img.height <= 0 || img.channels < 1 || img.channels > 4)
        throw Error(std::string(what) + ": bad image " + std::to_string(img.width) + "x" +
                    std::to_string(img.height) + " with " + std::to_string(img.channels) + " channels");
    if (img.pixels.size() != size_t(img.width) * size_t(img.height) * size_t(img.channels))
        throw Error(std::string(what) + ": image " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                    "x" + std::to_string(img.channels) + " holds " + std::to_string(img.pixels.size()) +
                    " bytes");
}

// PIL's fixed-point resampling precision (Resample.c: 32 - 8 - 2 bits).
constexpr int kPrecisionBits = 22;

// One output position's filter taps: input index range [first, first + weights.size()).
struct Taps {
    int first = 0;
    std::vector<int32_t> weights;
};

// PIL's BILINEAR coefficients for resampling `in_size` samples to `out_size`: the triangle filter
// with support 1 scaled by max(scale, 1), centered at (i + 0.5) * scale, normalized to sum 1, then
// rounded to kPrecisionBits fixed point.
std::vector<Taps> bilinear_taps(int in_size, int out_size) {
    const double scale = double(in_size) / out_size;
    const double filterscale = std::max(scale, 1.0);
    const double support = 1.0 * filterscale;
    const double inv = 1.0 / filterscale;
    std::vector<Taps> taps(static_cast<size_t>(out_size));
    std::vector<double> w;
    for (int i = 0; i < out_size; ++i) {
        const double center = (i + 0.5) * scale;
        int lo = int(center - support + 0.5);
        lo = std::max(lo, 0);
        int hi = std::min(int(center + support + 0.5), in_size);
        w.assign(size_t(std::max(hi - lo, 0)), 0.0);
        double sum = 0.0;
        for (int x = lo; x < hi; ++x) {
            const double d = std::fabs((x - center + 0.5) * inv);
            const double v = d < 1.0 ? 1.0 - d : 0.0;
            w[size_t(x - lo)] = v;
            sum += v;
        }
        taps[size_t(i)].first = lo;
        for (double v : w) {
            const double n = sum != 0.0 ? v / sum : v;
            const double f = n * double(1 << kPrecisionBits);
            taps[size_t(i)].weights.push_back(int32_t(n < 0 ? f - 0.5 : f + 0.5));
        }
    }
    return taps;
}

uint8_t clip8(int64_t acc) {
    const int64_t v = acc >> kPrecisionBits;
    return uint8_t(std::clamp<int64_t>(v, 0, 255));
}

// One separable pass along x (horizontal) or y (vertical), 8-bit in and out like PIL.
Image resample_pass(const Image& in, int out_size, bool horizontal) {
    const int in_size = horizontal ? in.width : in.height;
    const std::vector<Taps> taps = bilinear_taps(in_size, out_size);
    Image out;
    out.width = horizontal ? out_size : in.width;
    out.height = horizontal ? in.height : out_size;
    out.channels = in.channels;
    out.pixels.resize(size_t(out.width) * size_t(out.height) * size_t(out.channels));
    const int C = in.channels;
    for (int y = 0; y < out.height; ++y) {
        for (int x = 0; x < out.width; ++x) {
            const Taps& t = taps[size_t(horizontal ? x : y)];
            for (int c = 0; c < C; ++c) {
                int64_t acc = int64_t(1) << (kPrecisionBits - 1);
                for (size_t k = 0; k < t.weights.size(); ++k) {
                    const int sx = horizontal ? t.first + int(k) : x;
                    const int sy = horizontal ? y : t.first + int(k);
                    acc += int64_t(in.pixels[(size_t(sy) * size_t(in.width) + size_t(sx)) * size_t(C) + size_t(c)]) *
                           t.weights[k];
                }
                out.pixels[(size_t(y) * size_t(out.width) + size_t(x)) * size_t(C) + size_t(c)] = clip8(acc);
            }
        }
    }
    return out;
}

// The value for channel c of a 1-value-or-per-channel list.
float per_channel(const std::vector<float>& v, int64_t c) { return v.size() == 1 ? v[0] : v[size_t(c)]; }

void check_mean_std(const Preprocess& p, int64_t channels) {
    auto ok = [&](const std::vector<float>& v) { return v.size() == 1 || int64_t(v.size()) == channels; };
    if (!ok(p.mean) || !ok(p.std))
        throw Error("preprocess: mean has " + std::to_string(p.mean.size()) + " values and std " +
                    std::to_string(p.std.size()) + "; each needs " +
                    (channels == 1 ? std::string("1 value (the image has 1 channel)")
                                   : "1 or " + std::to_string(channels) + " (one per channel)"));
    for (float s : p.std)
        if (!(s != 0.0f) || !std::isfinite(s)) throw Error("preprocess: std values must be finite and nonzero");
    for (float m : p.mean)
        if (!std::isfinite(m)) throw Error("preprocess: mean values must be finite");
    if (!(p.scale > 0.0f) || !std::isfinite(p.scale)) throw Error("preprocess: scale must be finite and positive");
}

// Width and height from a PNG's IHDR chunk; {0, 0} when the bytes do not start like a PNG.
std::pair<int64_t, int64_t> png_header_size(const std::string& bytes) {
    if (bytes.size() < 24) return {0, 0};
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (std::memcmp(b, sig, 8) != 0 || std::memcmp(b + 12, "IHDR", 4) != 0) return {0, 0};
    auto be32 = [&](int at) {
        return (int64_t(b[at]) << 24) | (int64_t(b[at + 1]) << 16) | (int64_t(b[at + 2]) << 8) | int64_t(b[at + 3]);
    };
    return {be32(16), be32(20)};
}

// The formats relprop reads, by their first bytes. stb_image also decodes GIF, TGA, PSD, PIC, PNM and
// HDR, but those decoders have the most known memory-safety bugs; they are refused before stb sees them.
bool is_png_jpeg_bmp(const std::string& bytes) {
    static const char png[8] = {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n'};
    if (bytes.size() >= 8 && std::memcmp(bytes.data(), png, 8) == 0) return true;
    if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xff && static_cast<unsigned char>(bytes[1]) == 0xd8 &&
        static_cast<unsigned char>(bytes[2]) == 0xff)
        return true;
    return bytes.size() >= 2 && bytes[0] == 'B' && bytes[1] == 'M';
}

}  // namespace

Image decode_image(const std::string& bytes, const std::string& source, int64_t max_pixels) {
    if (bytes.empty()) throw Error(source + ": the file is empty, not an image");
    if (!is_png_jpeg_bmp(bytes))
        throw Error(source + ": not a readable image (not a PNG, JPEG or BMP file; relprop reads only these)");
    if (bytes.size() > static_cast<size_t>(INT_MAX))
        throw Error(source + ": " + std::to_string(bytes.size()) + " bytes, more than the 2 GiB an image file may have");
    check_jpeg_segments(bytes, source);
    const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
    const int len = static_cast<int>(bytes.size());
    auto too_large = [&](int64_t w, int64_t h) {
        return Error(source + ": image is " + std::to_string(w) + "x" + std::to_string(h) + " pixels, more than the " +
                     std::to_string(max_pixels) + " allowed");
    };
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(data, len, &w, &h, &comp)) {
        const std::string reason = stbi_failure_reason() ? stbi_failure_reason() : "unknown";
        // stbi_info tries every format, so for a PNG whose header stb refuses as too large the reason
        // left is the last format's ("unknown image type"); name the size when the PNG header claims
        // more than max_pixels.
        const auto [pw, ph] = png_header_size(bytes);
        if (pw > 0 && ph > 0 && pw > max_pixels / ph) throw too_large(pw, ph);  // no overflow: each < 2^32
        throw Error(source + ": not a readable image (stb: " + reason + ")");
    }
    if (w <= 0 || h <= 0 || int64_t(w) * int64_t(h) > max_pixels) throw too_large(w, h);

    check_png_chunks(bytes, source);  // after the size check: a too-large PNG says so first
    unsigned char* pixels = stbi_load_from_memory(data, len, &w, &h, &comp, 0);
    if (pixels == nullptr)
        throw Error(source + ": not a readable image (stb: " +
                    std::string(stbi_failure_reason() ? stbi_failure_reason() : "unknown") + ")");
    std::unique_ptr<unsigned char, void (*)(void*)> owned(pixels, stbi_image_free);
    if (comp < 1 || comp > 4) throw Error(source + ": unsupported channel count " + std::to_string(comp));
    if (w <= 0 || h <= 0 || int64_t(w) * int64_t(h) > max_pixels) throw too_large(w, h);
    Image img;
    img.width = w;
    img.height = h;
    img.channels = comp;
    img.pixels.assign(pixels, pixels + size_t(w) * size_t(h) * size_t(comp));
    return img;
}

Image load_image(const std::string& path, int64_t max_pixels) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) throw Error(path + ": no such file");
    if (fs::is_directory(st)) throw Error(path + ": is a directory, not an image file");
    if (!fs::is_regular_file(st)) throw Error(path + ": not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot be opened for reading");
    const uintmax_t size = fs::file_size(path, ec);
    if (ec) throw Error(path + ": cannot be read (" + ec.message() + ")");
    auto read = [&](std::string& to, size_t n) {
        const size_t at = to.size();
        to.resize(at + n);
        in.read(to.data() + at, static_cast<std::streamsize>(n));
        if (in.bad()) throw Error(path + ": error while reading the file");
        to.resize(at + static_cast<size_t>(in.gcount()));
    };
    // The first bytes first: a file that is no PNG/JPEG/BMP, a PNG declaring more than max_pixels, and
    // a file larger than an image file may be (or, for a PNG, far larger than its pixels can need) are
    // refused before the rest is read — a sparse file of gigabytes costs nothing.
    std::string bytes;
    read(bytes, static_cast<size_t>(std::min<uintmax_t>(size, 64 << 10)));
    if (!bytes.empty() && !is_png_jpeg_bmp(bytes))
        throw Error(path + ": not a readable image (not a PNG, JPEG or BMP file; relprop reads only these)");
    if (size > static_cast<uintmax_t>(INT_MAX))
        throw Error(path + ": " + std::to_string(size) + " bytes, more than the 2 GiB an image file may have");
    const auto [pw, ph] = png_header_size(bytes);
    if (pw > 0 && ph > 0) {
        if (pw > max_pixels / ph)  // no overflow: each < 2^32
            throw Error(path + ": image is " + std::to_string(pw) + "x" + std::to_string(ph) + " pixels, more than the " +
                        std::to_string(max_pixels) + " allowed");
        // 16-bit RGBA with no compression at all is 8 bytes per pixel plus a filter byte per row; allow
        // metadata chunks up to 64 MiB beyond 16 bytes per pixel.
        const uintmax_t most = 16 * static_cast<uintmax_t>(pw) * static_cast<uintmax_t>(ph) + (uintmax_t{64} << 20);
        if (size > most)
            throw Error(path + ": " + std::to_string(size) + " bytes, more than a " + std::to_string(pw) + "x" +
                        std::to_string(ph) + " PNG can need (" + std::to_string(most) + "): not a plain image file");
    }
    if (size > bytes.size()) read(bytes, static_cast<size_t>(size - bytes.size()));
    return decode_image(bytes, path, max_pixels);
}

Image convert_channels(const Image& img, int64_t channels) {
    check_image(img, "convert_channels");
    if (img.channels == channels) return img;
    Image out;
    out.width = img.width;
    out.height = img.height;
    const size_t n = size_t(img.width) * size_t(img.height);
    const int C = img.channels;
    if (channels == 1 && (C == 3 || C == 4)) {
        out.channels = 1;
        out.pixels.resize(n);
        for (size_t i = 0; i < n; ++i) {
            const uint8_t* p = &img.pixels[i * size_t(C)];
            // PIL's rgb2l: L = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16 (0.299, 0.587, 0.114).
            out.pixels[i] = uint8_t((uint32_t(p[0]) * 19595u + uint32_t(p[1]) * 38470u + uint32_t(p[2]) * 7471u +
                                     0x8000u) >> 16);
        }
        return out;
    }
    if (channels == 1 && C == 2) {
        out.channels = 1;
        out.pixels.resize(n);
        for (size_t i = 0; i < n; ++i) out.pixels[i] = img.pixels[i * 2];
        return out;
    }
    if (channels == 3 && (C == 1 || C == 2 || C == 4)) {
        out.channels = 3;
        out.pixels.resize(n * 3);
        for (size_t i = 0; i < n; ++i)
            for (int c = 0; c < 3; ++c) out.pixels[i * 3 + size_t(c)] = img.pixels[i * size_t(C) + size_t(C >= 3 ? c : 0)];
        return out;
    }
    throw Error("cannot convert an image with " + std::to_string(C) + " channels to the model's " +
                std::to_string(channels) + " (supported: 1 <- gray/RGB/RGBA, 3 <- gray/RGB/RGBA)");
}

Image resize_bilinear(const Image& img, int out_width, int out_height) {
    check_image(img, "resize_bilinear");
    if (out_width <= 0 || out_height <= 0)
        throw Error("resize_bilinear: bad output size " + std::to_string(out_width) + "x" + std::to_string(out_height));
    Image cur = img;
    if (out_width != cur.width) cur = resample_pass(cur, out_width, true);
    if (out_height != cur.height) cur = resample_pass(cur, out_height, false);
    return cur;
}

std::pair<int, int> resized_size(int width, int height, int size) {
    if (width <= 0 || height <= 0 || size <= 0)
        throw Error("resized_size: bad sizes " + std::to_string(width) + "x" + std::to_string(height) + " -> " +
                    std::to_string(size));
    const int64_t shorter = std::min(width, height), longer = std::max(width, height);
    const int64_t new_long = int64_t(size) * longer / shorter;  // int(size * long / short), exact in integers
    if (new_long > (int64_t(1) << 24))
        throw Error("resized_size: resizing " + std::to_string(width) + "x" + std::to_string(height) +
                    " to shorter side " + std::to_string(size) + " gives a side of " + std::to_string(new_long));
    if (new_long * size > kImageDefaultMaxPixels)  // an extreme aspect ratio: a huge image from a small one
        throw Error("resizing " + std::to_string(width) + "x" + std::to_string(height) + " to shorter side " +
                    std::to_string(size) + " gives " + std::to_string(new_long * size) + " pixels, more than the " +
                    std::to_string(kImageDefaultMaxPixels) + " allowed");
    return width <= height ? std::pair<int, int>{size, int(new_long)} : std::pair<int, int>{int(new_long), size};
}

std::pair<int, int> center_crop_offsets(int width, int height, int crop) {
    if (crop <= 0) throw Error("center crop size must be positive, got " + std::to_string(crop));
    if (crop > width || crop > height)
        throw Error("center crop " + std::to_string(crop) + "x" + std::to_string(crop) + " is larger than the image (" +
                    std::to_string(width) + "x" + std::to_string(height) + ")");
    // Python's round((d) / 2.0) on a whole or half number: half to even.
    auto offset = [](int d) {
        const int q = d / 2;
        if (d % 2 == 0) return q;
        return q % 2 == 0 ? q : q + 1;
    };
    return {offset(width - crop), offset(height - crop)};
}

Image crop_image(const Image& img, int left, int top, int w, int h) {
    check_image(img, "crop_image");
    if (left < 0 || top < 0 || w <= 0 || h <= 0 || left + w > img.width || top + h > img.height)
        throw Error("crop_image: rectangle " + std::to_string(w) + "x" + std::to_string(h) + " at (" +
                    std::to_string(left) + ", " + std::to_string(top) + ") is outside the " +
                    std::to_string(img.width) + "x" + std::to_string(img.height) + " image");
    Image out;
    out.width = w;
    out.height = h;
    out.channels = img.channels;
    const size_t row = size_t(w) * size_t(img.channels);
    out.pixels.resize(row * size_t(h));
    for (int y = 0; y < h; ++y) {
        const auto* src = &img.pixels[(size_t(top + y) * size_t(img.width) + size_t(left)) * size_t(img.channels)];
        std::copy(src, src + row, &out.pixels[size_t(y) * row]);
    }
    return out;
}

namespace {

// The image channel that tensor channel c holds (Keras' caffe mode: B, G, R).
int64_t source_channel(const Preprocess& p, int64_t channels, int64_t c) {
    return p.enabled && p.bgr && channels == 3 ? 2 - c : c;
}

// [.., a, b, c] with its last three axes permuted by `perm` (of 0, 1, 2).
Tensor permute_last3(const Tensor& t, const std::array<int, 3>& perm, const char* what) {
    if (t.rank() != 3 && t.rank() != 4) throw Error(std::string(what) + " needs a rank-3 or rank-4 tensor, got " + shape_str(t.shape()));
    if (t.device() != Device::CPU) throw Error(std::string(what) + " needs a CPU tensor");
    const size_t lead = t.rank() - 3;
    const int64_t n = lead ? t.dim(0) : 1;
    const int64_t d[3] = {t.dim(lead), t.dim(lead + 1), t.dim(lead + 2)};
    Shape out = t.shape();
    for (int k = 0; k < 3; ++k) out[lead + k] = d[perm[k]];
    Tensor y(out);
    const int64_t per = d[0] * d[1] * d[2];
    int64_t stride[3] = {d[1] * d[2], d[2], 1};
    for (int64_t b = 0; b < n; ++b) {
        int64_t o = b * per;
        for (int64_t i = 0; i < d[perm[0]]; ++i)
            for (int64_t j = 0; j < d[perm[1]]; ++j)
                for (int64_t k = 0; k < d[perm[2]]; ++k)
                    y[o++] = t[b * per + i * stride[perm[0]] + j * stride[perm[1]] + k * stride[perm[2]]];
    }
    return y;
}

}  // namespace

Preprocess preprocess_preset(const std::string& name) {
    Preprocess p;
    if (name == "torch") return p;
    if (name == "keras-caffe") {
        p.bgr = true;
        p.mean = {103.939f, 116.779f, 123.68f};
        p.std = {1.0f};
        p.scale = 1.0f;
    } else if (name == "keras-tf") {
        p.mean = {0.5f};
        p.std = {0.5f};
    } else if (name == "none") {
        p.mean = {0.0f};
        p.std = {1.0f};
        p.scale = 1.0f;
    } else {
        throw Error("preprocessing '" + name + "' not found; known: torch, keras-caffe, keras-tf, none");
    }
    return p;
}

ImageLayout image_layout(const Shape& in) {
    const auto image_channels = [](int64_t c) { return c == 1 || c == 3; };
    return in.size() == 4 && image_channels(in[3]) && !image_channels(in[1]) ? ImageLayout::NHWC : ImageLayout::NCHW;
}

const char* layout_name(ImageLayout layout) { return layout == ImageLayout::NHWC ? "NHWC" : "NCHW"; }

int64_t image_channels(const Shape& in) {
    if (in.size() != 4) throw Error("an image model's input is [N, C, H, W] or [N, H, W, C], got " + shape_str(in));
    return image_layout(in) == ImageLayout::NHWC ? in[3] : in[1];
}

Tensor to_channels_last(const Tensor& t) { return permute_last3(t, {1, 2, 0}, "to_channels_last"); }
Tensor to_channels_first(const Tensor& t) { return permute_last3(t, {2, 0, 1}, "to_channels_first"); }

Tensor image_to_tensor(const Image& img, int64_t channels, const Preprocess& p) {
    if (channels < 1) throw Error("image_to_tensor: the model needs " + std::to_string(channels) + " channels");
    Image cur = convert_channels(img, channels);
    if (p.enabled) {
        check_mean_std(p, channels);
        if (p.resize < 0 || p.crop < 0)
            throw Error("preprocess: resize (" + std::to_string(p.resize) + ") and crop (" + std::to_string(p.crop) +
                        ") must not be negative");
        if (p.resize > 0) {
            const auto [w, h] = resized_size(cur.width, cur.height, p.resize);
            cur = resize_bilinear(cur, w, h);
        }
        if (p.crop > 0) {
            const auto [left, top] = center_crop_offsets(cur.width, cur.height, p.crop);
            cur = crop_image(cur, left, top, p.crop, p.crop);
        }
    } else if (!(p.scale > 0.0f) || !std::isfinite(p.scale)) {
        throw Error("preprocess: scale must be finite and positive");
    }
    const int64_t H = cur.height, W = cur.width;
    Tensor t({channels, H, W});
    for (int64_t c = 0; c < channels; ++c) {
        const float mean = p.enabled ? per_channel(p.mean, c) : 0.0f;
        const float sd = p.enabled ? per_channel(p.std, c) : 1.0f;
        const int64_t src = source_channel(p, channels, c);
        float* dst = t.data() + c * H * W;
        for (int64_t i = 0; i < H * W; ++i) {
            const float v = float(cur.pixels[size_t(i * channels + src)]) * p.scale;
            dst[i] = p.enabled ? (v - mean) / sd : v;
        }
    }
    return t;
}

std::vector<float> input_bounds_low(const Preprocess& p, int64_t channels) {
    if (channels < 1) throw Error("input_bounds_low: bad channel count " + std::to_string(channels));
    if (!p.enabled) return std::vector<float>(size_t(channels), 0.0f);
    check_mean_std(p, channels);
    std::vector<float> out(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) out[size_t(c)] = (0.0f * p.scale - per_channel(p.mean, c)) / per_channel(p.std, c);
    return out;
}

std::vector<float> input_bounds_high(const Preprocess& p, int64_t channels) {
    if (channels < 1) throw Error("input_bounds_high: bad channel count " + std::to_string(channels));
    if (!p.enabled) return std::vector<float>(size_t(channels), 255.0f * p.scale);
    check_mean_std(p, channels);
    std::vector<float> out(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c)
        out[size_t(c)] = (255.0f * p.scale - per_channel(p.mean, c)) / per_channel(p.std, c);
    return out;
}

Image tensor_to_image(const Tensor& t, const Preprocess& p) {
    if (!t.defined()) throw Error("tensor_to_image: the tensor is undefined");
    if (t.device() != Device::CPU) throw Error("tensor_to_image needs a CPU tensor, got one on " + device_name(t.device()));
    Shape s = t.shape();
    if (s.size() == 4 && s[0] == 1) s.erase(s.begin());
    if (s.size() != 3 || (s[0] != 1 && s[0] != 3) || s[1] <= 0 || s[2] <= 0)
        throw Error("tensor_to_image needs [C, H, W] or [1, C, H, W] with C = 1 or 3, got " + shape_str(t.shape()));
    const int64_t C = s[0], H = s[1], W = s[2];
    if (p.enabled) check_mean_std(p, C);
    else if (!(p.scale > 0.0f) || !std::isfinite(p.scale)) throw Error("preprocess: scale must be finite and positive");
    Image img;
    img.width = int(W);
    img.height = int(H);
    img.channels = int(C);
    img.pixels.resize(size_t(C * H * W));
    for (int64_t c = 0; c < C; ++c) {
        const float mean = p.enabled ? per_channel(p.mean, c) : 0.0f;
        const float sd = p.enabled ? per_channel(p.std, c) : 1.0f;
        for (int64_t i = 0; i < H * W; ++i) {
            const float x = t[c * H * W + i];
            float v = (x * sd + mean) / p.scale;
            if (std::isnan(v)) v = 0.0f;
            img.pixels[size_t(i * C + source_channel(p, C, c))] = uint8_t(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
        }
    }
    return img;
}

}  // namespace relprop
