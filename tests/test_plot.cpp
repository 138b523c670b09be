// io/plot: the PNG is decoded again and its pixels checked: a solid line is unbroken, a dashed one
// has gaps, the background is white, the legend shows each color, and the axis labels are drawn.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "relprop/error.hpp"
#include "relprop/heatmap.hpp"
#include "relprop/image.hpp"
#include "io/plot.h"
#include "tests/cli_run.h"
#include "tests/fixtures.h"

using namespace relprop;
using relprop::test::error_of;

namespace {

Rgb pixel(const Image& img, int x, int y) {
    const uint8_t* p = &img.pixels[(static_cast<size_t>(y) * img.width + x) * img.channels];
    return {p[0], p[1], p[2]};
}

// Pixels of color c in the rectangle [x0, x1] × [y0, y1].
int count(const Image& img, int x0, int y0, int x1, int y1, const Rgb& c) {
    int n = 0;
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) n += pixel(img, x, y) == c;
    return n;
}

bool dark(const Rgb& c) { return c[0] < 80 && c[1] < 80 && c[2] < 80; }

int count_dark(const Image& img, int x0, int y0, int x1, int y1) {
    int n = 0;
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) n += dark(pixel(img, x, y));
    return n;
}

}  // namespace

TEST_CASE("plot: solid and dashed lines, legend and axis labels, through a PNG file") {
    const Rgb red{214, 39, 40}, blue{31, 119, 180};
    PlotSeries solid{{0, 0.5, 1}, {1, 1, 1}, red, false};
    PlotSeries dashed{{0, 1}, {0, 0}, blue, true};
    PlotOptions o;
    o.x_label = "fraction of pixels perturbed";
    o.y_label = "target logit";
    o.legend = {{"solid one", red, false}, {"dashed one", blue, true}};
    const Plot p = plot_lines({solid, dashed}, o);
    const std::string path = (relprop::test::temp_dir() / "plot.png").string();
    write_png(path, p.image);
    const Image img = load_image(path);
    REQUIRE(img.width == 900);
    REQUIRE(img.height == 540);
    const PlotFrame& f = p.frame;
    CHECK(f.x_min == 0.0);
    CHECK(f.x_max == 1.0);
    CHECK(f.y_min == doctest::Approx(-0.05));
    CHECK(f.y_max == doctest::Approx(1.05));

    // The solid line: red at every column of the box's inside; the dashed one: blue on about 10 of 16 px.
    const int y1 = f.row(1.0), y0 = f.row(0.0);
    int red_cols = 0, blue_cols = 0, cols = 0;
    for (int x = f.left + 3; x <= f.right - 3; ++x, ++cols) {
        red_cols += pixel(img, x, y1) == red || pixel(img, x, y1 + 1) == red;
        blue_cols += pixel(img, x, y0) == blue || pixel(img, x, y0 + 1) == blue;
    }
    CHECK(red_cols == cols);
    CHECK(blue_cols > cols * 5 / 10);
    CHECK(blue_cols < cols * 8 / 10);
    // Between the lines (y = 0.3 is no tick: the grid is at multiples of 0.2), the inside is white but
    // for the four vertical grid lines at x = 0.2, 0.4, 0.6, 0.8.
    const int mid = f.row(0.3);
    CHECK(count(img, f.left + 2, mid, f.right - 2, mid, {255, 255, 255}) == f.right - f.left - 3 - 4);
    CHECK(count(img, f.left + 2, mid, f.right - 2, mid, {225, 225, 225}) == 4);
    // The axes box is black.
    CHECK(count(img, f.left, f.top, f.left, f.bottom, {0, 0, 0}) == f.bottom - f.top + 1);
    // The legend, right of the box: both colors, and its text.
    CHECK(count(img, f.right + 1, 0, img.width - 1, img.height - 1, red) > 20);
    CHECK(count(img, f.right + 1, 0, img.width - 1, img.height - 1, blue) > 20);
    CHECK(count_dark(img, f.right + 50, f.top, img.width - 1, f.top + 60) > 50);
    // The x label below the tick labels, the y label in the left margin (turned: taller than wide).
    const int x_label_dark = count_dark(img, f.left, f.bottom + 35, f.right, img.height - 1);
    CHECK(x_label_dark > 200);
    int y_top = img.height, y_bottom = -1, x_left = img.width, x_right = -1;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < 10 + 12 * o.text_scale; ++x)  // left of the tick labels
            if (dark(pixel(img, x, y))) {
                y_top = std::min(y_top, y);
                y_bottom = std::max(y_bottom, y);
                x_left = std::min(x_left, x);
                x_right = std::max(x_right, x);
            }
    REQUIRE(y_bottom > 0);
    CHECK(y_bottom - y_top > 3 * (x_right - x_left));
    // Its height is the label's width (within the last glyph's spacing).
    CHECK(std::abs((y_bottom - y_top + 1) - plot_text_width("target logit") * o.text_scale) <= 2 * o.text_scale);
}

TEST_CASE("plot: errors") {
    CHECK(error_of([] { plot_lines({}, {}); }) == "plot: no finite point to draw");
    CHECK(error_of([] { plot_lines({{{0, 1}, {1}, {0, 0, 0}, false}}, {}); }) == "plot: a series has 2 x and 1 y values");
    PlotOptions small;
    small.width = 100;
    CHECK(error_of([&] { plot_lines({{{0, 1}, {1, 2}, {0, 0, 0}, false}}, small); }).find("outside") != std::string::npos);
}
