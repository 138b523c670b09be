// Heatmaps: zennit's colormaps (values computed by hand from zennit's node definitions), imgify-style
// scaling, overlays, nearest upscaling and PNG output errors.
#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <unistd.h>

#include "relprop/error.hpp"
#include "relprop/heatmap.hpp"
#include "relprop/image.hpp"
#include "tests/fixtures.h"

using namespace relprop;
using relprop::test::error_of;
namespace fs = std::filesystem;

namespace {

using Rgb = std::array<uint8_t, 3>;

Rgb pixel(const Image& img, int x, int y) {
    const uint8_t* p = &img.pixels[(size_t(y) * size_t(img.width) + size_t(x)) * size_t(img.channels)];
    return {p[0], p[1], p[2]};
}

// colormap_rgb scaled to 0..255 (no rounding) compared with the hand values.
void check_color(Colormap cmap, double x, double r, double g, double b) {
    const auto c = colormap_rgb(cmap, x);
    INFO(colormap_name(cmap), " at ", x);
    CHECK(c[0] * 255.0 == doctest::Approx(r).epsilon(1e-12));
    CHECK(c[1] * 255.0 == doctest::Approx(g).epsilon(1e-12));
    CHECK(c[2] * 255.0 == doctest::Approx(b).epsilon(1e-12));
}

}  // namespace

TEST_CASE("heatmap: colormap names") {
    CHECK(colormap_names() == std::vector<std::string>{"bwr", "coldnhot", "seismic", "gray", "hot"});
    for (const auto& n : colormap_names()) CHECK(colormap_name(parse_colormap(n)) == n);
    CHECK(error_of([] { parse_colormap("jet"); }) == "unknown colormap 'jet'; known: bwr, coldnhot, seismic, gray, hot");
}

// zennit's sources (src/zennit/image.py CMAPS) and the nodes its ColorMap compiles them to (colors
// without an index are spread evenly between indexed neighbours, int() truncated):
//   bwr      '00f,80:fff,f00'               -> 0:0000ff 128:ffffff 255:ff0000
//   coldnhot '0ff,00f,80:000,f00,ff0,fff'   -> 0:00ffff 64:0000ff 128:000000 170:ff0000 212:ffff00 255:ffffff
//            (64 = int(128 / 2); 170 = int(128 * 2/3 + 255 / 3); 212 = int(128 / 3 + 255 * 2/3))
//   seismic  '0000d0,80:d0d0d0,d00000'      -> 0:0000d0 128:d0d0d0 255:d00000
//   gray     '000,fff'                      -> 0:000000 255:ffffff
//   hot      '000,f00,ff0,fff'              -> 0:000000 85:ff0000 170:ffff00 255:ffffff
// ColorMap(x) interpolates linearly at t = 255 x between the nodes around t. The positions
// 0, .25, .5, .75, 1 are t = 0, 63.75, 127.5, 191.25, 255.
TEST_CASE("heatmap: colormaps at 0, 0.25, 0.5, 0.75, 1 match zennit's definitions") {
    // bwr: [0,128) blue -> white, a = t / 128; [128, 255] white -> red, a = (t - 128) / 127.
    check_color(Colormap::Bwr, 0.0, 0, 0, 255);
    check_color(Colormap::Bwr, 0.25, 255 * 63.75 / 128, 255 * 63.75 / 128, 255);
    check_color(Colormap::Bwr, 0.5, 255 * 127.5 / 128, 255 * 127.5 / 128, 255);
    check_color(Colormap::Bwr, 0.75, 255, 255 * (1 - 63.25 / 127), 255 * (1 - 63.25 / 127));
    check_color(Colormap::Bwr, 1.0, 255, 0, 0);
    // coldnhot: cyan -> blue on [0, 64), blue -> black on [64, 128), black -> red [128, 170),
    // red -> yellow [170, 212), yellow -> white [212, 255].
    check_color(Colormap::Coldnhot, 0.0, 0, 255, 255);
    check_color(Colormap::Coldnhot, 0.25, 0, 255 * (1 - 63.75 / 64), 255);
    check_color(Colormap::Coldnhot, 0.5, 0, 0, 255 * (1 - 63.5 / 64));
    check_color(Colormap::Coldnhot, 0.75, 255, 255 * 21.25 / 42, 0);
    check_color(Colormap::Coldnhot, 1.0, 255, 255, 255);
    // seismic: like bwr with brightness 0xd0 = 208.
    check_color(Colormap::Seismic, 0.0, 0, 0, 208);
    check_color(Colormap::Seismic, 0.25, 208 * 63.75 / 128, 208 * 63.75 / 128, 208);
    check_color(Colormap::Seismic, 0.5, 208 * 127.5 / 128, 208 * 127.5 / 128, 208);
    check_color(Colormap::Seismic, 0.75, 208, 208 * (1 - 63.25 / 127), 208 * (1 - 63.25 / 127));
    check_color(Colormap::Seismic, 1.0, 208, 0, 0);
    // gray: x itself.
    for (double x : {0.0, 0.25, 0.5, 0.75, 1.0}) check_color(Colormap::Gray, x, 255 * x, 255 * x, 255 * x);
    // hot: black -> red [0, 85), red -> yellow [85, 170), yellow -> white [170, 255].
    check_color(Colormap::Hot, 0.0, 0, 0, 0);
    check_color(Colormap::Hot, 0.25, 255 * 63.75 / 85, 0, 0);
    check_color(Colormap::Hot, 0.5, 255, 255 * 42.5 / 85, 0);
    check_color(Colormap::Hot, 0.75, 255, 255, 255 * 21.25 / 85);
    check_color(Colormap::Hot, 1.0, 255, 255, 255);
    // Outside [0, 1] the value is clipped.
    check_color(Colormap::Bwr, -3.0, 0, 0, 255);
    check_color(Colormap::Bwr, 7.0, 255, 0, 0);
}

TEST_CASE("heatmap: 8-bit palettes as zennit's palette() truncates them") {
    const auto bwr = colormap_palette(Colormap::Bwr);
    REQUIRE(bwr.size() == 256);
    CHECK(bwr[0] == Rgb{0, 0, 255});
    CHECK(bwr[127] == Rgb{253, 253, 255});  // 255 * 127 / 128 = 253.0 (truncated)
    CHECK(bwr[128] == Rgb{255, 255, 255});
    CHECK(bwr[191] == Rgb{255, 128, 128});  // 255 * 64 / 127 = 128.5
    CHECK(bwr[255] == Rgb{255, 0, 0});
    const auto gray = colormap_palette(Colormap::Gray);
    for (int i = 0; i < 256; ++i) CHECK(gray[size_t(i)] == Rgb{uint8_t(i), uint8_t(i), uint8_t(i)});
    const auto hot = colormap_palette(Colormap::Hot);
    CHECK(hot[85] == Rgb{255, 0, 0});
    CHECK(hot[170] == Rgb{255, 255, 0});
    CHECK(hot[42] == Rgb{126, 0, 0});  // 255 * 42 / 85 = 126.0
    const auto cnh = colormap_palette(Colormap::Coldnhot);
    CHECK(cnh[64] == Rgb{0, 0, 255});
    CHECK(cnh[128] == Rgb{0, 0, 0});
    CHECK(cnh[212] == Rgb{255, 255, 0});
    const auto sei = colormap_palette(Colormap::Seismic);
    CHECK(sei[128] == Rgb{208, 208, 208});
    CHECK(sei[0] == Rgb{0, 0, 208});
}

TEST_CASE("heatmap: symmetric scaling puts 0 at the middle and max|r| at the top color") {
    // Channels are summed first: the 1 x 4 map is {-2, 0, 1, 2}.
    Tensor r({2, 1, 4}, {-1, 0.5f, 0.25f, 3, -1, -0.5f, 0.75f, -1});
    Image img = render_heatmap(r, {});
    REQUIRE(img.width == 4);
    REQUIRE(img.height == 1);
    REQUIRE(img.channels == 3);
    CHECK(pixel(img, 0, 0) == Rgb{0, 0, 255});      // -2 -> u = 0 -> blue
    CHECK(pixel(img, 1, 0) == Rgb{253, 253, 255});  // 0 -> u = .5 -> index 127, zennit's near-white
    CHECK(pixel(img, 2, 0) == Rgb{255, 128, 128});  // 1 -> u = .75 -> index 191
    CHECK(pixel(img, 3, 0) == Rgb{255, 0, 0});      // 2 -> u = 1 -> red
    // Batch dimension of 1 and a plain [H, W] map give the same picture.
    CHECK(render_heatmap(r.reshaped({1, 2, 1, 4})).pixels == img.pixels);
    CHECK(render_heatmap(Tensor({1, 4}, {-2, 0, 1, 2})).pixels == img.pixels);
    // Only positive relevance: the max is red, 0 is the middle, nothing goes blue.
    Image pos = render_heatmap(Tensor({1, 2}, {0, 5}));
    CHECK(pixel(pos, 0, 0) == Rgb{253, 253, 255});
    CHECK(pixel(pos, 1, 0) == Rgb{255, 0, 0});
}

TEST_CASE("heatmap: unaligned scaling and gray endpoints") {
    HeatmapOptions o;
    o.cmap = Colormap::Gray;
    o.symmetric = false;
    Image img = render_heatmap(Tensor({1, 3}, {1, 3, 5}), o);
    CHECK(pixel(img, 0, 0) == Rgb{0, 0, 0});
    CHECK(pixel(img, 1, 0) == Rgb{127, 127, 127});
    CHECK(pixel(img, 2, 0) == Rgb{255, 255, 255});
    // Symmetric gray: -5 black, 5 white.
    o.symmetric = true;
    Image s = render_heatmap(Tensor({1, 2}, {-5, 5}), o);
    CHECK(pixel(s, 0, 0) == Rgb{0, 0, 0});
    CHECK(pixel(s, 1, 0) == Rgb{255, 255, 255});
}

TEST_CASE("heatmap: constant maps give the middle color; NaN and inf are counted errors") {
    for (bool sym : {true, false}) {
        HeatmapOptions o;
        o.symmetric = sym;
        Image zero = render_heatmap(Tensor({3, 2, 2}), o);
        for (int y = 0; y < 2; ++y)
            for (int x = 0; x < 2; ++x) CHECK(pixel(zero, x, y) == Rgb{253, 253, 255});
        if (!sym) {
            Image c = render_heatmap(Tensor({2, 2}, {4, 4, 4, 4}), o);
            CHECK(pixel(c, 1, 1) == Rgb{253, 253, 255});
        }
    }
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    CHECK(error_of([&] { render_heatmap(Tensor({1, 4}, {nan, 1, nan, -inf})); }) ==
          "render_heatmap: the relevance has 2 NaN and 1 infinite values (of 4)");
    CHECK(error_of([] { render_heatmap(Tensor({2, 2, 2, 2})); }).find("[2, 2, 2, 2]") != std::string::npos);
}

TEST_CASE("heatmap: overlay and nearest upscaling") {
    Image heat = render_heatmap(Tensor({1, 2}, {-1, 1}));
    Image base;
    base.width = 2;
    base.height = 1;
    base.channels = 1;
    base.pixels = {100, 200};
    Image o = overlay(heat, base, 0.5f);
    CHECK(o.channels == 3);
    CHECK(pixel(o, 0, 0) == Rgb{50, 50, 178});    // (0 + 100) / 2, (255 + 100) / 2 = 177.5 -> 178
    CHECK(pixel(o, 1, 0) == Rgb{228, 100, 100});  // (255 + 200) / 2 = 227.5 -> 228
    CHECK(overlay(heat, base, 1.0f).pixels == heat.pixels);
    Image wrong = base;
    wrong.width = 1;
    wrong.height = 2;
    CHECK(error_of([&] { overlay(heat, wrong); }) == "overlay: the heatmap is 2x1 but the base image is 1x2");
    CHECK_THROWS_AS(overlay(heat, base, 1.5f), Error);

    Image up = upscale_nearest(heat, 3);
    CHECK(up.width == 6);
    CHECK(up.height == 3);
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 6; ++x) CHECK(pixel(up, x, y) == pixel(heat, x / 3, 0));
    CHECK(upscale_nearest(heat, 1).pixels == heat.pixels);
    CHECK_THROWS_AS(upscale_nearest(heat, 0), Error);
}

TEST_CASE("heatmap: write_png errors name the path") {
    const fs::path dir = fs::temp_directory_path() / ("relprop-test-heatmap-" + std::to_string(::getpid()));
    const std::string path = (dir / "no" / "such" / "dir" / "h.png").string();
    const std::string e = error_of([&] { write_png(path, render_heatmap(Tensor({2, 2}))); });
    CHECK(e.rfind(path + ": cannot write the PNG: No such file or directory", 0) == 0);
    CHECK(error_of([] { write_png("x.png", Image{}); }).find("write_png x.png: bad image") != std::string::npos);
}
