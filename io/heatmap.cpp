#include "relprop/heatmap.hpp"

#include <stb_image_write.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>

#include "relprop/error.hpp"
#include "io/file_write.h"

namespace relprop {

namespace {

struct Node {
    int index;  // palette position 0..255
    uint8_t r, g, b;
};

struct ColormapDef {
    Colormap cmap;
    const char* name;
    std::vector<Node> nodes;  // ascending indices, first 0, last 255
};

// The one list of colormaps: zennit's CMAPS sources compiled to explicit nodes (unindexed colors are
// spaced evenly between their indexed neighbours with int() truncation, as zennit's ColorMap does).
const std::vector<ColormapDef>& colormap_table() {
    static const std::vector<ColormapDef> table = {
        // 'bwr': '00f,80:fff,f00'
        {Colormap::Bwr, "bwr", {{0, 0x00, 0x00, 0xff}, {128, 0xff, 0xff, 0xff}, {255, 0xff, 0x00, 0x00}}},
        // 'coldnhot': '0ff,00f,80:000,f00,ff0,fff'
        {Colormap::Coldnhot,
         "coldnhot",
         {{0, 0x00, 0xff, 0xff},
          {64, 0x00, 0x00, 0xff},
          {128, 0x00, 0x00, 0x00},
          {170, 0xff, 0x00, 0x00},
          {212, 0xff, 0xff, 0x00},
          {255, 0xff, 0xff, 0xff}}},
        // 'seismic': '0000d0,80:d0d0d0,d00000'
        {Colormap::Seismic, "seismic", {{0, 0x00, 0x00, 0xd0}, {128, 0xd0, 0xd0, 0xd0}, {255, 0xd0, 0x00, 0x00}}},
        // 'gray': '000,fff'
        {Colormap::Gray, "gray", {{0, 0x00, 0x00, 0x00}, {255, 0xff, 0xff, 0xff}}},
        // 'hot': '000,f00,ff0,fff'
        {Colormap::Hot,
         "hot",
         {{0, 0x00, 0x00, 0x00}, {85, 0xff, 0x00, 0x00}, {170, 0xff, 0xff, 0x00}, {255, 0xff, 0xff, 0xff}}},
    };
    return table;
}

const ColormapDef& colormap_def(Colormap cmap) {
    for (const auto& d : colormap_table())
        if (d.cmap == cmap) return d;
    throw Error("unknown colormap id " + std::to_string(int(cmap)));
}

std::string join_names() {
    std::string s;
    for (const auto& d : colormap_table()) s += (s.empty() ? "" : ", ") + std::string(d.name);
    return s;
}

// The palette index zennit's imgify gives a value already scaled to [0, 1] (uint8 truncation).
int palette_index(float u) {
    const float s = std::clamp(u * 255.0f, 0.0f, 255.0f);
    return int(s);
}

void check_rgb_image(const Image& img, const char* what) {
    if (img.width <= 0 || img.height <= 0 || img.channels < 1 || img.channels > 4 ||
        img.pixels.size() != size_t(img.width) * size_t(img.height) * size_t(img.channels))
        throw Error(std::string(what) + ": bad image " + std::to_string(img.width) + "x" +
                    std::to_string(img.height) + "x" + std::to_string(img.channels) + " with " +
                    std::to_string(img.pixels.size()) + " bytes");
}

// Color c of pixel i as RGB: gray (+alpha) replicated, alpha dropped.
uint8_t rgb_at(const Image& img, size_t i, int c) {
    const int C = img.channels;
    return img.pixels[i * size_t(C) + size_t(C >= 3 ? c : 0)];
}

}  // namespace

Colormap parse_colormap(const std::string& name) {
    for (const auto& d : colormap_table())
        if (name == d.name) return d.cmap;
    throw Error("unknown colormap '" + name + "'; known: " + join_names());
}

std::string colormap_name(Colormap cmap) { return colormap_def(cmap).name; }

std::vector<std::string> colormap_names() {
    std::vector<std::string> names;
    for (const auto& d : colormap_table()) names.emplace_back(d.name);
    return names;
}

std::array<double, 3> colormap_rgb(Colormap cmap, double x) {
    const auto& nodes = colormap_def(cmap).nodes;
    const double t = std::isnan(x) ? 0.0 : std::clamp(x * 255.0, 0.0, 255.0);
    // The segment [lo, hi) holding t; past the last node (t = 255) the color stays the last one
    // (zennit appends a node at 256 with the last color).
    size_t k = 0;
    while (k + 1 < nodes.size() && double(nodes[k + 1].index) <= t) ++k;
    const Node& lo = nodes[k];
    const Node& hi = k + 1 < nodes.size() ? nodes[k + 1] : nodes[k];
    const double hi_index = k + 1 < nodes.size() ? double(hi.index) : 256.0;
    const double a = (t - lo.index) / (hi_index - lo.index);
    auto mix = [&](uint8_t c0, uint8_t c1) { return (c0 * (1.0 - a) + c1 * a) / 255.0; };
    return {mix(lo.r, hi.r), mix(lo.g, hi.g), mix(lo.b, hi.b)};
}

std::vector<std::array<uint8_t, 3>> colormap_palette(Colormap cmap) {
    std::vector<std::array<uint8_t, 3>> pal(256);
    for (int i = 0; i < 256; ++i) {
        const auto rgb = colormap_rgb(cmap, i / 255.0);
        for (int c = 0; c < 3; ++c) {
            // zennit: (x * 255).round(12).clip(0, 255).astype(uint8)
            const double v = std::round(rgb[size_t(c)] * 255.0 * 1e12) / 1e12;
            pal[size_t(i)][size_t(c)] = uint8_t(std::clamp(v, 0.0, 255.0));
        }
    }
    return pal;
}

Image render_heatmap(const Tensor& r, const HeatmapOptions& o) {
    if (!r.defined()) throw Error("render_heatmap: the relevance tensor is undefined");
    if (r.device() != Device::CPU)
        throw Error("render_heatmap needs a CPU tensor, got one on " + device_name(r.device()));
    Shape s = r.shape();
    if (s.size() == 4 && s[0] == 1) s.erase(s.begin());
    if (s.size() == 2) s.insert(s.begin(), 1);
    if (s.size() != 3 || s[0] < 1 || s[1] < 1 || s[2] < 1)
        throw Error("render_heatmap needs relevance [H, W], [C, H, W] or [1, C, H, W], got " + shape_str(r.shape()));
    const int64_t C = s[0], H = s[1], W = s[2], HW = H * W;

    int64_t nan = 0, inf = 0;
    for (int64_t i = 0; i < r.numel(); ++i) {
        if (std::isnan(r[i])) ++nan;
        else if (std::isinf(r[i])) ++inf;
    }
    if (nan || inf)
        throw Error("render_heatmap: the relevance has " + std::to_string(nan) + " NaN and " + std::to_string(inf) +
                    " infinite values (of " + std::to_string(r.numel()) + ")");

    std::vector<float> map(size_t(HW), 0.0f);
    for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < HW; ++i) map[size_t(i)] += r[c * HW + i];

    float vmin, vmax;
    if (o.symmetric) {
        float m = 0.0f;
        for (float v : map) m = std::max(m, std::fabs(v));
        vmin = -m;
        vmax = m;
    } else {
        vmin = *std::min_element(map.begin(), map.end());
        vmax = *std::max_element(map.begin(), map.end());
    }
    // A sum of finite values can still overflow to inf; treat like a non-finite relevance.
    if (!std::isfinite(vmin) || !std::isfinite(vmax) || !std::isfinite(vmax - vmin))
        throw Error("render_heatmap: the summed relevance overflows float32 (range [" + std::to_string(vmin) + ", " +
                    std::to_string(vmax) + "])");
    const auto pal = colormap_palette(o.cmap);
    const float range = vmax - vmin;

    Image img;
    img.width = int(W);
    img.height = int(H);
    img.channels = 3;
    img.pixels.resize(size_t(HW) * 3);
    for (int64_t i = 0; i < HW; ++i) {
        const float u = range > 0.0f ? (map[size_t(i)] - vmin) / range : 0.5f;
        const auto& col = pal[size_t(palette_index(u))];
        for (int c = 0; c < 3; ++c) img.pixels[size_t(i) * 3 + size_t(c)] = col[size_t(c)];
    }
    return img;
}

Image overlay(const Image& heatmap, const Image& base, float alpha) {
    check_rgb_image(heatmap, "overlay (heatmap)");
    check_rgb_image(base, "overlay (base)");
    if (heatmap.width != base.width || heatmap.height != base.height)
        throw Error("overlay: the heatmap is " + std::to_string(heatmap.width) + "x" + std::to_string(heatmap.height) +
                    " but the base image is " + std::to_string(base.width) + "x" + std::to_string(base.height));
    if (!(alpha >= 0.0f && alpha <= 1.0f)) throw Error("overlay: alpha must be in [0, 1], got " + std::to_string(alpha));
    Image out;
    out.width = base.width;
    out.height = base.height;
    out.channels = 3;
    const size_t n = size_t(base.width) * size_t(base.height);
    out.pixels.resize(n * 3);
    for (size_t i = 0; i < n; ++i)
        for (int c = 0; c < 3; ++c) {
            const float v = alpha * rgb_at(heatmap, i, c) + (1.0f - alpha) * rgb_at(base, i, c);
            out.pixels[i * 3 + size_t(c)] = uint8_t(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
        }
    return out;
}

Image upscale_nearest(const Image& img, int factor) {
    check_rgb_image(img, "upscale_nearest");
    if (factor < 1) throw Error("upscale_nearest: factor must be at least 1, got " + std::to_string(factor));
    const int64_t W = int64_t(img.width) * factor, H = int64_t(img.height) * factor;
    if (W > (int64_t(1) << 24) || H > (int64_t(1) << 24) || W * H > (int64_t(1) << 30))
        throw Error("upscale_nearest: " + std::to_string(img.width) + "x" + std::to_string(img.height) + " times " +
                    std::to_string(factor) + " is too large");
    Image out;
    out.width = int(W);
    out.height = int(H);
    out.channels = img.channels;
    const size_t C = size_t(img.channels);
    out.pixels.resize(size_t(W * H) * C);
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            const size_t src = (size_t(y / factor) * size_t(img.width) + size_t(x / factor)) * C;
            std::copy(&img.pixels[src], &img.pixels[src] + C, &out.pixels[(size_t(y) * size_t(W) + size_t(x)) * C]);
        }
    return out;
}

std::string encode_png(const Image& img) {
    check_rgb_image(img, "encode_png");
    std::string bytes;
    const auto append = [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
    };
    if (!stbi_write_png_to_func(append, &bytes, img.width, img.height, img.channels, img.pixels.data(),
                                img.width * img.channels))
        throw Error("encode_png: stb_image_write failed (out of memory?)");
    return bytes;
}

void write_png(const std::string& path, const Image& img) {
    check_rgb_image(img, ("write_png " + path).c_str());
    write_file_atomic(path, encode_png(img), "the PNG");
}

}  // namespace relprop
