/// @file
/// Line plots as PNG images, drawn by our own small rasterizer (no plotting library): axes with
/// "nice" ticks (1, 2, 5 × 10^k) and light grid lines, solid or dashed polylines 2 px wide, axis
/// labels (the y label turned 90°), a title and a legend to the right of the axes. Text is
/// stb_easy_font's vector font (from Debian's libstb-dev) filled in at `text_scale`; only printable
/// ASCII is drawn (anything else shows as '?'). The image is written with write_png (stb_image_write).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "relprop/image.hpp"

namespace relprop {

using Rgb = std::array<uint8_t, 3>;

struct PlotSeries {
    std::vector<double> x, y;  ///< the same length; non-finite points are skipped
    Rgb color{0, 0, 0};
    bool dashed = false;
};

struct LegendEntry {
    std::string label;
    Rgb color{0, 0, 0};
    bool dashed = false;
};

struct PlotOptions {
    int width = 900, height = 540;
    int text_scale = 2;
    std::string title, x_label, y_label;
    std::vector<LegendEntry> legend;
};

/// Where the axes box lies (pixels) and the data range it shows.
struct PlotFrame {
    int left = 0, top = 0, right = 0, bottom = 0;  ///< the axes box, inclusive pixel bounds
    double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
    /// The pixel column / row of a data point (rounded).
    int column(double x) const;
    int row(double y) const;
};

struct Plot {
    Image image;  ///< RGB
    PlotFrame frame;
};

/// Draws the series (x range: the data's; y range: the data's with 5 % margins). Throws relprop::Error
/// for a size below 200×150, series whose x and y differ in length, or no finite point at all.
Plot plot_lines(const std::vector<PlotSeries>& series, const PlotOptions& options);

/// A palette of distinguishable colors (matplotlib's tab10), cycled.
Rgb plot_color(size_t index);

/// Text width in pixels at scale 1 (stb_easy_font's metrics).
int plot_text_width(const std::string& text);

}  // namespace relprop
