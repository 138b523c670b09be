// Every input the fuzzers ever crashed on (tests/fuzz/regressions/<target>/), replayed through the same
// entry points the fuzz targets call: each must import/parse or throw relprop::Error, never crash.
// Each fixed bug also has its specific message checked below.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "relprop/error.hpp"
#include "tests/fixtures.h"
#include "tests/fuzz/entry_points.h"
#include "tests/onnx_edit.h"

using namespace relprop;
namespace fs = std::filesystem;

namespace {

const fs::path kRegressions = fs::path(RELPROP_FIXTURES_DIR) / ".." / "fuzz" / "regressions";

std::vector<fs::path> regression_files(const std::string& target) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(kRegressions / target))
        if (e.is_regular_file() && e.path().filename() != "README.md") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

// Runs the entry on the file; returns the relprop::Error message, "" on success. Any other exception
// fails the test (a crash ends it, which fails it too).
std::string replay(void (*entry)(const uint8_t*, size_t), const fs::path& file) {
    const std::string bytes = test::read_file(file.string());
    try {
        entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

void replay_all(const std::string& target, void (*entry)(const uint8_t*, size_t)) {
    for (const fs::path& f : regression_files(target)) {
        INFO(target << " regression " << f.filename().string());
        CHECK_NOTHROW(replay(entry, f));
    }
}

}  // namespace

TEST_CASE("fuzz regressions: ONNX importer") { replay_all("onnx", fuzz::onnx_entry); }
TEST_CASE("fuzz regressions: .npy reader") { replay_all("npy", fuzz::npy_entry); }
TEST_CASE("fuzz regressions: image decoder") { replay_all("image", fuzz::image_entry); }

// The bugs behind the files, one by one, with the message each input gets now.
TEST_CASE("fuzz regressions: what each image finding is refused with") {
    const auto message = [](const std::string& name) {
        return replay(fuzz::image_entry, kRegressions / "image" / name);
    };
    // stb_image 2.27 writes past its 257-entry Huffman tables for a DHT with more than 256 codes
    // (also when the counts run past the segment, or the segment past the end of the file).
    for (const char* name : {"jpeg_dht_too_many_codes.jpg", "jpeg_dht_cut_short.jpg", "jpeg_dht_counts_past_segment.jpg"}) {
        INFO(name);
        const std::string m = message(name);
        CHECK(m.rfind("fuzz.img: not a readable image (corrupt JPEG: a Huffman table (DHT) declares ", 0) == 0);
        CHECK(m.find(" codes, at most 256 are allowed)") != std::string::npos);
    }
    // stb decodes a scan with a Huffman table no DHT defined (uninitialized memory; its assert()
    // aborted the process depending on what the heap held).
    CHECK(message("jpeg_scan_undefined_huffman_table.jpg") ==
          "fuzz.img: not a readable image (corrupt JPEG: a scan uses Huffman table AC 0, which no DHT segment defines)");
    // relprop's own size check multiplied two 32-bit PNG header sizes in int64 (signed overflow).
    CHECK(message("png_header_size_overflow.png") == "fuzz.img: image is 2881452103x3824764699 pixels, more than the "
                                                     "4194304 allowed");
    // A 7 x 131081 BMP resized to a shorter side of 256 would be 1.2 gigapixels (it hung the fuzzer at 32).
    const Image tall = decode_image(test::read_file((kRegressions / "image" / "bmp_tall_resize_timeout.bmp").string()), "tall.bmp");
    CHECK(tall.width == 7);
    CHECK(tall.height == 131081);
    CHECK_THROWS_WITH_AS(resized_size(tall.width, tall.height, 256),
                         "resizing 7x131081 to shorter side 256 gives 1227217664 pixels, more than the 67108864 allowed",
                         Error);
    // stb grew its IDAT buffer to a chunk's declared length before reading it: 2 GiB for an 83-byte file
    // (libFuzzer's out-of-memory finding in CI; a length near 2^32 could also wrap stb's doubling).
    CHECK(message("png_idat_length_past_file_oom.png") ==
          "fuzz.img: not a readable image (corrupt or cut short PNG: chunk 'IDAT' at byte 49 declares 2147483632 bytes of data, only "
          "26 follow)");
    // stb's memcpy(NULL, ..., 0) for an empty IDAT chunk: undefined behaviour without harm; the image
    // decodes or is refused like any other.
    const std::string empty_idat = message("png_empty_idat_memcpy_null.png");
    CHECK((empty_idat.empty() || empty_idat.rfind("fuzz.img: ", 0) == 0));
}

TEST_CASE("fuzz regressions: what each ONNX finding is refused with") {
    // Constant folding of Reshape multiplied the target's sizes without an overflow check (signed
    // overflow); a 0 past the input's rank threw std::out_of_range instead of relprop::Error.
    CHECK(replay(fuzz::onnx_entry, kRegressions / "onnx" / "reshape_constant_size_overflow.onnx") ==
          "ONNX buffer: node '/net/net.0/Reshape' (Reshape): Reshape: cannot reshape [8] to [144115188075855871, 244]");
    // auto_pad SAME_* read the input's H and W with .at(): a 3-D input threw std::out_of_range.
    CHECK(replay(fuzz::onnx_entry, kRegressions / "onnx" / "conv_same_pad_rank3_input.onnx") ==
          "ONNX buffer: node 'conv_0' (Conv): auto_pad SAME_UPPER needs a 4-D input [N, C, H, W], got [1, 3, 10]");
    // ... and divided by the stride before anything checked it (found next to the previous one, by
    // reading: stride 0 was an integer division by zero).
    CHECK(replay(fuzz::onnx_entry, kRegressions / "onnx" / "conv_same_pad_stride0.onnx") ==
          "ONNX buffer: node 'conv_0' (Conv): kernel 3, stride 0 and dilation 1 must all be >= 1");
    // Constant folding of a Concat without inputs read parts.at(0): std::out_of_range.
    CHECK(replay(fuzz::onnx_entry, kRegressions / "onnx" / "concat_constant_no_inputs.onnx") ==
          "ONNX buffer: node 'concat_1' (Concat): Concat has no inputs");
    // Integers from constant inputs are not bounded like attributes (±2^31): pads near 2^62 overflowed
    // H + begin + end (fuzz-onnx in CI); found next to it by reading: Split summed its sizes unchecked,
    // and a Slice step near 2^63 overflowed the count and the strides.
    CHECK(replay(fuzz::onnx_entry, kRegressions / "onnx" / "pad_constant_pads_overflow.onnx") ==
          "ONNX buffer: node 'pad_0' (Pad): Pad: pad 4611686018427387904 is larger than 2147483648");
    CHECK(replay(fuzz::onnx_entry, kRegressions / "onnx" / "split_constant_sizes_overflow.onnx") ==
          "ONNX buffer: node 'split_0' (Split): Split: the sizes sum to more than the axis size 4");
    // A step past the end of the axis takes its first element, as onnxruntime does: the model runs.
    CHECK(replay(fuzz::onnx_entry, kRegressions / "onnx" / "slice_constant_step_overflow.onnx") == "");
}
