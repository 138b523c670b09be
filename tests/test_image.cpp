// Image loading (stb_image), channel conversion, PIL-compatible resize, torchvision center crop and
// normalization, input bounds, and hostile files (missing, directory, text, truncated, huge header).
#include <doctest/doctest.h>

#include <stb_image_write.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
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

// A fresh directory under the system temp dir, removed at the end of the test.
struct TempDir {
    fs::path path;
    TempDir() {
        static int counter = 0;
        path = fs::temp_directory_path() /
               ("relprop-test-image-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

Image make_image(int w, int h, int c, uint8_t fill = 0) {
    Image img;
    img.width = w;
    img.height = h;
    img.channels = c;
    img.pixels.assign(size_t(w) * size_t(h) * size_t(c), fill);
    return img;
}

// PNG chunk CRC (ISO 3309 / ITU-T V.42 CRC-32 over type and data).
uint32_t crc32(const std::string& bytes) {
    uint32_t c = 0xffffffffu;
    for (unsigned char b : bytes) {
        c ^= b;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

std::string be32(uint32_t v) {
    return std::string{char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

std::string chunk(const std::string& type, const std::string& data) {
    return be32(uint32_t(data.size())) + type + data + be32(crc32(type + data));
}

// A PNG signature + IHDR (8-bit gray) + IEND, with correct CRCs and no image data at all.
std::string png_header_only(uint32_t w, uint32_t h) {
    std::string ihdr = be32(w) + be32(h) + std::string{char(8), char(0), char(0), char(0), char(0)};
    return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IEND", "");
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size()));
}

}  // namespace

TEST_CASE("image: a PNG written with write_png loads back with equal pixels") {
    TempDir dir;
    for (int c : {1, 2, 3, 4}) {
        Image img = make_image(7, 5, c);
        for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * 37 + 11) % 256);
        const std::string path = dir.file("rt" + std::to_string(c) + ".png");
        write_png(path, img);
        Image back = load_image(path);
        CHECK(back.width == 7);
        CHECK(back.height == 5);
        CHECK(back.channels == c);
        CHECK(back.pixels == img.pixels);
    }
}

TEST_CASE("image: a JPEG made with stbi_write_jpg loads with its size and approximately its colors") {
    TempDir dir;
    Image img = make_image(32, 16, 3);
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 32; ++x) {
            uint8_t* p = &img.pixels[(size_t(y) * 32 + size_t(x)) * 3];
            p[0] = 200;
            p[1] = uint8_t(x * 8);  // a smooth horizontal ramp 0..248
            p[2] = 50;
        }
    const std::string path = dir.file("ramp.jpg");
    REQUIRE(stbi_write_jpg(path.c_str(), 32, 16, 3, img.pixels.data(), 95) != 0);
    Image back = load_image(path);
    CHECK(back.width == 32);
    CHECK(back.height == 16);
    CHECK(back.channels == 3);
    int worst = 0;
    for (size_t i = 0; i < img.pixels.size(); ++i)
        worst = std::max(worst, std::abs(int(back.pixels[i]) - int(img.pixels[i])));
    CHECK(worst <= 12);  // quality 95 with chroma subsampling: a few levels, more at the ramp's ends
}

TEST_CASE("image: bad files are refused with errors naming them") {
    TempDir dir;
    const std::string missing = dir.file("missing.png");
    CHECK(error_of([&] { load_image(missing); }) == missing + ": no such file");
    CHECK(error_of([&] { load_image(dir.path.string()); }).find("is a directory") != std::string::npos);

    const std::string text = dir.file("text.png");
    write_bytes(text, "this is not an image\n");
    std::string e = error_of([&] { load_image(text); });
    CHECK(e == text + ": not a readable image (not a PNG, JPEG or BMP file; relprop reads only these)");

    // A real PNG cut in the middle of its image data: the header reads, the IDAT chunk runs past the end
    // (refused before stb sees it, io/image_guard.h).
    Image img = make_image(64, 64, 3);
    std::mt19937 rng(1);
    for (auto& p : img.pixels) p = uint8_t(rng());
    const std::string full = dir.file("full.png");
    write_png(full, img);
    std::ifstream in(full, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string cut = dir.file("cut.png");
    write_bytes(cut, bytes.substr(0, bytes.size() / 2));
    e = error_of([&] { load_image(cut); });
    CHECK(e.rfind(cut + ": not a readable image (corrupt or cut short PNG: chunk 'IDAT' at byte ", 0) == 0);
    CHECK(e.find(" bytes of data, only ") != std::string::npos);

    // A hand-made header claiming 100000 x 100000 pixels (correct CRCs, no data). stb_image's own
    // header scan already refuses it (its limit is 2^30 bytes per image), so stbi_info fails and
    // nothing is decoded; stbi_info's reason is then the last format it tried ("unknown image type"),
    // so load_image reads the IHDR itself to name the size.
    const std::string huge = dir.file("huge.png");
    write_bytes(huge, png_header_only(100000, 100000));
    CHECK(error_of([&] { load_image(huge); }) ==
          huge + ": image is 100000x100000 pixels, more than the 67108864 allowed");

    // 10000 x 10000 gray passes stb's header check (10^8 bytes) but is over our 2^26-pixel default:
    // refused by load_image's own check after stbi_info, before stbi_load.
    const std::string big = dir.file("big.png");
    write_bytes(big, png_header_only(10000, 10000));
    CHECK(error_of([&] { load_image(big); }) ==
          big + ": image is 10000x10000 pixels, more than the 67108864 allowed");

    // The limit is a parameter: a real 64x64 image with a 1000-pixel limit.
    CHECK(error_of([&] { load_image(full, 1000); }).find("64x64 pixels, more than the 1000 allowed") !=
          std::string::npos);
    CHECK(load_image(full, 4096).width == 64);
}

TEST_CASE("image: channel conversion (PIL 'L' luminance, gray replicated, alpha dropped)") {
    Image rgb = make_image(4, 1, 3);
    const uint8_t px[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 200, 90}};
    for (int i = 0; i < 4; ++i)
        for (int c = 0; c < 3; ++c) rgb.pixels[size_t(i * 3 + c)] = px[i][c];
    Image gray = convert_channels(rgb, 1);
    REQUIRE(gray.channels == 1);
    // 0.299 * 255 = 76.2 -> 76; 0.587 * 255 = 149.7 -> 150; 0.114 * 255 = 29.1 -> 29;
    // 0.299 * 10 + 0.587 * 200 + 0.114 * 90 = 2.99 + 117.4 + 10.26 = 130.65 -> 131.
    CHECK(gray.pixels == std::vector<uint8_t>{76, 150, 29, 131});

    Image rgba = make_image(1, 1, 4);
    rgba.pixels = {10, 200, 90, 7};
    CHECK(convert_channels(rgba, 1).pixels == std::vector<uint8_t>{131});
    CHECK(convert_channels(rgba, 3).pixels == std::vector<uint8_t>{10, 200, 90});

    Image g = make_image(2, 1, 1);
    g.pixels = {3, 250};
    CHECK(convert_channels(g, 3).pixels == std::vector<uint8_t>{3, 3, 3, 250, 250, 250});
    Image ga = make_image(1, 1, 2);
    ga.pixels = {77, 0};
    CHECK(convert_channels(ga, 1).pixels == std::vector<uint8_t>{77});
    CHECK(convert_channels(ga, 3).pixels == std::vector<uint8_t>{77, 77, 77});

    // Same count: unchanged. Other combos: clear errors.
    CHECK(convert_channels(rgba, 4).pixels == rgba.pixels);
    CHECK(error_of([&] { convert_channels(rgb, 2); }) ==
          "cannot convert an image with 3 channels to the model's 2 (supported: 1 <- gray/RGB/RGBA, 3 <- "
          "gray/RGB/RGBA)");
    CHECK(error_of([&] { convert_channels(g, 4); }).find("1 channels to the model's 4") != std::string::npos);
    CHECK_THROWS_AS(image_to_tensor(rgb, 5, Preprocess{}), Error);
}

TEST_CASE("image: PIL bilinear resize by hand") {
    // Upscaling 2 -> 4: plain linear interpolation at centers 0.25, 0.75, 1.25, 1.75 (edges clamp).
    Image row = make_image(2, 1, 1);
    row.pixels = {0, 200};
    CHECK(resize_bilinear(row, 4, 1).pixels == std::vector<uint8_t>{0, 50, 150, 200});
    // Downscaling 4 -> 2: the triangle widens to support 2 (antialiasing). Output 0 at center 1 sees
    // inputs 0, 1, 2 with weights .75, .75, .25: (0 * .75 + 100 * .75 + 200 * .25) / 1.75 = 71.4 -> 71;
    // output 1 at center 3 sees inputs 1, 2, 3 with .25, .75, .75: (25 + 150 + 75) / 1.75 = 142.9 -> 143.
    Image row4 = make_image(4, 1, 1);
    row4.pixels = {0, 100, 200, 100};
    CHECK(resize_bilinear(row4, 2, 1).pixels == std::vector<uint8_t>{71, 143});
    // The same along y (the vertical pass).
    Image col4 = make_image(1, 4, 1);
    col4.pixels = {0, 100, 200, 100};
    CHECK(resize_bilinear(col4, 1, 2).pixels == std::vector<uint8_t>{71, 143});
    // A constant image stays constant at any size.
    Image flat = make_image(37, 23, 3, 123);
    Image r = resize_bilinear(flat, 11, 50);
    CHECK(r.width == 11);
    CHECK(r.height == 50);
    for (uint8_t v : r.pixels) CHECK(v == 123);
}

TEST_CASE("image: torchvision Resize(256) + CenterCrop(224) geometry") {
    CHECK(resized_size(300, 200, 256) == std::pair<int, int>{384, 256});
    CHECK(resized_size(200, 300, 256) == std::pair<int, int>{256, 384});
    CHECK(resized_size(500, 375, 256) == std::pair<int, int>{341, 256});  // int(256 * 500 / 375) = int(341.33)
    CHECK(center_crop_offsets(384, 256, 224) == std::pair<int, int>{80, 16});
    // Python's round() is half-to-even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2.
    CHECK(center_crop_offsets(225, 227, 224) == std::pair<int, int>{0, 2});
    CHECK(center_crop_offsets(229, 224, 224) == std::pair<int, int>{2, 0});
    CHECK(error_of([] { center_crop_offsets(100, 300, 224); }).find("larger than the image (100x300)") !=
          std::string::npos);

    // A 300 x 200 image whose red channel encodes x (x * 255 / 299 rounded) and green encodes y.
    Image img = make_image(300, 200, 3);
    for (int y = 0; y < 200; ++y)
        for (int x = 0; x < 300; ++x) {
            uint8_t* p = &img.pixels[(size_t(y) * 300 + size_t(x)) * 3];
            p[0] = uint8_t(std::lround(x * 255.0 / 299.0));
            p[1] = uint8_t(std::lround(y * 255.0 / 199.0));
            p[2] = 40;
        }
    Preprocess pre;
    Tensor t = image_to_tensor(img, 3, pre);
    REQUIRE(t.shape() == Shape{3, 224, 224});
    // Undo the normalization and compare with the geometry: output (i, j) of the crop is resized pixel
    // (80 + j, 16 + i), whose center maps back to x = (80 + j + 0.5) * 300 / 384 - 0.5 in the input.
    Image back = tensor_to_image(t, pre);
    for (int i : {0, 50, 111, 223})
        for (int j : {0, 70, 112, 223}) {
            const double sx = (80 + j + 0.5) * 300.0 / 384.0 - 0.5, sy = (16 + i + 0.5) * 200.0 / 256.0 - 0.5;
            const uint8_t* p = &back.pixels[(size_t(i) * 224 + size_t(j)) * 3];
            CHECK(std::abs(p[0] - sx * 255.0 / 299.0) <= 1.5);
            CHECK(std::abs(p[1] - sy * 255.0 / 199.0) <= 1.5);
            CHECK(int(p[2]) == 40);
        }

    // resize = 0 and crop = 0 keep the size; disabled preprocessing keeps it too.
    Preprocess none = pre;
    none.resize = 0;
    none.crop = 0;
    CHECK(image_to_tensor(img, 3, none).shape() == Shape{3, 200, 300});
    Preprocess crop_only = none;
    crop_only.crop = 100;
    CHECK(image_to_tensor(img, 3, crop_only).shape() == Shape{3, 100, 100});
    Preprocess off;
    off.enabled = false;
    Tensor raw = image_to_tensor(img, 3, off);
    CHECK(raw.shape() == Shape{3, 200, 300});
    CHECK(raw[2 * 200 * 300] == doctest::Approx(40.0 / 255.0));
}

TEST_CASE("image: normalization numbers by hand") {
    Image img = make_image(2, 1, 3);
    img.pixels = {128, 0, 255, 64, 32, 16};
    Preprocess p;
    p.resize = 0;
    p.crop = 0;
    Tensor t = image_to_tensor(img, 3, p);
    REQUIRE(t.shape() == Shape{3, 1, 2});
    // [c][x]: (v / 255 - mean[c]) / std[c]
    CHECK(t[0] == doctest::Approx((128 / 255.0 - 0.485) / 0.229).epsilon(1e-6));  // 0.07406
    CHECK(t[1] == doctest::Approx((64 / 255.0 - 0.485) / 0.229).epsilon(1e-6));
    CHECK(t[2] == doctest::Approx((0 - 0.456) / 0.224).epsilon(1e-6));  // -2.0357
    CHECK(t[3] == doctest::Approx((32 / 255.0 - 0.456) / 0.224).epsilon(1e-6));
    CHECK(t[4] == doctest::Approx((1.0 - 0.406) / 0.225).epsilon(1e-6));  // 2.64
    CHECK(t[5] == doctest::Approx((16 / 255.0 - 0.406) / 0.225).epsilon(1e-6));
    // Round trip back to 8 bits.
    CHECK(tensor_to_image(t, p).pixels == img.pixels);
    CHECK(tensor_to_image(t.reshaped({1, 3, 1, 2}), p).pixels == img.pixels);

    // One mean/std for every channel (MNIST style) and a gray model.
    Preprocess m;
    m.resize = 0;
    m.crop = 0;
    m.mean = {0.1307f};
    m.std = {0.3081f};
    Tensor g = image_to_tensor(img, 1, m);  // luminance of (128, 0, 255) = 67
    CHECK(g[0] == doctest::Approx((67 / 255.0 - 0.1307) / 0.3081).epsilon(1e-6));

    Preprocess bad = p;
    bad.mean = {0.5f, 0.5f};
    CHECK(error_of([&] { image_to_tensor(img, 3, bad); }).find("mean has 2 values") != std::string::npos);
    bad = p;
    bad.std = {0.0f};
    CHECK_THROWS_AS(image_to_tensor(img, 3, bad), Error);
    CHECK(error_of([&] { tensor_to_image(Tensor({2, 1, 1}), p); }).find("C = 1 or 3") != std::string::npos);
}

TEST_CASE("image: input bounds for ImageNet mean/std") {
    Preprocess p;
    const auto lo = input_bounds_low(p, 3), hi = input_bounds_high(p, 3);
    REQUIRE(lo.size() == 3);
    REQUIRE(hi.size() == 3);
    CHECK(lo[0] == doctest::Approx(-0.485 / 0.229).epsilon(1e-6));  // -2.1179
    CHECK(lo[1] == doctest::Approx(-0.456 / 0.224).epsilon(1e-6));  // -2.0357
    CHECK(lo[2] == doctest::Approx(-0.406 / 0.225).epsilon(1e-6));  // -1.8044
    CHECK(hi[0] == doctest::Approx((1 - 0.485) / 0.229).epsilon(1e-6));  // 2.2489
    CHECK(hi[1] == doctest::Approx((1 - 0.456) / 0.224).epsilon(1e-6));  // 2.4286
    CHECK(hi[2] == doctest::Approx((1 - 0.406) / 0.225).epsilon(1e-6));  // 2.64
    Preprocess off;
    off.enabled = false;
    CHECK(input_bounds_low(off, 1) == std::vector<float>{0.0f});
    CHECK(input_bounds_high(off, 1)[0] == doctest::Approx(1.0));
    CHECK_THROWS_AS(input_bounds_low(p, 2), Error);
}
