/// @file
/// Relevance heatmaps: zennit's colormaps and imgify, overlays on the input image, PNG output.
///
/// The colormaps are zennit's (src/zennit/image.py CMAPS, src/zennit/cmap.py ColorMap), defined by
/// nodes (palette index 0..255, color) with linear interpolation in between:
///   gray      0:000000  255:ffffff
///   hot       0:000000  85:ff0000  170:ffff00  255:ffffff
///   coldnhot  0:00ffff  64:0000ff  128:000000  170:ff0000  212:ffff00  255:ffffff
///   bwr       0:0000ff  128:ffffff 255:ff0000
///   seismic   0:0000d0  128:d0d0d0 255:d00000
/// render_heatmap follows zennit's imgify(relevance.sum(channels), cmap, symmetric): scale to [0, 1],
/// index = uint8(clip(u * 255, 0, 255)) (truncation), color = the 256-entry palette at that index.
/// With symmetric scaling 0 maps to u = 0.5, index 127 (the white node of bwr sits at 128, so zennit's
/// "white" for a zero relevance is (253, 253, 255); this matches zennit pixel for pixel).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor.hpp"
#include "image.hpp"

namespace relprop {

enum class Colormap { Bwr, Coldnhot, Seismic, Gray, Hot };

/// "bwr", "coldnhot", "seismic", "gray", "hot"; anything else is an Error listing them.
Colormap parse_colormap(const std::string& name);
std::string colormap_name(Colormap cmap);
std::vector<std::string> colormap_names();

/// zennit's ColorMap.__call__: x clipped to [0, 1] -> RGB in [0, 1] (linear between the nodes).
std::array<double, 3> colormap_rgb(Colormap cmap, double x);
/// zennit's palette(cmap, level=1.0): entry i is colormap_rgb(i / 255) in 8 bits (truncated).
std::vector<std::array<uint8_t, 3>> colormap_palette(Colormap cmap);

struct HeatmapOptions {
    Colormap cmap = Colormap::Bwr;
    bool symmetric = true;  ///< [-max|r|, max|r|] -> [0, 1]; false: [min, max] -> [0, 1]
};

/// Relevance [H, W], [C, H, W] or [1, C, H, W] (CPU): summed over channels, scaled, colored -> RGB.
/// A constant (e.g. all-zero) map gives the middle color (index 127) everywhere. NaN or infinite
/// values are an Error that counts them.
Image render_heatmap(const Tensor& relevance_chw, const HeatmapOptions& o = {});

/// alpha * heatmap + (1 - alpha) * base, rounded. Same width and height required; base gray, gray +
/// alpha, RGB or RGBA (alpha ignored); heatmap RGB (or gray). alpha in [0, 1]. Output RGB.
Image overlay(const Image& heatmap, const Image& base, float alpha = 0.5f);

/// Each pixel becomes a factor x factor block (factor >= 1).
Image upscale_nearest(const Image& img, int factor);

/// The PNG file's bytes (stb_image_write's encoder); an Error if it fails.
std::string encode_png(const Image& img);

/// Encodes a PNG with stb_image_write and writes it all or nothing (io/file_write.h); an Error names
/// the path and the system's reason (e.g. a missing directory, a full disk) and leaves no file there.
void write_png(const std::string& path, const Image& img);

}  // namespace relprop
